"""The stream and the events endpoint carry each note event's note, as its receiving viewer is shown it: the same
JSON as GET .../notes gives them, decided at delivery, rendered once for viewers who see it alike, and recorded
once per connection as a read of the notes."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlmodel import select
from starlette.testclient import TestClient

from patchwork import policy
from patchwork.models.audit import AuditEvent
from patchwork.runtime import keyring_for
from patchwork.services.notes import carried
from patchwork.services.stream import RecordedReads
from tests.conftest import World
from tests.helpers import bearer
from tests.web.test_notes_api import NOTE
from tests.web.test_stream import streaming


def _as_listed(client: TestClient, network_id: str, token: str, note_id: str) -> dict:  # type: ignore[type-arg]
    listed = client.get(f"/api/v1/networks/{network_id}/notes?limit=100", headers=bearer(token)).json()["notes"]
    return next(n for n in listed if n["id"] == note_id)


def _stream_reads(world: World, network_id: str) -> list[str | None]:
    with world.db.transaction() as session:
        rows = session.exec(
            select(AuditEvent).where(AuditEvent.action == "notes.viewed", AuditEvent.network_id == network_id)
        ).all()
        return [row.actor_id for row in rows if '"stream"' in (row.details or "")]


def test_each_viewer_s_frame_carries_the_note_as_they_are_shown_it(client: TestClient, net: dict, world: World) -> None:  # type: ignore[type-arg]
    t, network_id = net["t"], net["id"]
    url = f"/api/v1/networks/{network_id}/notes"
    with (
        streaming(client, t["nurse"]) as lead,
        streaming(client, t["teacher"]) as author,
        streaming(client, t["officer"]) as member,
        streaming(client, t["officer"]) as member_again,
    ):
        listeners = {"nurse": lead, "teacher": author, "officer": member}
        note_id = client.post(url, json=NOTE, headers=bearer(t["teacher"])).json()["id"]
        created = {who: listener.next() for who, listener in listeners.items()}
        for who, frame in created.items():
            assert frame["type"] == "note.created" and frame["data"]["note_id"] == note_id
            assert frame["data"]["note"] == _as_listed(client, network_id, t[who], note_id), who
        assert created["nurse"]["data"]["note"]["acknowledged_by"] == [], "a lead sees who has acknowledged"
        assert created["officer"]["data"]["note"]["acknowledged_by"] is None, "another member does not"
        assert created["teacher"]["data"]["note"]["body"] == NOTE["body"]

        assert client.post(f"/api/v1/notes/{note_id}/acknowledgements", headers=bearer(t["officer"])).status_code == 201
        acknowledged = {who: listener.next() for who, listener in listeners.items()}
        for who, frame in acknowledged.items():
            assert frame["type"] == "note.acknowledged"
            assert frame["data"]["note"] == _as_listed(client, network_id, t[who], note_id), who
        assert acknowledged["officer"]["data"]["note"]["acknowledged_by_me"] is True
        assert acknowledged["teacher"]["data"]["note"]["acknowledged_by"] == ["Joe Bennett"]

        redaction = {"reason": "Wrong child"}
        assert client.post(f"/api/v1/notes/{note_id}/redaction", json=redaction, headers=bearer(t["nurse"])).is_success
        for who, listener in listeners.items():
            frame = listener.next()
            assert frame["type"] == "note.redacted" and frame["data"]["note"]["body"] is None, who
            assert "Wrong child" not in str(frame) and NOTE["body"] not in str(frame), who
        lead_only = client.post(url, json=NOTE | {"audience": {"kind": "lead"}}, headers=bearer(t["teacher"])).json()
        assert lead.next()["data"]["note"]["id"] == lead_only["id"]
        assert author.next()["data"]["note"]["id"] == lead_only["id"]
        assert member.nothing_for(0.5), "a note the member may not see reaches them in no form"
        assert [member_again.next()["type"] for _ in range(3)] == ["note.created", "note.acknowledged", "note.redacted"]
    assert sorted(_stream_reads(world, network_id)) == sorted(
        member["user_id"] for member in net["members"].values()
    ), "a person's first note of the day is one read; later ones, on any socket, add nothing"


def test_the_events_endpoint_carries_each_note_as_it_is_now(client: TestClient, net: dict, world: World) -> None:  # type: ignore[type-arg]
    t, network_id = net["t"], net["id"]
    note_id = client.post(f"/api/v1/networks/{network_id}/notes", json=NOTE, headers=bearer(t["teacher"])).json()["id"]
    client.post(f"/api/v1/notes/{note_id}/replies", json={"body": "Seen at clinic too."}, headers=bearer(t["nurse"]))
    for who in ("nurse", "teacher", "officer"):
        page = client.get(f"/api/v1/networks/{network_id}/events", headers=bearer(t[who])).json()
        carried_notes = [e["data"]["note"] for e in page["events"] if e["type"].startswith("note.")]
        assert [e["type"] for e in page["events"] if e["type"].startswith("note.")] == ["note.created", "note.replied"]
        now = _as_listed(client, network_id, t[who], note_id)
        assert carried_notes == [now, now], who
        assert now["replies"][0]["body"] == "Seen at clinic too."
        assert all("note" not in e["data"] for e in page["events"] if not e["type"].startswith("note."))


def test_a_note_is_rendered_once_for_every_viewer_who_sees_it_alike(
    client: TestClient, world: World, net: dict
) -> None:  # type: ignore[type-arg]
    """A hundred members of two standings (lead or not): two renderings, however many viewers there are."""
    answer = client.post(f"/api/v1/networks/{net['id']}/notes", json=NOTE, headers=bearer(net["t"]["teacher"]))
    note_id = answer.json()["id"]
    with world.db.transaction() as session:
        shown = carried.load(
            session=session, keys=keyring_for(world.settings), network_id=net["id"], notes={note_id: None}
        )
    viewers = [
        policy.NoteViewer(
            account_id=f"member-{n}",
            kind="practitioner",
            member=True,
            organisation_id=f"organisation-{n}",
            joined_at=datetime(2020, 1, 1) + timedelta(minutes=n),
            is_lead=n % 10 == 0,
            history_opened=False,
            family_member=False,
        )
        for n in range(100)
    ]
    found = [shown.seen_by(viewer, note_id, history_rule="full") for viewer in viewers]
    assert all(f is not None and f[1].body == NOTE["body"] for f in found)
    assert {f[1].acknowledged_by is not None for f in found if f} == {True, False}
    assert shown.renderings == 2
    outsider = policy.NoteViewer("x", "practitioner", False, None, None, False, False, False)
    assert shown.seen_by(outsider, note_id, history_rule="full") is None


def test_a_stream_read_is_recorded_again_the_next_day() -> None:
    reads = RecordedReads()
    assert reads.due("someone", "network", date(2026, 12, 3))
    reads.recorded("someone", "network")
    assert not reads.due("someone", "network", date(2026, 12, 3))
    assert reads.due("someone else", "network", date(2026, 12, 3))
    assert reads.due("someone", "network", date(2026, 12, 4)), "a new UK day: recorded again"
