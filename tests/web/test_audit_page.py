"""The system admin's audit page: events in words, filtered by a person and a network found by name, paged both
ways without missing or repeating an event, and closed to everyone else."""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlmodel import col, func, select
from starlette.testclient import TestClient

from patchwork.models import AccountKind
from patchwork.models.audit import AuditEvent
from tests.conftest import PASSWORD, World
from tests.helpers import bearer, page_token, sign_in
from tests.web.test_family import FAMILY_PASSWORD, OTHER_CHILD, PARENT, join
from tests.web.test_networks import START
from tests.web.test_notes_api import NOTE

ADMIN = "root@example.org"
EVENT = re.compile(r'<tr class="govuk-table__row" id="event-(\d+)">')
OLDER = re.compile(r'href="([^"]+)" rel="next"')
NEWER = re.compile(r'href="([^"]+)" rel="prev"')


@pytest.fixture
def admin(client: TestClient, world: World, net: dict[str, Any]) -> TestClient:
    world.account(ADMIN, kind=AccountKind.admin, name="Root Admin")
    assert sign_in(client, ADMIN, PASSWORD).status_code == 303
    return client


def _seqs(page: str) -> list[int]:
    return [int(seq) for seq in EVENT.findall(page)]


def _rows(page: str) -> list[str]:
    """Each event's row, as text."""
    return [html.unescape(row) for row in page.split('<tr class="govuk-table__row" id="event-')[1:]]


def _what(row: str) -> str:
    return row.split('pw-audit__what">', 1)[1].split("<", 1)[0].strip()


def _link(pattern: re.Pattern[str], page: str) -> str | None:
    found = pattern.search(page)
    return html.unescape(found.group(1)) if found else None


def _reads(world: World) -> int:
    with world.db.transaction() as session:
        return int(session.exec(select(func.count()).where(col(AuditEvent.action) == "audit.read")).one())


def _filter(client: TestClient, **fields: str):  # type: ignore[no-untyped-def]
    token = page_token(client, "/admin/merge")  # any page: not the trail, whose every reading is recorded
    return client.post("/admin/audit", data={"csrf_token": token, **fields}, follow_redirects=False)


def test_events_read_in_words_with_names_and_never_a_note_body(
    admin: TestClient, world: World, net: dict[str, Any]
) -> None:
    t = net["t"]
    posted = admin.post(
        f"/api/v1/networks/{net['id']}/notes", json=NOTE | {"audience": {"kind": "lead"}}, headers=bearer(t["teacher"])
    )
    assert posted.status_code == 201, posted.text
    assert admin.get(f"/api/v1/networks/{net['id']}/access-log", headers=bearer(t["nurse"])).status_code == 200
    reads = _reads(world)

    page = admin.get("/admin/audit")

    assert page.status_code == 200
    text = html.unescape(page.text)
    for words in (
        "Started a network",
        "Registered an involvement",
        "Appointed a lead professional",
        "Posted a note",
        "Read the access log",
    ):
        assert words in text, words
    for code in ("network.created", "involvement.added", "lead.appointed", "note.created", "access_log.read"):
        assert code not in text, f"the raw action {code} is shown"
    assert '{"' not in text.split('id="audit-events"', 1)[1], "details are shown as JSON"
    note_row = next(row for row in _rows(page.text) if "Posted a note" in row)
    assert "Tom Fletcher, Oakfield Primary" in note_row
    assert "Who can see it:</dt> <dd>Lead professionals only" in note_row and "Level:</dt> <dd>Concern" in note_row
    lead_row = next(row for row in _rows(page.text) if "Appointed a lead professional" in row)
    assert "New lead:</dt> <dd>Helen Morgan" in lead_row, "the appointed lead's id is shown as their name"
    assert NOTE["body"] not in text
    assert _reads(world) == reads + 1, "reading the page is recorded in the trail"


def test_an_earlier_reading_reads_in_words_with_its_filters(
    admin: TestClient, world: World, net: dict[str, Any]
) -> None:
    teacher = net["members"]["Tom Fletcher"]["user_id"]
    admin.get(f"/admin/audit?actor={teacher}")
    page = admin.get("/admin/audit")
    row = next(row for row in _rows(page.text) if "Read the audit trail" in row)
    assert "Root Admin" in row and "Filters: who:</dt> <dd>Tom Fletcher" in row
    assert teacher not in row.split("Details", 1)[-1].split("<dl", 1)[-1], "the person filtered by is named, not an id"


def test_filter_by_person_and_network_chosen_by_name(admin: TestClient, world: World, net: dict[str, Any]) -> None:
    t = net["t"]
    teacher = net["members"]["Tom Fletcher"]["user_id"]
    other = admin.post("/api/v1/networks", json=START | {"child": OTHER_CHILD}, headers=bearer(t["teacher"])).json()
    admin.get(f"/api/v1/networks/{net['id']}", headers=bearer(t["teacher"]))

    by_name = _filter(admin, who="tom  fletcher")
    assert by_name.status_code == 303
    assert parse_qs(urlsplit(by_name.headers["location"]).query) == {"actor": [teacher]}
    page = admin.get(by_name.headers["location"])
    rows = _rows(page.text)
    assert rows and all("Tom Fletcher" in row.split("</td>", 2)[1] for row in rows), "only Tom's events"
    assert any(other["id"][:8] in row for row in rows) and any(net["id"][:8] in row for row in rows)

    both = _filter(
        admin,
        who="teacher@school.example.org",
        network_family_name="thompson",
        network_given_name="MAYA",
        network_dob_day="27",
        network_dob_month="3",
        network_dob_year="2017",
    )
    assert both.status_code == 303
    location = both.headers["location"]
    assert "Maya" not in location and "2017" not in location, "the child's details never go in the address"
    assert parse_qs(urlsplit(location).query) == {"network": [net["id"]], "actor": [teacher]}
    page = admin.get(location)
    rows = _rows(page.text)
    assert {"Registered an involvement", "Viewed who is involved"} <= {_what(row) for row in rows}
    assert all(net["id"][:8] in row and "Tom Fletcher" in row for row in rows)
    assert not any(other["id"][:8] in row for row in rows)
    assert f'value="{net["id"][:8]}"' in page.text and 'value="teacher@school.example.org"' in page.text

    # The network in force is kept when only the person changes; clearing the person keeps the network.
    kept = _filter(admin, who="", network=net["id"], network_reference=net["id"][:8])
    assert parse_qs(urlsplit(kept.headers["location"]).query) == {"network": [net["id"]]}
    by_reference = _filter(admin, network_reference=other["id"][:8].upper())
    assert parse_qs(urlsplit(by_reference.headers["location"]).query) == {"network": [other["id"]]}


def test_a_filter_that_finds_nobody_or_no_network_says_so_next_to_the_field(
    admin: TestClient, world: World, net: dict[str, Any]
) -> None:
    world.account("another@school.example.org", name="Tom Fletcher")
    twice = _filter(admin, who="Tom Fletcher")
    assert twice.status_code == 422
    assert 'id="who-error"' in twice.text and "More than one person is called Tom Fletcher" in twice.text
    assert 'value="Tom Fletcher"' in twice.text

    nothing = _filter(
        admin,
        who="nobody@example.org",
        network_family_name="Thompsen",
        network_given_name="Maya",
        network_dob_day="27",
        network_dob_month="3",
        network_dob_year="2017",
    )
    assert nothing.status_code == 422
    assert 'id="who-error"' in nothing.text
    assert (
        'id="network_family_name-error"' in nothing.text and "No network matches these details exactly" in nothing.text
    )
    assert 'value="Thompsen"' in nothing.text and 'value="27"' in nothing.text, "what was typed is kept"

    incomplete = _filter(admin, network_family_name="Thompson")
    assert incomplete.status_code == 422
    assert (
        'href="#network_date_of_birth"' in incomplete.text and "Enter the child&#39;s date of birth" in incomplete.text
    )
    assert 'id="network_given_name-error"' in incomplete.text


def _walk(client: TestClient, start: str, pattern: re.Pattern[str]) -> tuple[list[list[int]], list[str]]:
    pages, links, url = [], [], start
    while url is not None:
        page = client.get(url)
        assert page.status_code == 200
        pages.append(_seqs(page.text))
        url = _link(pattern, page.text)
        if url is not None:
            links.append(url)
    return pages, links


def test_paging_walks_the_whole_trail_both_ways_without_missing_or_repeating(
    admin: TestClient, world: World, net: dict[str, Any]
) -> None:
    for _ in range(130):
        admin.get(f"/api/v1/networks/{net['id']}", headers=bearer(net["t"]["officer"]))
    with world.db.transaction() as session:
        newest = int(session.exec(select(func.max(AuditEvent.seq))).one())
    assert newest > 120

    older, _ = _walk(admin, "/admin/audit", OLDER)
    assert [len(page) for page in older[:-1]] == [50] * (len(older) - 1) and 0 < len(older[-1]) <= 50
    seen = [seq for page in older for seq in page]
    assert seen == list(range(newest, 0, -1)), "walking older: every event once, newest first"

    oldest_page = f"/admin/audit?before={older[-1][0] + 1}"
    newer, _ = _walk(admin, oldest_page, NEWER)
    back = [seq for page in newer for seq in reversed(page)]
    assert back[:newest] == list(range(1, newest + 1)), "walking newer: every event once, oldest first"
    assert back == sorted(set(back)), "no event repeated"
    assert _link(NEWER, admin.get("/admin/audit").text) is None, "the newest page has no newer page"


def test_filters_are_kept_in_the_paging_links(admin: TestClient, world: World, net: dict[str, Any]) -> None:
    officer = net["members"]["Joe Bennett"]["user_id"]
    for _ in range(60):
        admin.get(f"/api/v1/networks/{net['id']}", headers=bearer(net["t"]["officer"]))
    admin.get(f"/api/v1/networks/{net['id']}", headers=bearer(net["t"]["teacher"]))
    first = f"/admin/audit?network={net['id']}&actor={officer}"

    older, links = _walk(admin, first, OLDER)
    assert links and all(
        parse_qs(urlsplit(link).query).keys() == {"network", "actor", "before"}
        and parse_qs(urlsplit(link).query)["network"] == [net["id"]]
        and parse_qs(urlsplit(link).query)["actor"] == [officer]
        for link in links
    )
    assert sum(len(page) for page in older) == 61, "the officer's 60 views and their registration"
    last = admin.get(links[-1])
    newer = _link(NEWER, last.text)
    assert newer is not None and parse_qs(urlsplit(newer).query).keys() == {"network", "actor", "after"}
    assert parse_qs(urlsplit(newer).query)["actor"] == [officer]


@pytest.mark.parametrize("who", ["practitioner", "org_admin", "family"])
def test_nobody_but_a_system_admin_sees_or_filters_the_trail(
    client: TestClient, world: World, net: dict[str, Any], who: str
) -> None:
    if who == "family":
        join(client, net)
        assert sign_in(client, PARENT["email"], FAMILY_PASSWORD).status_code == 303
    elif who == "org_admin":
        world.account("head@school.example.org", org_admin=True, name="Head Teacher")
        assert sign_in(client, "head@school.example.org", PASSWORD).status_code == 303
    else:
        assert sign_in(client, "nurse@health.example.org", PASSWORD).status_code == 303
    reads = _reads(world)
    assert client.get("/admin/audit", follow_redirects=False).status_code == 404
    token = page_token(client, "/")
    refused = client.post("/admin/audit", data={"csrf_token": token, "who": "Tom Fletcher"}, follow_redirects=False)
    assert refused.status_code == 404 and "Tom Fletcher" not in refused.text
    assert _reads(world) == reads
