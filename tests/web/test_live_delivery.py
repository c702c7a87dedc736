"""Live delivery from what a commit announces: the facts announced are the facts stored, an announced note reaches
open sockets without the outbox being read again, and every change of standing still takes effect on open sockets
at once, because it is itself an event that is read back in order."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.testclient import TestClient

from patchwork.db import Rung
from patchwork.events import NOTE_EVENTS, Announced, announcement_message
from patchwork.runtime import Runtime
from patchwork.services.visibility import facts_of_many
from tests.conftest import World
from tests.helpers import bearer
from tests.web.test_notes_api import NOTE, late_comer
from tests.web.test_query_counts import counting
from tests.web.test_stream import streaming


def _runtime(client: TestClient) -> Runtime:
    runtime: Runtime = client.app_state["runtime"]
    return runtime


def _announcements(client: TestClient) -> list[Announced]:
    """Every announcement the app's commits make from now on, as the broker carries it (and still delivered)."""
    runtime = _runtime(client)
    forward: Callable[[Rung], Awaitable[None]] | None = runtime.db.on_commit
    assert forward is not None
    heard: list[Announced] = []

    async def record(rung: Rung) -> None:
        for doorbell, events in rung.items():
            announced = Announced.decode(announcement_message(doorbell, events)) if events else None
            if announced is not None:
                heard.append(announced)
        await forward(rung)

    runtime.db.on_commit = record
    return heard


def _outbox_reads(statements: list[str]) -> list[str]:
    return [s for s in statements if s.lstrip().upper().startswith("SELECT") and "FROM network_event" in s]


def test_every_announced_note_event_carries_the_facts_stored_for_its_note(client: TestClient, net: dict) -> None:  # type: ignore[type-arg]
    t, url = net["t"], f"/api/v1/networks/{net['id']}/notes"
    heard = _announcements(client)
    police = net["members"]["Joe Bennett"]["organisation"]["id"]
    officer = net["members"]["Joe Bennett"]["user_id"]
    bodies: list[dict[str, Any]] = [
        NOTE,
        NOTE | {"audience": {"kind": "lead"}},
        NOTE | {"audience": {"kind": "organisations", "organisation_ids": [police]}},
        NOTE | {"audience": {"kind": "people", "user_ids": [officer]}},
    ]
    posted = [client.post(url, json=body, headers=bearer(t["teacher"])).json()["id"] for body in bodies]
    first = f"/api/v1/notes/{posted[0]}"
    assert client.post(f"{first}/revisions", json={"body": "revised"}, headers=bearer(t["teacher"])).status_code == 201
    assert client.post(f"{first}/replies", json={"body": "a reply"}, headers=bearer(t["officer"])).status_code == 201
    assert client.post(f"{first}/acknowledgements", headers=bearer(t["officer"])).status_code == 201
    assert client.post(f"{first}/redaction", json={"reason": "wrong"}, headers=bearer(t["teacher"])).status_code == 201

    note_events = [event for a in heard for event in a.events if event[1] in NOTE_EVENTS]
    assert [e[1] for e in note_events] == ["note.created"] * 4 + [
        "note.revised",
        "note.replied",
        "note.acknowledged",
        "note.redacted",
    ]
    with _runtime(client).db.transaction() as session:
        stored = facts_of_many(session, set(posted))
    for _seq, _type, data, facts in note_events:
        assert facts == stored[data["note_id"]], _type
    seqs = [e[0] for a in heard for e in a.events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


def test_an_announced_note_reaches_open_sockets_without_reading_the_outbox(client: TestClient, net: dict) -> None:  # type: ignore[type-arg]
    t, url = net["t"], f"/api/v1/networks/{net['id']}/notes"
    with streaming(client, t["officer"]) as officer:
        client.post(url, json=NOTE | {"body": "first"}, headers=bearer(t["teacher"]))
        assert officer.next()["type"] == "note.created"
        with counting() as statements:
            second = client.post(url, json=NOTE | {"body": "second"}, headers=bearer(t["teacher"])).json()
            frame = officer.next()
            assert frame["data"]["note_id"] == second["id"] and frame["data"]["note"]["body"] == "second"
        assert _outbox_reads(statements) == []
        read_back = [s for s in statements if "FROM note " in s.replace("\n", " ") and "note.id IN" in s]
        assert read_back == [], "the note as written goes with its announcement: it is not read back"

        # A change of standing is never taken from the announcement: it is read back, with everyone's standing.
        with counting() as statements:
            ended = client.delete(f"/api/v1/networks/{net['id']}/leads/me", headers=bearer(t["nurse"]))
            assert ended.status_code == 200, ended.text
            assert officer.next()["type"] == "lead.changed"
        assert _outbox_reads(statements) != []


def test_opening_the_history_takes_effect_on_an_open_stream(client: TestClient, world: World, net: dict) -> None:  # type: ignore[type-arg]
    t, url = net["t"], f"/api/v1/networks/{net['id']}/notes"
    earlier = client.post(url, json=NOTE | {"body": "before the newcomer"}, headers=bearer(t["teacher"])).json()
    late, joined = late_comer(client, world, net)
    revise = f"/api/v1/notes/{earlier['id']}/revisions"
    with streaming(client, late) as newcomer:
        client.post(revise, json={"body": "revised before the opening"}, headers=bearer(t["teacher"]))
        marker = client.post(url, json=NOTE | {"body": "marker"}, headers=bearer(t["teacher"])).json()
        assert newcomer.next()["data"]["note_id"] == marker["id"], "the revision of a note from before is not theirs"
        opened = client.post(
            f"/api/v1/networks/{net['id']}/history-openings",
            json={"user_id": joined["user_id"], "reason": "Needs the background"},
            headers=bearer(t["nurse"]),
        )
        assert opened.status_code == 201
        frame = newcomer.next()
        assert frame["type"] == "history.opened" and frame["data"] == {"user_id": joined["user_id"]}
        client.post(revise, json={"body": "revised after the opening"}, headers=bearer(t["teacher"]))
        frame = newcomer.next()
        assert frame["type"] == "note.revised" and frame["data"]["note_id"] == earlier["id"]


def test_becoming_and_ceasing_to_be_lead_takes_effect_on_an_open_stream(client: TestClient, net: dict) -> None:  # type: ignore[type-arg]
    t, url = net["t"], f"/api/v1/networks/{net['id']}/notes"
    leads_only = NOTE | {"audience": {"kind": "lead"}}
    officer = net["members"]["Joe Bennett"]["user_id"]
    with streaming(client, t["officer"]) as stream:
        before = client.post(url, json=leads_only, headers=bearer(t["teacher"])).json()
        marker = client.post(url, json=NOTE, headers=bearer(t["teacher"])).json()
        assert stream.next()["data"]["note_id"] == marker["id"], f"{before['id']} is for leads only"
        appointed = client.post(
            f"/api/v1/networks/{net['id']}/leads", json={"user_id": officer}, headers=bearer(t["nurse"])
        )
        assert appointed.status_code == 201, appointed.text
        assert stream.next()["type"] == "lead.changed"
        as_lead = client.post(url, json=leads_only, headers=bearer(t["teacher"])).json()
        assert stream.next()["data"]["note_id"] == as_lead["id"]
        assert client.delete(f"/api/v1/networks/{net['id']}/leads/me", headers=bearer(t["officer"])).status_code == 200
        assert stream.next()["type"] == "lead.changed"
        client.post(url, json=leads_only, headers=bearer(t["teacher"]))
        marker = client.post(url, json=NOTE, headers=bearer(t["teacher"])).json()
        assert stream.next()["data"]["note_id"] == marker["id"]
