"""Notifications: each person hears of exactly what they may see and what concerns them, worded for them; marking read;
the page updating live over /live; a member removed hears nothing more; the e-mail choice on the account page."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from patchwork.models.audit import AuditEvent
from patchwork.models.notifications import NotificationPreference
from tests.conftest import PASSWORD, World
from tests.helpers import api_token, bearer, csrf_from, post_form, sign_in
from tests.web import test_live_pages, test_note_pages
from tests.web.test_family import PARENT, join
from tests.web.test_live_pages import ORIGIN, Browser, Page, Town, post
from tests.web.test_notes_api import NOTE

site = test_note_pages.site  # fixtures: a network with Helen (lead), Tom, Joe, an outsider and a mother
town = test_live_pages.town
CURSOR_INPUT = re.compile(r'name="cursor:([0-9a-f-]{36})" value="([^"]+)"')
CONNECT = re.compile(r'ws-connect="([^"]+)"')
EMAILS = {"nurse": "nurse@health.example.org", "teacher": "teacher@school.example.org"}


def listing(client: TestClient, token: str) -> dict[str, Any]:
    response = client.get("/api/v1/notifications", headers=bearer(token))
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def summary(found: dict[str, Any]) -> list[tuple[str, str | None, str]]:
    return [(n["type"], n["note_id"], n["text"]) for n in found["notifications"]]


def note(client: TestClient, net: dict[str, Any], who: str, body: str, **more: Any) -> str:
    created = client.post(
        f"/api/v1/networks/{net['id']}/notes", json=NOTE | {"body": body, **more}, headers=bearer(net["t"][who])
    )
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def test_each_person_hears_of_exactly_what_they_may_see_and_what_concerns_them(
    client: TestClient, world: World, net: dict[str, Any]
) -> None:
    t = net["t"]
    police = net["members"]["Joe Bennett"]["organisation"]["id"]
    everyone = note(client, net, "nurse", "NOTE-ALL Hungry again")
    for_lead = note(client, net, "teacher", "NOTE-LEAD Bruise on arm", audience={"kind": "lead"})
    for_police = note(
        client,
        net,
        "nurse",
        "NOTE-POLICE Adult at the gate",
        audience={"kind": "organisations", "organisation_ids": [police]},
    )
    replies = f"/api/v1/notes/{everyone}/replies"
    assert client.post(replies, json={"body": "REPLY-ONE seen too"}, headers=bearer(t["teacher"])).status_code == 201
    assert client.post(f"/api/v1/notes/{everyone}/acknowledgements", headers=bearer(t["officer"])).status_code == 201
    assert client.post(replies, json={"body": "REPLY-TWO and us"}, headers=bearer(t["officer"])).status_code == 201

    nurse, teacher, officer = (listing(client, t[who]) for who in ("nurse", "teacher", "officer"))
    assert summary(nurse) == [
        ("note.replied", everyone, "Joe Bennett, Eastshire Police replied to your note"),
        ("note.acknowledged", everyone, "Your note was acknowledged"),
        ("note.replied", everyone, "Tom Fletcher, Oakfield Primary replied to your note"),
        ("note.created", for_lead, "Note from Tom Fletcher, Oakfield Primary"),
        ("involvement.added", None, "Joe Bennett (Police officer, Eastshire Police) joined the network"),
        ("involvement.added", None, "Tom Fletcher (Teacher, Oakfield Primary) joined the network"),
    ], "newest first; nothing of her own doing"
    assert summary(teacher) == [
        ("note.replied", everyone, "Joe Bennett, Eastshire Police replied to a note you replied to"),
        ("note.created", everyone, "Note from Helen Morgan, Northgate Health"),
        ("lead.changed", None, "Helen Morgan is now a lead professional"),
        ("involvement.added", None, "Joe Bennett (Police officer, Eastshire Police) joined the network"),
    ], "not the police's note, nobody else's acknowledgement, not their own lead-only note"
    assert summary(officer) == [
        ("note.created", for_police, "Note from Helen Morgan, Northgate Health"),
        ("note.created", everyone, "Note from Helen Morgan, Northgate Health"),
        ("lead.changed", None, "Helen Morgan is now a lead professional"),
    ], "not the lead-only note; not the reply that came before theirs"
    for found in (nurse, teacher, officer):
        assert "NOTE-" not in str(found) and "REPLY-" not in str(found), "never a note's words"
        assert all(n["unread"] for n in found["notifications"]) and found["unread"] == len(found["notifications"])
        assert {n["where"] for n in found["notifications"]} == {"Maya Thompson"}
        assert set(found["cursors"]) == {net["id"]}


def test_family_members_hear_only_of_what_is_shared_with_them_and_never_a_sensitive_name(
    client: TestClient, world: World, net: dict[str, Any]
) -> None:
    refuge = world.organisation("Safe Harbour Refuge", "voluntary")
    world.account("dana@refuge.example.org", organisation=refuge, name="Dana Quill")
    dana = api_token(client, "dana@refuge.example.org", PASSWORD)
    joined = client.post(
        f"/api/v1/networks/{net['id']}/involvements",
        json={"role_label": "Refuge support worker", "reason": "Supporting mum", "sensitive": True},
        headers=bearer(dana),
    )
    assert joined.status_code == 201, joined.text
    parent = join(client, net)
    net["t"]["dana"], net["t"]["parent"] = dana, parent["token"]
    from_refuge = note(client, net, "dana", "From the refuge", family_user_ids=[parent["id"]])
    note(client, net, "nurse", "Not for the family")
    from_nurse = note(client, net, "nurse", "For mum too", family_user_ids=[parent["id"]])
    voice = client.post(
        f"/api/v1/networks/{net['id']}/notes", json={"body": "We are safe"}, headers=bearer(parent["token"])
    )
    voice_id = voice.json()["id"]
    client.post(f"/api/v1/notes/{voice_id}/replies", json={"body": "Glad"}, headers=bearer(dana))
    client.post(f"/api/v1/notes/{voice_id}/acknowledgements", headers=bearer(dana))

    family = listing(client, parent["token"])
    assert summary(family) == [
        ("note.acknowledged", voice_id, "What you wrote was acknowledged"),
        ("note.replied", voice_id, "A practitioner in the network replied to what you wrote"),
        ("note.created", from_nurse, "Helen Morgan, Northgate Health shared a note with you"),
        ("note.created", from_refuge, "A practitioner in the network shared a note with you"),
    ], "no membership changes, nothing not shared with them"
    for secret in ("Dana", "Quill", "Safe Harbour", "Refuge support", "Not for the family"):
        assert secret not in str(family)

    nurse = summary(listing(client, net["t"]["nurse"]))
    assert ("note.created", voice_id, "Sarah Thompson (family) wrote in their own words") in nurse
    assert ("family.joined", None, "Sarah Thompson (Mother) joined as a family member") in nurse
    assert (
        "involvement.added",
        None,
        "Dana Quill (Refuge support worker, Safe Harbour Refuge) joined the network",
    ) in nurse

    with TestClient(client.app) as browser:
        assert sign_in(browser, PARENT["email"], "kitchen table sunflower radio").status_code == 303
        page = browser.get("/notifications")
    assert page.status_code == 200
    assert "A practitioner in the network shared a note with you" in page.text
    assert f'href="/notes/{from_nurse}"' in page.text and 'href="/notifications"' in page.text
    for secret in ("Dana", "Quill", "Safe Harbour", "Not for the family"):
        assert secret not in page.text


def test_marking_read_keeps_what_arrived_after_the_page_was_shown(
    client: TestClient, world: World, net: dict[str, Any]
) -> None:
    first = note(client, net, "nurse", "Seen on the page")
    with TestClient(client.app) as browser:
        assert sign_in(browser, EMAILS["teacher"], PASSWORD).status_code == 303
        page = browser.get("/notifications")
        assert page.status_code == 200 and f"/notes/{first}" in page.text
        assert page.text.count(">New</strong>") == 3, "a note, a lead appointed, a member joined"
        assert "New note from" not in page.text and '>New</strong> <a class="govuk-link"' in page.text, "new, once"
        cursors = dict(CURSOR_INPUT.findall(page.text))
        assert set(cursors) == {net["id"]}
        later = note(client, net, "nurse", "Posted after the page was shown")

        refused = browser.post("/notifications/read", data={f"cursor:{net['id']}": cursors[net["id"]]})
        assert refused.status_code == 403, "a state change needs the CSRF token"
        assert listing(client, net["t"]["teacher"])["unread"] == 4

        marked = browser.post(
            "/notifications/read",
            data={"csrf_token": csrf_from(page.text), **{f"cursor:{n}": c for n, c in cursors.items()}},
            follow_redirects=False,
        )
        assert marked.status_code == 303 and marked.headers["location"] == "/notifications?notice=read"
        again = browser.get("/notifications?notice=read")
    assert "Everything here is marked as read" in again.text
    assert again.text.count(">New</strong>") == 1 and f"/notes/{later}" in again.text
    found = listing(client, net["t"]["teacher"])
    assert found["unread"] == 1 and [n["note_id"] for n in found["notifications"] if n["unread"]] == [later]

    bad = client.post(
        "/api/v1/notifications/read", json={"cursors": {net["id"]: "not-a-cursor"}}, headers=bearer(net["t"]["teacher"])
    )
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_cursor"
    everything = client.post(
        "/api/v1/notifications/read", json={"cursors": found["cursors"]}, headers=bearer(net["t"]["teacher"])
    )
    assert everything.status_code == 204 and listing(client, net["t"]["teacher"])["unread"] == 0


def test_a_member_removed_hears_nothing_more_and_loses_what_they_had(
    client: TestClient, world: World, net: dict[str, Any]
) -> None:
    note(client, net, "nurse", "Before the officer left")
    assert listing(client, net["t"]["officer"])["notifications"]
    involvement = net["members"]["Joe Bennett"]["id"]
    ended = client.delete(f"/api/v1/networks/{net['id']}/involvements/{involvement}", headers=bearer(net["t"]["nurse"]))
    assert ended.status_code in (200, 204), ended.text
    note(client, net, "nurse", "After the officer left")
    assert listing(client, net["t"]["officer"]) == {"notifications": [], "unread": 0, "cursors": {}}
    nurse = summary(listing(client, net["t"]["nurse"]))
    assert nurse[0] == (
        "involvement.ended",
        None,
        "Joe Bennett (Police officer, Eastshire Police) is no longer involved",
    )


def test_each_person_can_switch_email_off_and_on_without_javascript(
    client: TestClient, world: World, net: dict[str, Any]
) -> None:
    checked = re.compile(r'name="email" type="checkbox" value="on" checked')
    with TestClient(client.app) as browser:
        assert sign_in(browser, EMAILS["teacher"], PASSWORD).status_code == 303
        page = browser.get("/account")
        assert "E-mail notifications" in page.text and checked.search(page.text), "on unless switched off"
        assert "at most once an hour" in page.text
        off = post_form(browser, "/account/notifications", {}, token_from="/account")
        assert off.status_code == 303 and off.headers["location"] == "/account?saved=email#email-notifications"
        page = browser.get("/account?saved=email")
        assert not checked.search(page.text) and "Your e-mail choice has been saved" in page.text
        assert _wants_email(world) is False
        on = post_form(browser, "/account/notifications", {"email": "on"}, token_from="/account")
        assert on.status_code == 303 and checked.search(browser.get("/account").text)
        assert _wants_email(world) is True
    with world.db.transaction() as session:
        actions = [e.action for e in session.exec(select(AuditEvent).order_by(AuditEvent.seq)).all()]
    assert actions[-2:] == ["notifications.email_off", "notifications.email_on"]


def _wants_email(world: World) -> bool:
    with world.db.transaction() as session:
        (preference,) = session.exec(select(NotificationPreference)).all()
        return preference.email


# Live, over the pages' own socket


@contextmanager
def notifications_page(browser: Browser, cursors: dict[str, str] | None = None) -> Iterator[Page]:
    page = browser.get("/notifications")
    assert page.status_code == 200, page.text
    connect = CONNECT.search(page.text)
    assert connect and html.unescape(connect.group(1)) == "/live?view=notifications"
    with browser.websocket_connect("/live?view=notifications", headers=ORIGIN) as socket:
        socket.send_json({"type": "resume", "cursors": cursors or dict(CURSOR_INPUT.findall(page.text))})
        yield Page(socket)


def test_the_page_shows_new_notifications_live_for_its_viewer_only(town: Town) -> None:
    network = town.site.network_id
    with notifications_page(town["teacher"]) as teacher, notifications_page(town["mother"]) as mother:
        post(town, "nurse", body="LIVE-ONE Hungry at breakfast club")
        message = teacher.until("afterbegin:#notifications")
        assert "Note from Helen Morgan, Northgate Health" in message and ">New</strong>" in message
        assert f'id="cursor-{network}"' in message and 'hx-swap-oob="true"' in message, "the page's cursor moves on"
        assert "LIVE-ONE" not in message
        post(town, "nurse", body="LIVE-LEAD for the lead", audience="lead")
        post(town, "teacher", body="LIVE-OWN by the teacher")
        own = teacher.until(f'id="cursor-{network}"')
        assert "afterbegin" not in own, "one's own note moves the cursor and adds nothing"
        assert teacher.nothing_for(0.5), "the lead-only note is not even a cursor"
        shared = post(town, "nurse", body="LIVE-SHARED", family_user_ids=[town.site.ids["mother"]])
        for_mother = mother.until("afterbegin:#notifications")
        assert (
            "Helen Morgan, Northgate Health shared a note with you" in for_mother and f"/notes/{shared}" in for_mother
        )
        queued = str(list(mother.messages.queue))
        assert "Hungry" not in for_mother + queued and "LIVE" not in for_mother + queued


def test_the_page_resumes_from_its_cursors_and_a_removed_member_is_told(town: Town) -> None:
    page = town["officer"].get("/notifications")
    cursors = dict(CURSOR_INPUT.findall(page.text))
    missed = post(town, "nurse", body="While the page was closed")
    with notifications_page(town["officer"], cursors) as officer:
        assert f"/notes/{missed}" in officer.until("afterbegin:#notifications")
        assert officer.nothing_for(0.5), "sent once"
        assert test_live_pages._end_involvement(town, "officer")
        assert 'data-reason="stale"' in officer.until("data-reason")
        post(town, "nurse", body="After the officer left")
        assert officer.nothing_for(1.0)


@pytest.mark.parametrize(("path", "view"), [("/notifications", "notifications"), ("/", "home")])
def test_a_cursor_for_a_network_one_may_not_see_gets_only_the_reload_banner(town: Town, path: str, view: str) -> None:
    cursors = dict(CURSOR_INPUT.findall(town["officer"].get(path).text))
    assert cursors, "the page carries a cursor for each of the officer's networks"
    with town["outsider"].websocket_connect(f"/live?view={view}", headers=ORIGIN) as socket:
        socket.send_json({"type": "resume", "cursors": cursors})
        page = Page(socket)
        assert 'data-reason="stale"' in page.next()
        post(town, "nurse", body="Not for outsiders")
        assert page.nothing_for(1.0)


# The home page's "Your networks", live


MY_NETWORKS = 'id="my-networks-region" hx-swap-oob="true"'


@contextmanager
def home_page(browser: Browser) -> Iterator[Page]:
    page = browser.get("/")
    assert page.status_code == 200, page.text
    connect = CONNECT.search(page.text)
    assert connect and html.unescape(connect.group(1)) == "/live?view=home"
    with browser.websocket_connect("/live?view=home", headers=ORIGIN) as socket:
        socket.send_json({"type": "resume", "cursors": dict(CURSOR_INPUT.findall(page.text))})
        yield Page(socket)


def test_the_home_page_keeps_your_networks_up_to_date(town: Town) -> None:
    network = town.site.network_id
    before = town["teacher"].get("/").text
    people = re.search(r"(\d+) from (\d+) organisations?", before)
    assert people, "the home page lists the network with its people"
    with home_page(town["teacher"]) as teacher:
        post(town, "nurse", body="HOME-LIVE Hungry again")
        table = teacher.until(MY_NETWORKS)
        assert f'id="cursor-{network}"' in table, "the page's cursor moves on"
        assert f"/networks/{network}" in table and "HOME-LIVE" not in table
        assert test_live_pages._end_involvement(town, "officer")
        fewer = teacher.until(MY_NETWORKS)
        assert f"{int(people.group(1)) - 1} from" in fewer, "a member leaving changes the count at once"
