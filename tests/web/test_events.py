"""The outbox and the catch-up endpoint: gapless sequences inside, opaque cursors outside, only what may be seen."""

from __future__ import annotations

from sqlmodel import col, select
from starlette.testclient import TestClient

from patchwork.models.events import NetworkEvent
from tests.conftest import World
from tests.helpers import bearer
from tests.web.test_notes_api import NOTE


def _events(client: TestClient, network_id: str, token: str, after: str | None = None) -> dict:  # type: ignore[type-arg]
    url = f"/api/v1/networks/{network_id}/events" + (f"?after={after}" if after else "")
    response = client.get(url, headers=bearer(token))
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_changes_write_gapless_events_in_the_same_transaction(client: TestClient, world: World, net: dict) -> None:  # type: ignore[type-arg]
    t = net["t"]
    client.post(f"/api/v1/networks/{net['id']}/notes", json=NOTE, headers=bearer(t["teacher"]))
    refused = client.post(f"/api/v1/networks/{net['id']}/notes", json=NOTE | {"body": ""}, headers=bearer(t["teacher"]))
    assert refused.status_code == 422
    with world.db.transaction() as session:
        rows = session.exec(
            select(NetworkEvent).where(NetworkEvent.network_id == net["id"]).order_by(col(NetworkEvent.seq))
        ).all()
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
    assert [r.type for r in rows][-1] == "note.created"
    assert "Came to school" not in " ".join(r.data for r in rows), "events carry facts, never text"


def test_catch_up_shows_only_what_the_viewer_may_see_with_opaque_cursors(client: TestClient, net: dict) -> None:  # type: ignore[type-arg]
    t, url = net["t"], f"/api/v1/networks/{net['id']}/notes"
    start_teacher = _events(client, net["id"], t["teacher"])
    start_officer = _events(client, net["id"], t["officer"])
    everyone = client.post(url, json=NOTE, headers=bearer(t["teacher"])).json()
    lead_only = client.post(url, json=NOTE | {"audience": {"kind": "lead"}}, headers=bearer(t["teacher"])).json()
    officer = _events(client, net["id"], t["officer"], start_officer["cursor"])
    teacher = _events(client, net["id"], t["teacher"], start_teacher["cursor"])
    assert [(e["type"], e["data"]["note_id"]) for e in officer["events"]] == [("note.created", everyone["id"])]
    assert [e["data"]["note_id"] for e in teacher["events"]] == [everyone["id"], lead_only["id"]]
    assert officer["cursor"] != teacher["cursor"], "cursors are sealed afresh; they reveal nothing"
    assert len({e["cursor"] for e in teacher["events"]}) == 2 and all(len(e["cursor"]) > 40 for e in teacher["events"])
    again = _events(client, net["id"], t["officer"], officer["cursor"])
    assert again["events"] == [], "resuming from the last cursor gives nothing twice"
    resumed = _events(client, net["id"], t["teacher"], teacher["events"][0]["cursor"])
    assert [e["data"]["note_id"] for e in resumed["events"]] == [lead_only["id"]]


def test_bad_cursors_and_outsiders_are_refused(client: TestClient, world: World, net: dict) -> None:  # type: ignore[type-arg]
    t = net["t"]
    for cursor in ("garbage", "A" * 60):
        response = client.get(f"/api/v1/networks/{net['id']}/events?after={cursor}", headers=bearer(t["teacher"]))
        assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_cursor"
    other = client.post(
        "/api/v1/networks",
        json={
            "child": {"given_name": "Sam", "family_name": "Jones", "date_of_birth": "2016-05-05"},
            "role_label": "N",
            "reason": "x",
        },
        headers=bearer(t["teacher"]),
    ).json()
    foreign = _events(client, other["id"], t["teacher"])["cursor"]
    misused = client.get(f"/api/v1/networks/{net['id']}/events?after={foreign}", headers=bearer(t["teacher"]))
    assert misused.status_code == 422
    assert client.get(f"/api/v1/networks/{other['id']}/events", headers=bearer(t["officer"])).status_code == 404
