"""The PDF chronology read back as text: its heading (whose, who exported it and when, the filters), page numbers,
each note's level and family voice named as such."""

from __future__ import annotations

import io
import re
from typing import Any

import pypdf
from starlette.testclient import TestClient

from patchwork.clock import uk_time, utcnow
from tests.conftest import PASSWORD
from tests.helpers import bearer, sign_in
from tests.web.test_family import join
from tests.web.test_notes_api import NOTE


def _pdf_text(content: bytes) -> list[str]:
    reader = pypdf.PdfReader(io.BytesIO(content))
    return [" ".join(page.extract_text().split()) for page in reader.pages]


def _post(client: TestClient, net: dict[str, Any], who: str, **fields: Any) -> None:
    posted = client.post(f"/api/v1/networks/{net['id']}/notes", json=NOTE | fields, headers=bearer(net["t"][who]))
    assert posted.status_code == 201, posted.text


def _download(client: TestClient, net: dict[str, Any], query: str = "") -> tuple[list[str], list[str]]:
    """The PDF's pages as text, and the export times it may say (the minute before and after the download)."""
    before = uk_time(utcnow())
    response = client.get(f"/networks/{net['id']}/chronology.pdf{query}")
    after = uk_time(utcnow())
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    return _pdf_text(response.content), [before, after]


def test_the_pdf_says_whose_it_is_who_exported_it_and_numbers_its_pages(
    client: TestClient, net: dict[str, Any]
) -> None:
    long_body = "Seen at the gate again, waiting for a lift that did not come. " * 12
    for day in range(1, 25):
        _post(
            client,
            net,
            "teacher",
            body=f"Day {day}. {long_body}",
            level="observation",
            observed_on=f"2026-03-{day:02d}",
        )
    _post(
        client, net, "teacher", body="Bruise on the arm", level="concern", category="injury", observed_on="2026-04-02"
    )
    _post(
        client,
        net,
        "officer",
        body="Called to the house",
        level="urgent",
        category="home_environment",
        observed_on="2026-04-03",
        referral_route_acknowledged=True,
    )
    parent = join(client, net)
    voice = client.post(
        f"/api/v1/networks/{net['id']}/notes", json={"body": "We are moving in May"}, headers=bearer(parent["token"])
    )
    assert voice.status_code == 201, voice.text

    assert sign_in(client, "nurse@health.example.org", PASSWORD).status_code == 303
    pages, times = _download(client, net)
    first, text = pages[0], " ".join(pages)
    assert first.startswith("Chronology for Maya Thompson")
    assert any(f"Exported by Helen Morgan, Northgate Health at {at}." in first for at in times), first
    assert "(UK time)" in first or "(UTC)" in first
    assert "Filters: None: every note the exporter may see." in first
    assert "27 notes, by date observed" in first
    assert len(pages) >= 2, "24 long notes do not fit on one page"
    for number, page in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in page, page[-200:]
        assert "Chronology for Maya Thompson · Confidential" in page
    assert "1 March 2026 · Observation · Hunger and nutrition" in text
    assert "2 April 2026 · Concern · Injury" in text
    assert "3 April 2026 · Urgent · Home environment" in text
    assert re.search(r"\d+ \w+ 2026 · Family voice Sarah Thompson \(family\)", text), text[-400:]
    assert "observation · Other" not in text and "· Other" not in text


def test_the_pdf_names_the_filters_it_was_made_with(client: TestClient, net: dict[str, Any]) -> None:
    _post(
        client, net, "teacher", body="Bruise on the arm", level="concern", category="injury", observed_on="2026-04-02"
    )
    _post(client, net, "teacher", body="Hungry again", level="observation", observed_on="2026-04-03")
    school = net["members"]["Tom Fletcher"]["organisation"]["id"]
    assert sign_in(client, "nurse@health.example.org", PASSWORD).status_code == 303
    query = f"?level=concern&level=urgent&category=injury&organisation={school}&from=2026-04-01&to=2026-04-30"
    pages, _ = _download(client, net, query)
    [page] = pages
    assert (
        "Filters: What it is about: Injury. Level: Concern, Urgent. Organisation of the author: Oakfield Primary. "
        "Observed from 1 April 2026 to 30 April 2026."
    ) in page
    assert "1 note, by date observed" in page and "Bruise on the arm" in page and "Hungry again" not in page
    assert "Page 1 of 1" in page

    only_from, _ = _download(client, net, "?from=2026-04-03")
    assert "Filters: Observed on or after 3 April 2026." in only_from[0] and "Bruise on the arm" not in only_from[0]
