"""Families: invitations and their codes, accepting, the family view, family voice, and everything a family member
may not do. Through the API and the pages, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import hashlib
import html
import logging
import re
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import col, func, select
from starlette.testclient import TestClient

from patchwork.clock import utcnow
from patchwork.db import Database
from patchwork.models import Account, AccountKind, FamilyInvitation, Involvement, Network, NetworkEvent
from patchwork.models.audit import AuditEvent
from patchwork.models.notes import FamilyMembership, Note
from patchwork.runtime import keyring_for, passwords_for
from patchwork.services import demo, family, notes, sealed_facts
from patchwork.services.demo import create_demo
from patchwork.services.notes import SENSITIVE_AUTHOR
from patchwork.settings import Settings
from tests.conftest import PASSWORD, World
from tests.helpers import api_token, bearer, csrf_from, post_form, sign_in
from tests.web.test_networks import START
from tests.web.test_notes_api import NOTE

CODE = re.compile(r"^[2-9A-HJKMNP-TV-Z]{4}(-[2-9A-HJKMNP-TV-Z]{4}){3}$")
SHOWN_CODE = re.compile(r'id="invitation-code">\s*([A-Z0-9-]+)\s*<')
FAMILY_PASSWORD = "kitchen table sunflower radio"
PARENT = {"name": "Sarah Thompson", "relationship": "Mother", "email": "sarah@example.net"}
YOUNG = {"name": "Maya Thompson", "relationship": "Young person", "email": "maya@example.net"}
OTHER_CHILD = {"given_name": "Sam", "family_name": "Jones", "date_of_birth": "2016-05-05"}


def _error(response, status: int, code: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()["error"]
    assert body["code"] == code, body
    return body


def _count(world: World, model: type) -> int:  # type: ignore[type-arg]
    with world.db.transaction() as session:
        return int(session.exec(select(func.count()).select_from(model)).one())


def _counts(world: World) -> dict[str, int]:
    models = (Note, Involvement, Network, FamilyInvitation, FamilyMembership, Account, NetworkEvent, AuditEvent)
    return {model.__name__: _count(world, model) for model in models}


def invite(client: TestClient, net: dict[str, Any], person: dict[str, str] = PARENT, who: str = "nurse"):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/networks/{net['id']}/family-invitations", json=person, headers=bearer(net["t"][who]))


def accept(client: TestClient, code: str, person: dict[str, str] = PARENT, **overrides: str):  # type: ignore[no-untyped-def]
    body = {"code": code, "email": person["email"], "name": person["name"], "password": FAMILY_PASSWORD}
    return client.post("/api/v1/family/accept", json=body | overrides)


def join(client: TestClient, net: dict[str, Any], person: dict[str, str] = PARENT) -> dict[str, str]:
    """Invited by the lead and accepted: the family member's account id and API token."""
    code = invite(client, net, person).json()["code"]
    joined = accept(client, code, person)
    assert joined.status_code == 201, joined.text
    return {"id": joined.json()["id"], "token": api_token(client, person["email"], FAMILY_PASSWORD)}


def _expire(world: World, email: str) -> None:
    cipher = keyring_for(world.settings).cipher
    with world.db.transaction() as session:
        for invitation in session.exec(select(FamilyInvitation)).all():
            if sealed_facts.open_invitation(cipher, invitation).email == email:
                invitation.expires_at = utcnow() - timedelta(minutes=1)
                session.add(invitation)


def _invalid_code(response) -> None:  # type: ignore[no-untyped-def]
    body = _error(response, 422, "invalid")
    assert body["fields"] == {"code": family.INVALID_CODE}


# Inviting and accepting through the API


def test_invite_and_accept(client: TestClient, world: World, net: dict[str, Any]) -> None:
    invited = invite(client, net)
    assert invited.status_code == 201, invited.text
    body = invited.json()
    assert CODE.match(body["code"]), body["code"]
    assert body["network_id"] == net["id"] and body["email"] == "sarah@example.net"
    with world.db.transaction() as session:
        row = session.get(FamilyInvitation, body["id"])
        assert row is not None
        assert row.code_hash == hashlib.sha256(body["code"].replace("-", "").encode()).hexdigest()
        assert body["code"] not in str(row.model_dump()) and body["code"].replace("-", "") not in str(row.model_dump())
        lifetime = row.expires_at - row.created_at
    assert lifetime == timedelta(hours=72)

    # Typed by hand: lower case, spaces instead of dashes.
    typed = body["code"].lower().replace("-", " ")
    joined = accept(client, typed, email="Sarah@Example.net")
    assert joined.status_code == 201, joined.text
    account = joined.json()
    assert account["kind"] == "family" and account["organisation"] is None and account["roles"] == ["family"]
    assert account["email"] == "sarah@example.net" and account["name"] == "Sarah Thompson"
    assert account["network_id"] == net["id"] and account["relationship"] == "Mother"

    token = api_token(client, "sarah@example.net", FAMILY_PASSWORD)
    me = client.get("/api/v1/me", headers=bearer(token)).json()
    assert me["kind"] == "family" and me["organisation"] is None and me["id"] == account["id"]

    listed = client.get(f"/api/v1/networks/{net['id']}/family-members", headers=bearer(net["t"]["teacher"]))
    assert listed.status_code == 200
    assert [(m["user_id"], m["name"], m["relationship"]) for m in listed.json()["family_members"]] == [
        (account["id"], "Sarah Thompson", "Mother")
    ]
    assert listed.json()["invitations"] == []

    with world.db.transaction() as session:
        trail = session.exec(select(AuditEvent).where(col(AuditEvent.action).startswith("family."))).all()
        events = session.exec(select(NetworkEvent).where(NetworkEvent.type == "family.joined")).all()
    assert [(e.action, e.actor_id) for e in trail] == [
        ("family.invited", net["members"]["Helen Morgan"]["user_id"]),
        ("family.joined", account["id"]),
    ]
    for text in [e.details for e in trail] + [e.data for e in events]:
        assert "sarah" not in text.lower() and body["code"] not in text
    assert len(events) == 1 and account["id"] in events[0].data


def test_a_new_code_replaces_the_earlier_one(client: TestClient, net: dict[str, Any]) -> None:
    first = invite(client, net).json()["code"]
    second = invite(client, net).json()["code"]
    waiting = client.get(f"/api/v1/networks/{net['id']}/family-members", headers=bearer(net["t"]["nurse"])).json()
    assert [i["email"] for i in waiting["invitations"]] == ["sarah@example.net"]
    not_lead = client.get(f"/api/v1/networks/{net['id']}/family-members", headers=bearer(net["t"]["teacher"])).json()
    assert not_lead["invitations"] == []
    _invalid_code(accept(client, first))
    assert accept(client, second).status_code == 201


def test_only_a_lead_invites_into_an_open_network(client: TestClient, world: World, net: dict[str, Any]) -> None:
    parent = join(client, net)
    outsider = world.account("outsider@housing.example.org", organisation=world.organisation("Harbour", "housing"))
    outsider_token = api_token(client, outsider.email, PASSWORD)
    before = _counts(world)
    url = f"/api/v1/networks/{net['id']}/family-invitations"
    _error(client.post(url, json=YOUNG, headers=bearer(net["t"]["teacher"])), 403, "not_lead")
    _error(client.post(url, json=YOUNG, headers=bearer(outsider_token)), 404, "not_found")
    _error(client.post(url, json=YOUNG, headers=bearer(parent["token"])), 404, "not_found")
    _error(client.post(url, json=YOUNG), 401, "unauthenticated")
    bad = _error(
        client.post(
            url,
            json={"name": "", "relationship": "x" * 101, "email": "not-an-email"},
            headers=bearer(net["t"]["nurse"]),
        ),
        422,
        "invalid",
    )
    assert set(bad["fields"]) == {"name", "relationship", "email"}
    already = _error(client.post(url, json=PARENT, headers=bearer(net["t"]["nurse"])), 422, "invalid")
    assert "already in this network" in already["fields"]["email"]
    closed = client.patch(f"/api/v1/networks/{net['id']}", json={"status": "closed"}, headers=bearer(net["t"]["nurse"]))
    assert closed.status_code == 200
    before = _counts(world)
    _error(client.post(url, json=YOUNG, headers=bearer(net["t"]["nurse"])), 409, "network_closed")
    assert _counts(world) == before


def test_expired_reused_unknown_and_mismatched_codes_are_refused_alike(
    client: TestClient, world: World, net: dict[str, Any]
) -> None:
    code = invite(client, net).json()["code"]
    before = _counts(world)
    _invalid_code(accept(client, "ABCD-EFGH-JKMN-PQRS"))
    _invalid_code(accept(client, code, email="someone.else@example.net"))
    assert _counts(world) == before

    assert accept(client, code).status_code == 201
    _invalid_code(accept(client, code))
    _invalid_code(accept(client, code, YOUNG))

    late = invite(client, net, YOUNG).json()["code"]
    _expire(world, YOUNG["email"])
    before = _counts(world)
    _invalid_code(accept(client, late, YOUNG))
    assert _counts(world) == before

    grandad = {"name": "Ken Thompson", "relationship": "Grandfather", "email": "ken@example.net"}
    closing = invite(client, net, grandad).json()["code"]
    client.patch(f"/api/v1/networks/{net['id']}", json={"status": "closed"}, headers=bearer(net["t"]["nurse"]))
    _invalid_code(accept(client, closing, grandad))

    malformed = _error(accept(client, "hello"), 422, "invalid")
    assert "16 letters and numbers" in malformed["fields"]["code"]
    weak = _error(accept(client, closing, grandad, password="password123"), 422, "invalid")
    assert set(weak["fields"]) == {"password"}
    assert _count(world, FamilyMembership) == 1


def test_guessed_codes_are_throttled(client: TestClient, world: World, net: dict[str, Any]) -> None:
    code = invite(client, net).json()["code"]
    for n in range(5):
        _invalid_code(accept(client, f"ABCD-EFGH-JKMN-PQR{'STVWX'[n]}"))
    throttled = accept(client, code)
    _error(throttled, 429, "too_many_requests")
    assert int(throttled.headers["Retry-After"]) > 0
    assert _count(world, FamilyMembership) == 0


def test_an_existing_family_account_joins_another_network(
    client: TestClient, world: World, net: dict[str, Any]
) -> None:
    parent = join(client, net)
    other = client.post(
        "/api/v1/networks", json=START | {"child": OTHER_CHILD}, headers=bearer(net["t"]["nurse"])
    ).json()
    nurse_id = net["members"]["Helen Morgan"]["user_id"]
    client.post(f"/api/v1/networks/{other['id']}/leads", json={"user_id": nurse_id}, headers=bearer(net["t"]["nurse"]))
    code = client.post(
        f"/api/v1/networks/{other['id']}/family-invitations", json=PARENT, headers=bearer(net["t"]["nurse"])
    ).json()["code"]
    wrong = _error(accept(client, code, password="a different long password"), 422, "invalid")
    assert wrong["fields"] == {"password": family.EXISTING_ACCOUNT}
    again = accept(client, code, name="Ignored Name")
    assert again.status_code == 201 and again.json()["id"] == parent["id"] and again.json()["name"] == "Sarah Thompson"
    for network_id in (net["id"], other["id"]):
        assert client.get(f"/api/v1/networks/{network_id}/notes", headers=bearer(parent["token"])).status_code == 200

    practitioner = {"name": "Tom", "relationship": "Father", "email": "teacher@school.example.org"}
    taken = invite(client, net, practitioner).json()["code"]
    refused = _error(accept(client, taken, practitioner), 422, "invalid")
    assert refused["fields"] == {"email": family.NOT_FOR_FAMILY}


def test_a_family_members_networks_are_ordered_by_what_is_shared_with_them(
    client: TestClient, world: World, net: dict[str, Any]
) -> None:
    parent = join(client, net)
    nurse = bearer(net["t"]["nurse"])
    other = client.post("/api/v1/networks", json=START | {"child": OTHER_CHILD}, headers=nurse).json()
    nurse_id = net["members"]["Helen Morgan"]["user_id"]
    client.post(f"/api/v1/networks/{other['id']}/leads", json={"user_id": nurse_id}, headers=nurse)
    code = client.post(f"/api/v1/networks/{other['id']}/family-invitations", json=PARENT, headers=nurse).json()
    assert accept(client, code["code"]).status_code == 201
    shared = NOTE | {"family_user_ids": [parent["id"]]}
    assert client.post(f"/api/v1/networks/{net['id']}/notes", json=shared, headers=nurse).status_code == 201
    # Then a note in the other network that is not shared with the parent: it must not put that network first.
    assert client.post(f"/api/v1/networks/{other['id']}/notes", json=NOTE, headers=nurse).status_code == 201
    with world.db.transaction() as session:
        account = session.get(Account, parent["id"])
        assert account is not None
        mine = family.my_family_networks(session=session, keys=keyring_for(world.settings), account=account)
    assert [item.network.id for item in mine] == [net["id"], other["id"]]


# What a family member sees and posts


def test_family_members_see_only_what_is_shared_with_them(
    client: TestClient, world: World, net: dict[str, Any]
) -> None:
    parent, young = join(client, net, PARENT), join(client, net, YOUNG)
    t, url = net["t"], f"/api/v1/networks/{net['id']}/notes"
    for body, shares in (
        ("For mum only", [parent["id"]]),
        ("For Maya only", [young["id"]]),
        ("For both of them", [parent["id"], young["id"]]),
        ("For practitioners only", []),
    ):
        posted = client.post(url, json=NOTE | {"body": body, "family_user_ids": shares}, headers=bearer(t["teacher"]))
        assert posted.status_code == 201, posted.text
    voice = client.post(url, json={"body": "Our side of the story"}, headers=bearer(parent["token"]))
    assert voice.status_code == 201 and voice.json()["kind"] == "family_voice"

    def bodies(token: str) -> list[str]:
        return [n["body"] for n in client.get(url, headers=bearer(token)).json()["notes"]]

    assert bodies(parent["token"]) == ["Our side of the story", "For both of them", "For mum only"]
    assert bodies(young["token"]) == ["For both of them", "For Maya only"]
    assert "Our side of the story" in bodies(t["officer"]) and "For Maya only" in bodies(t["officer"])

    # Practitioners acknowledge and reply; the reply reaches the family member and the network.
    voice_id = voice.json()["id"]
    assert client.post(f"/api/v1/notes/{voice_id}/acknowledgements", headers=bearer(t["officer"])).status_code == 201
    replied = client.post(
        f"/api/v1/notes/{voice_id}/replies",
        json={"body": "Thank you, we will talk on Monday"},
        headers=bearer(t["nurse"]),
    )
    assert replied.status_code == 201
    mine = client.get(f"/api/v1/notes/{voice_id}", headers=bearer(parent["token"])).json()
    assert [(r["author"], r["body"]) for r in mine["replies"]] == [
        ("Helen Morgan", "Thank you, we will talk on Monday")
    ]
    assert mine["acknowledged_by"] == ["Joe Bennett"]
    seen_by_teacher = client.get(f"/api/v1/notes/{voice_id}", headers=bearer(t["teacher"])).json()
    assert seen_by_teacher["replies"][0]["body"] == "Thank you, we will talk on Monday"
    _error(client.get(f"/api/v1/notes/{voice_id}", headers=bearer(young["token"])), 404, "not_found")

    before = _counts(world)
    too_long = _error(client.post(url, json={"body": "x" * 4001}, headers=bearer(parent["token"])), 422, "invalid")
    assert too_long["fields"] == {"body": "Your account must be 4,000 characters or fewer"}
    _error(client.post(url, json={"body": "   "}, headers=bearer(parent["token"])), 422, "invalid")
    assert _counts(world) == before


def test_sensitive_practitioners_are_never_named_to_the_family(
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
    url = f"/api/v1/networks/{net['id']}/notes"
    client.post(url, json=NOTE | {"body": "From the refuge", "family_user_ids": [parent["id"]]}, headers=bearer(dana))
    nurse = net["t"]["nurse"]
    dana_id = client.get("/api/v1/me", headers=bearer(dana)).json()["id"]
    for body, audience in (
        ("For one person", {"kind": "people", "user_ids": [dana_id]}),
        ("For the refuge", {"kind": "organisations", "organisation_ids": [refuge.id]}),
    ):
        posted = client.post(
            url,
            json=NOTE | {"body": body, "audience": audience, "family_user_ids": [parent["id"]]},
            headers=bearer(nurse),
        )
        assert posted.status_code == 201, posted.text
    voice = client.post(url, json={"body": "We are safe now"}, headers=bearer(parent["token"])).json()
    client.post(f"/api/v1/notes/{voice['id']}/replies", json={"body": "Glad to hear it"}, headers=bearer(dana))
    client.post(f"/api/v1/notes/{voice['id']}/acknowledgements", headers=bearer(dana))

    listed = client.get(url, headers=bearer(parent["token"]))
    reached = [
        listed.text,
        client.get("/api/v1/networks", headers=bearer(parent["token"])).text,
        client.get(f"/api/v1/networks/{net['id']}", headers=bearer(parent["token"])).text,
        client.get(f"/api/v1/networks/{net['id']}/events", headers=bearer(parent["token"])).text,
        client.get(f"/api/v1/networks/{net['id']}/access-log", headers=bearer(parent["token"])).text,
        client.get("/api/v1/notifications", headers=bearer(parent["token"])).text,
        *(client.get(f"/api/v1/notes/{n['id']}", headers=bearer(parent["token"])).text for n in listed.json()["notes"]),
    ]
    for text in reached:
        for secret in ("Dana", "Quill", "Safe Harbour", "Refuge support", dana, dana_id, refuge.id):
            assert secret not in text
    shared = [n for n in listed.json()["notes"] if n["kind"] == "practitioner"]
    assert {n["body"] for n in shared} == {"From the refuge", "For one person", "For the refuge"}
    assert all(n["audience"] is None and n["family_sharing"] == "Shared with you" for n in shared), (
        "a family member is told only that a note is shared with them"
    )
    by_body = {n["body"]: n for n in listed.json()["notes"]}
    assert by_body["From the refuge"]["author"] == {"id": None, "name": SENSITIVE_AUTHOR, "organisation": None}
    assert by_body["We are safe now"]["replies"][0]["author"] == SENSITIVE_AUTHOR
    assert by_body["We are safe now"]["acknowledged_by"] == [SENSITIVE_AUTHOR]
    # Practitioners still see who it was.
    for_nurse = client.get(f"/api/v1/notes/{voice['id']}", headers=bearer(net["t"]["nurse"])).json()
    assert for_nurse["replies"][0]["author"] == "Dana Quill"

    with ExitStack() as stack:
        browser = stack.enter_context(TestClient(client.app))
        assert sign_in(browser, PARENT["email"], FAMILY_PASSWORD).status_code == 303
        page = browser.get(f"/family/networks/{net['id']}")
        pages = [page.text, browser.get("/notifications").text, browser.get(f"/networks/{net['id']}/access-log").text]
        pages += [browser.get(f"/notes/{n['id']}").text for n in shared]
    assert page.status_code == 200
    assert "Helen Morgan" in page.text and "Tom Fletcher" in page.text
    assert "Who can see it" not in page.text and "Only Dana" not in page.text
    assert "Only " not in page.text and "Members from" not in page.text
    for text in pages:
        for secret in ("Dana", "Quill", "Safe Harbour", "Refuge support", dana_id, refuge.id):
            assert secret not in text


def test_a_family_member_lists_and_reads_their_networks_through_the_api(
    client: TestClient, world: World, net: dict[str, Any]
) -> None:
    refuge = world.organisation("Safe Harbour Refuge", "voluntary")
    world.account("dana@refuge.example.org", organisation=refuge, name="Dana Quill")
    dana = api_token(client, "dana@refuge.example.org", PASSWORD)
    client.post(
        f"/api/v1/networks/{net['id']}/involvements",
        json={"role_label": "Refuge support worker", "reason": "Supporting mum", "sensitive": True},
        headers=bearer(dana),
    )
    parent = join(client, net)
    other = client.post(
        "/api/v1/networks", json=START | {"child": OTHER_CHILD}, headers=bearer(net["t"]["teacher"])
    ).json()

    listed = client.get("/api/v1/networks", headers=bearer(parent["token"]))
    assert listed.status_code == 200, listed.text
    [summary] = listed.json()["networks"]
    assert summary["id"] == net["id"] and summary["role_label"] == "Mother" and summary["is_lead"] is False
    assert summary["child"]["given_name"] == "Maya" and summary["member_count"] == 3, "the sensitive one is not counted"

    read = client.get(f"/api/v1/networks/{net['id']}", headers=bearer(parent["token"]))
    assert read.status_code == 200, read.text
    body = read.json()
    assert {i["name"] for i in body["involvements"]} == {"Helen Morgan", "Tom Fletcher", "Joe Bennett"}
    assert all(i["contact"] is None and i["sensitive"] is False for i in body["involvements"])
    assert [lead["name"] for lead in body["leads"]] == ["Helen Morgan"]
    assert "Dana" not in read.text and "Refuge" not in read.text

    _error(client.get(f"/api/v1/networks/{other['id']}", headers=bearer(parent["token"])), 404, "not_found")
    with world.db.transaction() as session:
        reads = session.exec(
            select(AuditEvent).where(AuditEvent.action == "family.viewed", AuditEvent.actor_id == parent["id"])
        ).all()
    assert len(reads) == 1, "reading the network is audited, listing is not"


# Everything a family member may not do


def test_a_family_member_is_refused_every_practitioner_route(
    client: TestClient, world: World, net: dict[str, Any]
) -> None:
    parent = join(client, net)
    t = net["t"]
    shared = client.post(
        f"/api/v1/networks/{net['id']}/notes",
        json=NOTE | {"body": "Shared with mum", "family_user_ids": [parent["id"]]},
        headers=bearer(t["teacher"]),
    ).json()
    other = client.post("/api/v1/networks", json=START | {"child": OTHER_CHILD}, headers=bearer(t["teacher"])).json()
    here, there = net["id"], other["id"]
    # The other network is closed: even that must not show through.
    teacher_id = net["members"]["Tom Fletcher"]["user_id"]
    assert client.post(
        f"/api/v1/networks/{there}/leads", json={"user_id": teacher_id}, headers=bearer(t["teacher"])
    ).is_success
    assert client.patch(f"/api/v1/networks/{there}", json={"status": "closed"}, headers=bearer(t["teacher"])).is_success
    search = {"family_name": "Thompson", "date_of_birth": "2017-03-27", "given_name": "Maya"}
    api_calls: list[tuple[str, str, dict[str, Any] | None, int]] = [
        ("POST", "/children/search", search, 404),
        ("POST", "/networks", START | {"child": OTHER_CHILD | {"given_name": "Zed"}}, 404),
        ("PATCH", f"/networks/{here}", {"status": "closed"}, 404),
        ("POST", f"/networks/{here}/involvements", {"role_label": "Mum", "reason": "x"}, 404),
        ("POST", f"/networks/{here}/leads", {"user_id": parent["id"]}, 404),
        ("POST", f"/networks/{here}/notes", NOTE, 422),
        ("POST", f"/networks/{here}/family-invitations", YOUNG, 404),
        ("GET", f"/networks/{here}/family-members", None, 404),
        ("POST", f"/networks/{here}/history-openings", {"user_id": parent["id"], "reason": "x"}, 403),
        ("POST", f"/notes/{shared['id']}/replies", {"body": "reply"}, 403),
        ("POST", f"/notes/{shared['id']}/acknowledgements", None, 403),
        ("POST", f"/notes/{shared['id']}/revisions", {"body": "changed"}, 403),
        ("POST", f"/notes/{shared['id']}/redaction", {"reason": "wrong"}, 403),
        ("GET", f"/networks/{there}/notes", None, 404),
        ("POST", f"/networks/{there}/notes", {"body": "Into another network"}, 404),
        ("GET", f"/networks/{there}/events", None, 404),
        ("GET", f"/networks/{there}", None, 404),
        ("POST", f"/networks/{there}/family-invitations", YOUNG, 404),
        ("POST", f"/networks/{there}/involvements", {"role_label": "Mum", "reason": "x"}, 404),
    ]
    with ExitStack() as stack:
        browser = stack.enter_context(TestClient(client.app))
        assert sign_in(browser, PARENT["email"], FAMILY_PASSWORD).status_code == 303
        token = csrf_from(browser.get("/family").text)
        child_form = {
            "given_name": "Zed",
            "family_name": "Jones",
            "dob_day": "5",
            "dob_month": "5",
            "dob_year": "2016",
            "role_label": "Mum",
            "reason": "x",
        }
        page_calls: list[tuple[str, str, dict[str, str] | None]] = [
            ("GET", "/search", None),
            (
                "POST",
                "/search",
                {
                    "family_name": "Thompson",
                    "given_name": "Maya",
                    "dob_day": "27",
                    "dob_month": "3",
                    "dob_year": "2017",
                },
            ),
            ("GET", "/networks/new", None),
            ("POST", "/networks/new", child_form),
            ("GET", f"/networks/{here}", None),
            ("GET", f"/networks/{here}/join", None),
            ("POST", f"/networks/{here}/involvements", {"role_label": "Mum", "reason": "x"}),
            ("GET", f"/networks/{here}/notes/new", None),
            ("GET", f"/networks/{here}/chronology.csv", None),
            ("GET", f"/networks/{here}/chronology.pdf", None),
            ("GET", f"/networks/{here}/family-invitations/new", None),
            ("POST", f"/networks/{here}/family-invitations", YOUNG),
            ("GET", f"/family/networks/{there}", None),
            ("POST", f"/family/networks/{there}/voice", {"body": "Into another network"}),
            ("GET", f"/networks/{there}/notes", None),
            ("GET", f"/networks/{there}/join", None),
            ("POST", f"/networks/{there}/involvements", {"role_label": "Mum", "reason": "x"}),
            ("GET", "/admin/merge", None),
        ]
        before = _counts(world)
        for method, path, body, status in api_calls:
            response = client.request(method, "/api/v1" + path, json=body, headers=bearer(parent["token"]))
            assert response.status_code == status, (method, path, response.text)
        for method, path, form in page_calls:
            data = None if form is None else {"csrf_token": token, **form}
            response = browser.request(method, path, data=data, follow_redirects=False)
            assert response.status_code == 404, (method, path, response.status_code)
            assert "Maya" not in response.text and "Sam" not in response.text
        assert _counts(world) == before


# The pages


@pytest.fixture
def browsers(client: TestClient, net: dict[str, Any]) -> Iterator[dict[str, TestClient]]:
    with ExitStack() as stack:
        opened = {}
        for who, email in (("nurse", "nurse@health.example.org"), ("teacher", "teacher@school.example.org")):
            opened[who] = stack.enter_context(TestClient(client.app))
            assert sign_in(opened[who], email, PASSWORD).status_code == 303
        opened["family"] = stack.enter_context(TestClient(client.app))
        yield opened


def test_invite_accept_and_the_family_view_on_pages(
    client: TestClient,
    world: World,
    net: dict[str, Any],
    browsers: dict[str, TestClient],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    nurse, teacher, home = browsers["nurse"], browsers["teacher"], browsers["family"]
    network_page = f"/networks/{net['id']}"
    invite_path = f"/networks/{net['id']}/family-invitations"
    assert "Invite a family member" in nurse.get(network_page).text
    assert "Invite a family member" not in teacher.get(network_page).text
    assert teacher.get(f"{invite_path}/new").status_code == 403

    form = nurse.get(f"{invite_path}/new")
    assert form.status_code == 200 and "None yet" in form.text
    refused = post_form(
        nurse,
        invite_path,
        {"name": "Sarah Thompson", "relationship": "", "email": "sarah@"},
        token_from=f"{invite_path}/new",
    )
    assert refused.status_code == 422
    assert "Enter their relationship to the child" in refused.text and "correct format" in refused.text
    assert 'value="Sarah Thompson"' in refused.text

    shown = post_form(nurse, invite_path, PARENT, token_from=f"{invite_path}/new")
    assert shown.status_code == 201
    match = SHOWN_CODE.search(shown.text)
    assert match and CODE.match(match.group(1))
    code = match.group(1)
    assert "Give Sarah Thompson this code" in shown.text and "/family/accept" in shown.text
    assert "sarah@example.net" in nurse.get(f"{invite_path}/new").text
    assert code not in nurse.get(f"{invite_path}/new").text

    client.post(
        f"/api/v1/networks/{net['id']}/notes",
        json=NOTE | {"body": "Kept among practitioners"},
        headers=bearer(net["t"]["teacher"]),
    )

    accept_page = home.get("/family/accept")
    assert accept_page.status_code == 200
    fields = {"code": code.lower(), "email": PARENT["email"], "name": PARENT["name"], "password": "short"}
    weak = post_form(home, "/family/accept", fields)
    assert weak.status_code == 422
    assert "Password must be 12 characters or more" in weak.text
    assert f'value="{code.lower()}"' in weak.text and 'value="sarah@example.net"' in weak.text
    assert 'value="short"' not in weak.text
    wrong = post_form(home, "/family/accept", fields | {"code": "ABCD-EFGH-JKMN-PQRS", "password": FAMILY_PASSWORD})
    assert wrong.status_code == 422 and html.escape(family.INVALID_CODE, quote=False) in wrong.text.replace(
        "&#39;", "'"
    )

    joined = post_form(home, "/family/accept", fields | {"password": FAMILY_PASSWORD})
    assert joined.status_code == 303
    assert joined.headers["location"] == f"/family/networks/{net['id']}?notice=welcome"

    # Now that Sarah is a member, a note can be shared with her by name.
    with world.db.transaction() as session:
        sarah = session.exec(select(Account).where(Account.email == PARENT["email"])).one()
    client.post(
        f"/api/v1/networks/{net['id']}/notes",
        json=NOTE | {"body": "Shared with Sarah by name", "family_user_ids": [sarah.id]},
        headers=bearer(net["t"]["teacher"]),
    )

    view = home.get(joined.headers["location"])
    assert view.status_code == 200
    text = view.text
    assert "You have joined" in text and "Maya Thompson" in text and "You are in this network as: Mother" in text
    assert "Helen Morgan" in text and "Lead professional" in text and "Police officer, Eastshire Police" in text
    assert "Shared with Sarah by name" in text
    assert "Kept among practitioners" not in text
    assert f'href="/networks/{net["id"]}/access-log"' in text
    assert 'name="body"' in text
    with world.db.transaction() as session:
        viewed = session.exec(
            select(AuditEvent).where(AuditEvent.action == "family.viewed", AuditEvent.actor_id == sarah.id)
        ).all()
    assert len(viewed) == 1

    assert home.get("/", follow_redirects=False).headers["location"] == "/family"
    assert home.get("/account").status_code == 200 and home.get("/account/two-factor").status_code == 200
    listing = home.get("/family")
    assert f'href="/family/networks/{net["id"]}"' in listing.text and "You joined as: Mother" in listing.text

    voice_path = f"/family/networks/{net['id']}/voice"
    long_text = "We moved house last month. " * 160
    too_long = post_form(home, voice_path, {"body": long_text}, token_from=f"/family/networks/{net['id']}")
    assert too_long.status_code == 422
    assert "Your account must be 4,000 characters or fewer" in too_long.text
    assert long_text.strip() in too_long.text and "govuk-error-summary" in too_long.text
    empty = post_form(home, voice_path, {"body": " "}, token_from=f"/family/networks/{net['id']}")
    assert empty.status_code == 422 and "Enter your account" in empty.text
    posted = post_form(
        home, voice_path, {"body": "Dad is back home and things are calmer"}, token_from=f"/family/networks/{net['id']}"
    )
    assert posted.status_code == 303 and "notice=voice-posted" in posted.headers["location"]
    assert "Dad is back home and things are calmer" in home.get(f"/family/networks/{net['id']}").text
    assert "Dad is back home and things are calmer" in teacher.get(f"/networks/{net['id']}/notes").text

    records = [r for r in caplog.records]
    assert any(r.name == "patchwork.access" for r in records), "the access log was not captured, so this proves nothing"
    normalised = code.replace("-", "")
    for record in records:
        text = repr(record.__dict__)
        assert code not in text and code.lower() not in text and normalised not in text


def test_accept_page_throttles_guesses(browsers: dict[str, TestClient]) -> None:
    home = browsers["family"]
    fields = {"code": "ABCD-EFGH-JKMN-PQRS", "email": "guess@example.net", "name": "Guess", "password": FAMILY_PASSWORD}
    for _ in range(5):
        assert post_form(home, "/family/accept", fields).status_code == 422
    throttled = post_form(home, "/family/accept", fields)
    assert throttled.status_code == 429 and "Too many codes tried" in throttled.text
    assert int(throttled.headers["Retry-After"]) > 0


# Demo data


def test_demo_has_a_mother_and_a_young_person(settings: Settings, db: Database) -> None:
    keys = keyring_for(settings)
    result = asyncio.run(create_demo(db=db, passwords=passwords_for(settings), keys=keys, password="demo-password-26"))
    family_accounts = [a for a in result.accounts if a.kind == "family"]
    assert [(a.email, a.roles, a.organisation) for a in family_accounts] == [
        ("nadia.begum@family.example.org", ["family"], None),
        ("aisha.begum@family.example.org", ["family"], None),
    ]
    network_id = result.networks[demo.FAMILY_NETWORK]
    with db.transaction() as session:
        people = {a.email: a for a in session.exec(select(Account).where(Account.kind == "family")).all()}
        seen = {
            email: [
                v.body for v in notes.feed(session=session, keys=keys, account=account, network_id=network_id).notes
            ]
            for email, account in people.items()
        }
        trail = [
            e.action
            for e in session.exec(
                select(AuditEvent).where(AuditEvent.network_id == network_id).order_by(col(AuditEvent.seq))
            ).all()
        ]
    shared_with = {(True, True): "both", (True, False): "mother", (False, True): "young"}
    expected: dict[str, set[str]] = {
        "nadia.begum@family.example.org": {demo.FAMILY_VOICE},
        "aisha.begum@family.example.org": set(),
    }
    for shares, _, _, _, body in demo.FAMILY_NOTES:
        if shared_with[shares] in ("both", "mother"):
            expected["nadia.begum@family.example.org"].add(body)
        if shared_with[shares] in ("both", "young"):
            expected["aisha.begum@family.example.org"].add(body)
    assert {email: set(bodies) for email, bodies in seen.items()} == expected
    assert expected["nadia.begum@family.example.org"] != expected["aisha.begum@family.example.org"]
    assert trail.count("network.viewed") >= 3 and trail.count("notes.viewed") >= 2
    assert "chronology.exported" in trail and "child.searched" in trail and trail.count("family.joined") == 2

    again = asyncio.run(create_demo(db=db, passwords=passwords_for(settings), keys=keys, password="demo-password-26"))
    assert again.created == 0 and again.accounts == result.accounts


def test_the_sign_in_page_offers_joining_with_a_code(client: TestClient) -> None:
    page = client.get("/sign-in").text
    assert '<a class="govuk-link" href="/family/accept">join with your code</a>' in page
    assert client.get("/family/accept").status_code == 200


def test_the_leads_network_page_lists_the_family_members_who_joined(
    client: TestClient,
    world: World,
    net: dict,  # type: ignore[type-arg]
) -> None:
    parent = world.account("pat@family.example.org", kind=AccountKind.family, name="Pat Parent")
    world.family_member(net["id"], parent.id, "Mother")
    sign_in(client, "nurse@health.example.org", PASSWORD)  # the lead
    page = client.get(f"/networks/{net['id']}").text
    assert 'id="family-members"' in page and "Pat Parent (Mother), joined" in page
    client.cookies.clear()
    sign_in(client, "teacher@school.example.org", PASSWORD)  # a member who does not lead
    assert "Pat Parent" not in client.get(f"/networks/{net['id']}").text


def test_an_invitations_expiry_is_shown_in_uk_time_and_labelled() -> None:
    from datetime import UTC, datetime

    from patchwork.clock import LONDON, uk_time

    summer, winter = datetime(2026, 7, 1, 12, 0, tzinfo=UTC), datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    if LONDON is None:
        assert uk_time(summer) == "12:00 on 1 July 2026 (UTC)"
    else:
        assert uk_time(summer) == "13:00 on 1 July 2026 (UK time)", "British Summer Time"
        assert uk_time(winter) == "12:00 on 1 December 2026 (UK time)"


def test_a_sensitive_practitioners_redaction_does_not_name_them_to_the_family(
    client: TestClient,
    world: World,
    net: dict,  # type: ignore[type-arg]
) -> None:
    from tests.web.test_access_log import family_member, refuge_worker

    parent = family_member(world, net["id"])
    refuge = refuge_worker(client, world, net["id"])
    body = NOTE | {"family_user_ids": [parent.id], "body": "Shared with mum, then taken back"}
    note = client.post(f"/api/v1/networks/{net['id']}/notes", json=body, headers=bearer(refuge)).json()
    redacted = client.post(
        f"/api/v1/notes/{note['id']}/redaction", json={"reason": "Wrong family"}, headers=bearer(refuge)
    )
    assert redacted.status_code == 201, redacted.text
    mum = bearer(api_token(client, "parent@example.org", PASSWORD))
    seen = client.get(f"/api/v1/networks/{net['id']}/notes", headers=mum).json()["notes"]
    [shown] = [n for n in seen if n["id"] == note["id"]]
    assert shown["redaction"]["by"] == SENSITIVE_AUTHOR and "Wrong family" not in str(seen)
    assert "Rita Hidden" not in str(seen)


# Plain words for each relationship, and none of the practitioners' working words

# What practitioners are shown on a note and a family member must not be: levels, audiences, the basis, categories'
# codes and labels, and the practitioners' own verbs.
JARGON = (
    "Observation",
    "Concern",
    "Urgent",
    "Who can see it",
    "Only Tom",
    "Members from",
    "Lead professionals only",
    "Everyone in the network",
    "Every practitioner in the network",
    "Basis for sharing",
    "consent",
    "risk_to_child",
    "hunger_nutrition",
    "Hunger and nutrition",
    "Family voice",
    "Redact",
    "redacted",
    "Acknowledged",
    "Network of concern",
    "your child",
)


def _visible(page: str) -> str:
    """The words a reader sees: no head, scripts or markup."""
    text = re.sub(r"(?s)<head>.*?</head>|<script.*?</script>", " ", page)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text)))


def _family_and_notes(client: TestClient, net: dict[str, Any]) -> dict[str, Any]:
    """A mother and the young person, notes of every level and audience shared with them, and the mother's own
    account, revised and then (a second one) removed."""
    parent, young = join(client, net, PARENT), join(client, net, YOUNG)
    t, url = net["t"], f"/api/v1/networks/{net['id']}/notes"
    teacher_id = net["members"]["Tom Fletcher"]["user_id"]
    both = [parent["id"], young["id"]]
    for body, extra in (
        ("A worry shared with both", {"level": "concern"}),
        ("Seen at drop-off", {"level": "observation", "audience": {"kind": "lead"}}),
        ("For Tom and the family", {"audience": {"kind": "people", "user_ids": [teacher_id]}}),
        ("Went to hospital", {"level": "urgent", "referral_route_acknowledged": True}),
    ):
        posted = client.post(
            url, json=NOTE | {"body": body, "family_user_ids": both} | extra, headers=bearer(t["nurse"])
        )
        assert posted.status_code == 201, posted.text
    voice = client.post(url, json={"body": "Our side of it"}, headers=bearer(parent["token"])).json()
    assert client.post(
        f"/api/v1/notes/{voice['id']}/revisions",
        json={"body": "Our side of it, said better"},
        headers=bearer(parent["token"]),
    ).is_success
    assert client.post(f"/api/v1/notes/{voice['id']}/acknowledgements", headers=bearer(t["teacher"])).is_success
    removed = client.post(url, json={"body": "Posted by mistake"}, headers=bearer(parent["token"])).json()
    assert client.post(
        f"/api/v1/notes/{removed['id']}/redaction", json={"reason": "Wrong place"}, headers=bearer(parent["token"])
    ).is_success
    return {"parent": parent, "young": young, "voice": voice["id"], "removed": removed["id"]}


def _family_pages(browser: TestClient, network_id: str) -> dict[str, str]:
    pages = {
        "home": browser.get("/family"),
        "network": browser.get(f"/family/networks/{network_id}"),
        "access log": browser.get(f"/networks/{network_id}/access-log"),
        "in date order": browser.get(f"/networks/{network_id}/chronology"),
    }
    for note_id in sorted(set(re.findall(r'href="/notes/([0-9a-f-]{36})"', pages["network"].text))):
        pages[f"note {note_id}"] = browser.get(f"/notes/{note_id}")
    for path, response in pages.items():
        assert response.status_code == 200, path
    return {path: response.text for path, response in pages.items()}


def test_the_family_pages_speak_to_the_young_person_and_to_a_parent(
    client: TestClient, net: dict[str, Any], browsers: dict[str, TestClient]
) -> None:
    _family_and_notes(client, net)
    home = browsers["family"]
    assert sign_in(home, YOUNG["email"], FAMILY_PASSWORD).status_code == 303
    young = {path: _visible(text) for path, text in _family_pages(home, net["id"]).items()}
    assert "Who has looked at your record" in young["network"]
    assert "See who has looked at your record" in young["network"]
    assert "Your network" in young["network"] and "You are in this network as" not in young["network"]
    assert "Your network" in young["home"] and "You are in it as the young person" in young["home"]
    assert "Who has looked at your record" in young["access log"]
    for path, text in young.items():
        assert "Maya's record" not in text and "child's record" not in text, path

    home.cookies.clear()
    assert sign_in(home, PARENT["email"], FAMILY_PASSWORD).status_code == 303
    parent = {path: _visible(text) for path, text in _family_pages(home, net["id"]).items()}
    assert "Who has looked at Maya's record" in parent["network"]
    assert "You are in this network as: Mother" in parent["network"]
    assert "Who has looked at Maya's record" in parent["access log"]
    assert "Every time a professional looks at, downloads or finds Maya's record" in parent["access log"]
    assert "You joined as: Mother" in parent["home"]
    for path, text in parent.items():
        assert "your record" not in text, path


def test_the_access_log_says_who_was_found_to_each_relationship(
    client: TestClient, net: dict[str, Any], browsers: dict[str, TestClient]
) -> None:
    _family_and_notes(client, net)
    search = {"family_name": "Thompson", "date_of_birth": "2017-03-27", "given_name": "Maya"}
    found = client.post("/api/v1/children/search", json=search, headers=bearer(net["t"]["officer"]))
    assert found.json()["match"], found.text
    home = browsers["family"]
    words = {}
    for person in (YOUNG, PARENT):
        home.cookies.clear()
        assert sign_in(home, person["email"], FAMILY_PASSWORD).status_code == 303
        words[person["relationship"]] = _visible(home.get(f"/networks/{net['id']}/access-log").text)
    assert "Found you by searching" in words["Young person"]
    assert "Found Maya by searching" in words["Mother"]
    assert "the child" not in words["Young person"] and "the child" not in words["Mother"]


def test_no_practitioner_jargon_reaches_a_family_page(
    client: TestClient, net: dict[str, Any], browsers: dict[str, TestClient]
) -> None:
    made = _family_and_notes(client, net)
    home, teacher = browsers["family"], browsers["teacher"]
    # The same notes, to a practitioner, carry every one of these words: the check below is of something real.
    seen_by_teacher = _visible(teacher.get(f"/networks/{net['id']}/notes").text)
    for word in ("Concern", "Urgent", "Who can see it", "Basis for sharing", "Family voice", "Redact", "redacted"):
        assert word in seen_by_teacher, word
    for person in (PARENT, YOUNG):
        home.cookies.clear()
        assert sign_in(home, person["email"], FAMILY_PASSWORD).status_code == 303
        pages = _family_pages(home, net["id"])
        if person is PARENT:
            for action in ("revise", "redact"):
                form = home.get(f"/notes/{made['voice']}/{action}")
                assert form.status_code == 200, action
                pages[action] = form.text
        shown = {path: _visible(text) for path, text in pages.items()}
        network = shown["network"]
        for body in ("A worry shared with both", "Seen at drop-off", "For Tom and the family", "Went to hospital"):
            assert body in network
        assert "Helen Morgan, Northgate Health" in network and network.count("Shared with you") >= 4
        assert "Written at " in network and "(UK time)" in network
        if person is PARENT:
            assert "What you wrote" in network and "Our side of it, said better" in network
            assert "What it said before" in network and "Changed" in network and "Read by Tom Fletcher" in network
            assert "You removed this on" in network and "Posted by mistake" not in network
            assert "Change what you wrote" in shown["revise"] and "Why are you removing it?" in shown["redact"]
        for path, text in shown.items():
            for word in JARGON:
                assert word not in text, (person["relationship"], path, word)
