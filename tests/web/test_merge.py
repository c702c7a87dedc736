"""A merge loses nothing: every row that belongs to the merged-away network moves to the one it is merged into."""

from __future__ import annotations

import html
import json
import re
from datetime import date
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import SQLModel, select
from starlette.testclient import TestClient

from patchwork import policy
from patchwork.errors import TooManyRequests
from patchwork.models.accounts import AccountKind
from patchwork.models.audit import AuditEvent
from patchwork.models.networks import Network
from patchwork.runtime import keyring_for
from patchwork.services import admin_search
from tests.conftest import PASSWORD, World
from tests.helpers import api_token, bearer, page_token
from tests.web.test_family import OTHER_CHILD, PARENT, YOUNG, invite, join
from tests.web.test_networks import START
from tests.web.test_notes_api import NOTE

# Tables that keep the merged-away id on purpose, each for its reason.
STAYS_WITH_THE_OLD_NETWORK = {
    "network_event": "its own event log: sequence numbers are per network, and cursors into it still resume",
    "event_counter": "the head of that event log",
    "audit_event": "the tamper-evident trail is never rewritten; the merge itself is audited on the target",
}


def _tables_with_a_network_id() -> list[str]:
    return sorted(name for name, table in SQLModel.metadata.tables.items() if "network_id" in table.columns)


def _rows_of(world: World, table: str, network_id: str) -> int:
    with world.db.transaction() as session:
        return int(
            session.execute(text(f"SELECT count(*) FROM {table} WHERE network_id = :n"), {"n": network_id}).scalar_one()
        )


def _source_network(client: TestClient, net: dict[str, Any]) -> dict[str, Any]:
    """A second network for the same child (found later), with a row in every table that has a network id."""
    t = net["t"]
    twin = OTHER_CHILD | {"given_name": "Sami"}
    assert (
        client.post("/api/v1/networks", json=START | {"child": twin}, headers=bearer(t["officer"])).status_code == 201
    )
    different = {"detail": "Twin brother: Sam, not Sami", "reason": "Known to the school"}
    source = client.post(
        "/api/v1/networks",
        json=START | {"child": OTHER_CHILD, "different_child": different},
        headers=bearer(t["teacher"]),
    ).json()
    teacher_id = source["involvements"][0]["user_id"]
    client.post(f"/api/v1/networks/{source['id']}/leads", json={"user_id": teacher_id}, headers=bearer(t["teacher"]))
    for who, role in (("officer", "PCSO"), ("nurse", "School nurse")):
        joined = client.post(
            f"/api/v1/networks/{source['id']}/involvements",
            json={"role_label": role, "reason": "x"},
            headers=bearer(t[who]),
        )
        assert joined.status_code == 201, joined.text
    url = f"/api/v1/networks/{source['id']}/notes"
    mother = join(client, {"id": source["id"], "t": {"nurse": t["teacher"]}}, PARENT)
    shared = client.post(
        url,
        json=NOTE | {"body": "Shared with the mother", "family_user_ids": [mother["id"]]},
        headers=bearer(t["teacher"]),
    ).json()
    assert invite(client, {"id": source["id"], "t": {"nurse": t["teacher"]}}, YOUNG).status_code == 201  # pending
    urgent = NOTE | {"level": "urgent", "referral_route_acknowledged": True, "body": "Bruise on the arm"}
    assert client.post(url, json=urgent, headers=bearer(t["teacher"])).status_code == 201  # raises an alert
    opened = client.post(
        f"/api/v1/networks/{source['id']}/history-openings",
        json={"user_id": net["members"]["Joe Bennett"]["user_id"], "reason": "Needs the background"},
        headers=bearer(t["teacher"]),
    )
    assert opened.status_code in (200, 201), opened.text
    listed = client.get("/api/v1/notifications", headers=bearer(t["officer"])).json()
    read = client.post("/api/v1/notifications/read", json={"cursors": listed["cursors"]}, headers=bearer(t["officer"]))
    assert read.status_code == 204, read.text
    return {"id": source["id"], "note_id": shared["id"], "mother": mother}


def test_every_row_with_the_merged_away_network_id_moves(client: TestClient, world: World, net: dict[str, Any]) -> None:
    source = _source_network(client, net)
    tables = _tables_with_a_network_id()
    must_move = [table for table in tables if table not in STAYS_WITH_THE_OLD_NETWORK]
    assert set(STAYS_WITH_THE_OLD_NETWORK) <= set(tables), "a table kept on purpose has gone: update this list"
    for table in must_move:
        assert _rows_of(world, table, source["id"]) > 0, f"give the source network a row of {table} in this test"
    before = {table: _rows_of(world, table, source["id"]) + _rows_of(world, table, net["id"]) for table in must_move}

    world.account("root@example.org", kind=AccountKind.admin)
    admin = api_token(client, "root@example.org", PASSWORD)
    merged = client.post(
        "/api/v1/networks/merges",
        json={"source_id": source["id"], "target_id": net["id"], "reason": "The same child"},
        headers=bearer(admin),
    )
    assert merged.status_code == 201, merged.text

    for table in must_move:
        assert _rows_of(world, table, source["id"]) == 0, f"{table} kept rows of the merged-away network"
        if table != "notification_mark":  # read marks count the old network's events, so they go with it
            assert _rows_of(world, table, net["id"]) == before[table], f"{table} lost rows in the merge"


def test_what_was_in_the_merged_away_network_is_reached_in_the_target(
    client: TestClient, world: World, net: dict[str, Any]
) -> None:
    source = _source_network(client, net)
    t = net["t"]
    world.account("root@example.org", kind=AccountKind.admin)
    admin = api_token(client, "root@example.org", PASSWORD)
    client.post(
        "/api/v1/networks/merges",
        json={"source_id": source["id"], "target_id": net["id"], "reason": "The same child"},
        headers=bearer(admin),
    )
    notes = client.get(f"/api/v1/networks/{net['id']}/notes", headers=bearer(t["officer"])).json()["notes"]
    assert source["note_id"] in {note["id"] for note in notes}
    theirs = client.get(f"/api/v1/networks/{net['id']}/notes", headers=bearer(source["mother"]["token"]))
    assert theirs.status_code == 200, theirs.text
    assert [note["id"] for note in theirs.json()["notes"]] == [source["note_id"]], "the mother keeps what she was shown"
    detail = client.get(f"/api/v1/networks/{net['id']}", headers=bearer(t["nurse"])).json()
    leads = sorted(i["name"] for i in detail["involvements"] if i.get("is_lead"))
    assert len(leads) == 2, f"the lead of the merged-away network still leads: {leads}"


# The merge page: each network found by an exact look-up and picked from what matched.

MAYA_BY_NAME = {"family_name": "thompson", "given_name": "MAYA", "dob_day": "27", "dob_month": "3", "dob_year": "2017"}


def _admin_page(client: TestClient, world: World) -> str:
    """Signs the system admin in; the merge form's CSRF token."""
    world.account("root@example.org", kind=AccountKind.admin, name="Root Admin")
    signed = client.post(
        "/sign-in",
        data={"csrf_token": page_token(client), "email": "root@example.org", "password": PASSWORD},
        follow_redirects=False,
    )
    assert signed.status_code == 303
    return page_token(client, "/admin/merge")


def _side(side: str, fields: dict[str, str]) -> dict[str, str]:
    return {f"{side}_{name}": value for name, value in fields.items()}


def _radios(page: str, side: str) -> dict[str, bool]:
    """The networks offered for one side: id -> checked."""
    radio = rf'<input class="govuk-radios__input" id="{side}_id[^"]*" name="{side}_id" type="radio"'
    found = re.findall(radio + r' value="([^"]+)"( checked)?', page)
    return {value: bool(checked) for value, checked in found}


def _twin_record(client: TestClient, net: dict[str, Any]) -> str:
    """A second network for Maya, started without her NHS number and said to be a different child: a duplicate."""
    child = {key: value for key, value in START["child"].items() if key != "nhs_number"}
    different = {"detail": "Thought to be a cousin", "reason": "Different school"}
    second = client.post(
        "/api/v1/networks",
        json=START | {"child": child, "different_child": different},
        headers=bearer(net["t"]["teacher"]),
    )
    assert second.status_code == 201, second.text
    return str(second.json()["id"])


def test_the_admin_finds_both_records_of_a_child_picks_them_and_merges(
    client: TestClient, world: World, net: dict[str, Any]
) -> None:
    duplicate = _twin_record(client, net)
    token = _admin_page(client, world)

    found = client.post("/admin/merge", data={"csrf_token": token, "find": "source", **_side("source", MAYA_BY_NAME)})
    assert found.status_code == 200, found.text
    assert _radios(found.text, "source") == {net["id"]: False, duplicate: False}, "both records of Maya, none picked"
    text = html.unescape(found.text)
    assert "Maya Thompson, born 27 March 2017" in text and f"Reference {duplicate[:8]}" in text
    assert "led by Helen Morgan" in text and "Tom Fletcher" in text, "who started and leads each network"
    assert 'value="MAYA"' in found.text, "what was typed is kept"

    by_reference = client.post(
        "/admin/merge",
        data={
            "csrf_token": token,
            "find": "target",
            **_side("source", MAYA_BY_NAME),
            "source_id": duplicate,
            "target_reference": net["id"][:8],
            "reason": "Reported by the school",
        },
    )
    assert by_reference.status_code == 200, by_reference.text
    assert _radios(by_reference.text, "target") == {net["id"]: True}, "one match is picked for the admin"
    assert _radios(by_reference.text, "source") == {duplicate: True}, "the duplicate chosen before stays chosen"
    assert "Reported by the school" in by_reference.text and 'value="MAYA"' in by_reference.text

    merged = client.post(
        "/admin/merge",
        data={"csrf_token": token, "source_id": duplicate, "target_id": net["id"], "reason": "Reported by the school"},
        follow_redirects=False,
    )
    assert merged.status_code == 303 and merged.headers["location"] == "/admin/merge?notice=networks-merged"
    with world.db.transaction() as session:
        source = session.get(Network, duplicate)
        assert source is not None and source.merged_into_id == net["id"]
        lookups = session.exec(select(AuditEvent).where(AuditEvent.action == "child.searched_by_admin")).all()
    assert len(lookups) == 2, "each look-up is audited"
    assert json.loads(lookups[0].details) == {
        "by": "details",
        "matched": 2,
        "networks": [net["id"], duplicate],
        "purpose": "merge",
    }
    assert lookups[1].network_id == net["id"] and "Maya" not in lookups[0].details + lookups[1].details

    again = client.post("/admin/merge", data={"csrf_token": token, "find": "source", **_side("source", MAYA_BY_NAME)})
    assert _radios(again.text, "source") == {net["id"]: True}, "a merged network is found as the one it went into"


def test_a_look_up_with_mistakes_keeps_what_was_typed_and_says_what_is_wrong_beside_the_field(
    client: TestClient, world: World, net: dict[str, Any]
) -> None:
    token = _admin_page(client, world)
    missing = {"given_name": "Maya", "dob_day": "27", "dob_month": "13", "dob_year": "2017"}
    wrong = client.post("/admin/merge", data={"csrf_token": token, "find": "target", **_side("target", missing)})
    assert wrong.status_code == 422
    assert 'id="target_family_name-error"' in wrong.text and 'href="#target_family_name"' in wrong.text
    assert 'href="#target_date_of_birth"' in wrong.text and 'value="13"' in wrong.text and 'value="Maya"' in wrong.text
    assert "source_family_name-error" not in wrong.text, "the other look-up is not blamed"

    near = MAYA_BY_NAME | {"given_name": "Maia"}
    nothing = client.post("/admin/merge", data={"csrf_token": token, "find": "source", **_side("source", near)})
    assert nothing.status_code == 422
    assert (
        'id="source_family_name-error"' in nothing.text and "No network matches these details exactly" in nothing.text
    )
    assert 'value="Maia"' in nothing.text and _radios(nothing.text, "source") == {}, "a near miss finds nothing"

    unknown = client.post("/admin/merge", data={"csrf_token": token, "find": "source", "source_reference": "0000000z"})
    assert unknown.status_code == 422 and 'id="source_reference-error"' in unknown.text


def test_merging_with_nothing_chosen_says_to_find_each_network(
    client: TestClient, world: World, net: dict[str, Any]
) -> None:
    token = _admin_page(client, world)
    refused = client.post(
        "/admin/merge",
        data={"csrf_token": token, "target_id": net["id"], "reason": "", **_side("source", MAYA_BY_NAME)},
    )
    assert refused.status_code == 422
    text = html.unescape(refused.text)
    assert 'id="source_id-error"' in refused.text and "Find the duplicate network and choose it" in text
    assert 'id="reason-error"' in refused.text and 'value="thompson"' in refused.text
    assert _radios(refused.text, "target") == {net["id"]: True}
    same = client.post(
        "/admin/merge", data={"csrf_token": token, "source_id": net["id"], "target_id": net["id"], "reason": "x"}
    )
    assert (
        same.status_code == 422 and "Choose two different networks" in same.text and 'id="target_id-error"' in same.text
    )


def test_only_a_system_admin_looks_networks_up(client: TestClient, world: World, net: dict[str, Any]) -> None:
    assert (
        client.post(
            "/sign-in",
            data={"csrf_token": page_token(client), "email": "nurse@health.example.org", "password": PASSWORD},
            follow_redirects=False,
        ).status_code
        == 303
    )
    token = page_token(client, "/")
    refused = client.post(
        "/admin/merge",
        data={"csrf_token": token, "find": "source", **_side("source", MAYA_BY_NAME)},
        follow_redirects=False,
    )
    assert refused.status_code == 404 and "Tom Fletcher" not in refused.text and "Maya" not in refused.text
    assert client.get("/admin/merge", follow_redirects=False).status_code == 404
    with world.db.transaction() as session:
        assert session.exec(select(AuditEvent).where(AuditEvent.action == "child.searched_by_admin")).first() is None


def test_look_ups_are_rate_limited_like_searches(client: TestClient, world: World, net: dict[str, Any]) -> None:
    admin = world.account("root@example.org", kind=AccountKind.admin, name="Root Admin")
    actor = policy.Actor(account_id=admin.id, kind=admin.kind, organisation_id=None, is_org_admin=False)
    keys = keyring_for(world.settings)

    def look_up(raw: dict[str, str]) -> int:
        with world.db.transaction() as session:
            found = admin_search.find_networks(
                session=session, keys=keys, actor=actor, raw=raw, purpose="merge", per_hour=2, today=date(2026, 11, 21)
            )
        return len(found)

    assert look_up({"reference": net["id"][:8]}) == 1
    assert look_up(MAYA_BY_NAME | {"given_name": "Maia"}) == 0, "a look-up that finds nothing counts too"
    with pytest.raises(TooManyRequests):
        look_up({"reference": net["id"][:8]})
