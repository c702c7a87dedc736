"""The chronology's date filters: GOV.UK day, month and year boxes like every other form, errors beside the boxes
with what was typed kept, the downloads filtered the same way, and the ISO `from`/`to` of earlier links still read."""

from __future__ import annotations

import csv
import html
import io
import re
from typing import Any

import pypdf
import pytest
from starlette.testclient import TestClient

from tests.conftest import PASSWORD
from tests.helpers import bearer, sign_in
from tests.web.test_notes_api import NOTE

MARCH = "?from_day=10&from_month=3&from_year=2026&to_day=31&to_month=3&to_year=2026"


@pytest.fixture
def chronology(client: TestClient, net: dict[str, Any]) -> str:
    for body, day in (("EARLY March", "2026-03-01"), ("MIDDLE March", "2026-03-15"), ("LATE April", "2026-04-10")):
        posted = client.post(
            f"/api/v1/networks/{net['id']}/notes",
            json=NOTE | {"body": body, "observed_on": day},
            headers=bearer(net["t"]["teacher"]),
        )
        assert posted.status_code == 201, posted.text
    assert sign_in(client, "nurse@health.example.org", PASSWORD).status_code == 303
    return f"/networks/{net['id']}/chronology"


def _shown(page: str) -> set[str]:
    return {body for body in ("EARLY March", "MIDDLE March", "LATE April") if body in page}


def _box(page: str, name: str) -> str | None:
    """The value a date box shows."""
    tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', page)
    assert tag, f"no {name} box"
    value = re.search(r'value="([^"]*)"', tag.group(0))
    return html.unescape(value.group(1)) or None if value else None


def _download(client: TestClient, page: str, kind: str) -> bytes:
    link = re.search(rf'href="([^"]*chronology\.{kind}[^"]*)"', page)
    assert link, f"no {kind} link"
    response = client.get(html.unescape(link.group(1)))
    assert response.status_code == 200
    return response.content


def _csv_bodies(content: bytes) -> set[str]:
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    return {row["Note"] for row in rows}


def test_the_chronology_filters_by_day_month_and_year(client: TestClient, chronology: str) -> None:
    empty = client.get(chronology).text
    for name in ("from_day", "from_month", "from_year", "to_day", "to_month", "to_year"):
        assert _box(empty, name) is None
    assert 'name="from"' not in empty and "2024-03-27" not in empty

    page = client.get(chronology + MARCH)
    assert page.status_code == 200
    assert _shown(page.text) == {"MIDDLE March"}
    assert "1 note matching the filters" in page.text
    assert [_box(page.text, f"from_{p}") for p in ("day", "month", "year")] == ["10", "3", "2026"]
    assert [_box(page.text, f"to_{p}") for p in ("day", "month", "year")] == ["31", "3", "2026"]

    assert _csv_bodies(_download(client, page.text, "csv")) == {"MIDDLE March"}
    pdf = pypdf.PdfReader(io.BytesIO(_download(client, page.text, "pdf")))
    text = " ".join(" ".join(p.extract_text().split()) for p in pdf.pages)
    assert "Observed from 10 March 2026 to 31 March 2026" in text and "EARLY March" not in text

    only_from = client.get(f"{chronology}?from_day=10&from_month=3&from_year=2026&to_day=&to_month=&to_year=")
    assert only_from.status_code == 200 and _shown(only_from.text) == {"MIDDLE March", "LATE April"}


@pytest.mark.parametrize(
    ("query", "field", "message", "kept"),
    [
        ("from_day=31&from_month=2&from_year=2026", "from", "Observed from must be a real date", ["31", "2", "2026"]),
        ("from_day=3&from_year=2026", "from", "Observed from must include a month", ["3", None, "2026"]),
        ("to_month=4", "to", "Observed to must include a day and year", [None, "4", None]),
        ("to_day=1&to_month=4&to_year=26", "to", "The year in observed to must have 4 numbers", ["1", "4", "26"]),
        ("from_day=x&from_month=3&from_year=2026", "from", "Observed from must be a real date", ["x", "3", "2026"]),
        (
            "from_day=1&from_month=4&from_year=2026&to_day=1&to_month=3&to_year=2026",
            "to",
            "Observed to must be the same as or after observed from",
            ["1", "3", "2026"],
        ),
    ],
)
def test_a_wrong_date_is_named_beside_its_boxes_and_kept(
    client: TestClient, chronology: str, query: str, field: str, message: str, kept: list[str | None]
) -> None:
    page = client.get(f"{chronology}?{query}")
    assert page.status_code == 422
    text = page.text
    assert f'href="#{field}"' in text, "the error summary links to the day box"
    assert f'id="{field}"' in text and f'name="{field}_day"' in text
    said = re.search(rf'<p id="{field}-date-error" class="govuk-error-message">(.*?)</p>', text, re.S)
    assert said, "the message is in the boxes' own fieldset"
    assert " ".join(re.sub(r"<[^>]+>", " ", html.unescape(said.group(1))).split()) == f"Error: {message}"
    assert f'aria-describedby="{field}-date-hint {field}-date-error"' in text
    assert [_box(text, f"{field}_{p}") for p in ("day", "month", "year")] == kept
    assert _shown(text) == set() and "chronology.csv" not in text


def test_links_with_iso_dates_keep_working(client: TestClient, chronology: str) -> None:
    page = client.get(f"{chronology}?from=2026-03-10&to=2026-03-31")
    assert page.status_code == 200
    assert _shown(page.text) == {"MIDDLE March"}
    assert [_box(page.text, f"from_{p}") for p in ("day", "month", "year")] == ["10", "3", "2026"], "shown as boxes"
    assert 'chronology.csv?from=2026-03-10&amp;to=2026-03-31"' in page.text
    assert _csv_bodies(_download(client, page.text, "csv")) == {"MIDDLE March"}

    wrong = client.get(f"{chronology}?from=2026-02-30")
    assert wrong.status_code == 422 and "Observed from must be a real date" in wrong.text
    assert 'href="#from"' in wrong.text
