"""A merge loses nothing: every row that belongs to the merged-away network moves to the one it is merged into."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlmodel import SQLModel
from starlette.testclient import TestClient

from patchwork.models.accounts import AccountKind
from tests.conftest import PASSWORD, World
from tests.helpers import api_token, bearer
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
