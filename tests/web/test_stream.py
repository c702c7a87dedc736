"""The JSON event stream: live delivery per viewer, resume from cursors, removals, and bad frames."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from patchwork.app import create_app
from tests.conftest import PASSWORD
from tests.helpers import api_token, bearer
from tests.web.test_notes_api import NOTE


class Listener:
    """Reads a test websocket in a thread so a test can wait for a frame with a timeout."""

    def __init__(self, socket: Any) -> None:
        self.socket = socket
        self.frames: queue.Queue[dict[str, Any] | Exception] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                self.frames.put(self.socket.receive_json())
            except Exception as error:  # the socket closed: hand the reason to the test
                self.frames.put(error)
                return

    def next(self, seconds: float = 5.0, *, skip_heartbeats: bool = True) -> dict[str, Any]:
        while True:
            frame = self.frames.get(timeout=seconds)
            if isinstance(frame, Exception):
                raise frame
            if not (skip_heartbeats and frame.get("type") == "heartbeat"):
                return frame

    def nothing_for(self, seconds: float) -> bool:
        try:
            frame = self.frames.get(timeout=seconds)
        except queue.Empty:
            return True
        return isinstance(frame, dict) and frame.get("type") == "heartbeat"


@contextmanager
def streaming(client: TestClient, token: str) -> Iterator[Listener]:
    with client.websocket_connect("/api/v1/stream", headers=bearer(token)) as socket:
        yield Listener(socket)


def test_a_note_reaches_exactly_the_members_who_may_see_it(client: TestClient, net: dict) -> None:  # type: ignore[type-arg]
    t, url = net["t"], f"/api/v1/networks/{net['id']}/notes"
    with streaming(client, t["teacher"]) as teacher, streaming(client, t["officer"]) as officer:
        lead_only = client.post(url, json=NOTE | {"audience": {"kind": "lead"}}, headers=bearer(t["nurse"])).json()
        everyone = client.post(url, json=NOTE, headers=bearer(t["nurse"])).json()
        for listener in (teacher, officer):
            frame = listener.next()
            assert frame["type"] == "note.created" and frame["network_id"] == net["id"]
            assert frame["data"]["note_id"] == everyone["id"] and frame["cursor"]
            assert set(frame["data"]) == {"note_id", "note"} and frame["data"]["note"]["body"] == NOTE["body"]
        assert lead_only["id"] not in str(teacher.frames.queue) + str(officer.frames.queue)


def test_resume_sends_what_was_missed_in_order_once(client: TestClient, net: dict) -> None:  # type: ignore[type-arg]
    t, url = net["t"], f"/api/v1/networks/{net['id']}/notes"
    start = client.get(f"/api/v1/networks/{net['id']}/events", headers=bearer(t["officer"])).json()["cursor"]
    posted = [
        client.post(url, json=NOTE | {"body": f"n{n}"}, headers=bearer(t["teacher"])).json()["id"] for n in range(3)
    ]
    with streaming(client, t["officer"]) as officer:
        officer.socket.send_json({"type": "resume", "cursors": {net["id"]: start}})
        got = [officer.next()["data"]["note_id"] for _ in range(3)]
        assert got == posted
        later = client.post(url, json=NOTE | {"body": "live"}, headers=bearer(t["teacher"])).json()["id"]
        assert officer.next()["data"]["note_id"] == later
        assert officer.nothing_for(0.5), "no duplicates after catching up"


def test_notes_posted_before_the_resume_frame_arrives_follow_the_missed_ones(
    client: TestClient, net: dict, settings
) -> None:  # type: ignore[type-arg,no-untyped-def]
    """The race of the report, forced: three notes are committed and announced after the handshake and before
    the server has read the resume frame (each post's answer comes after its delivery to open sockets)."""
    t, url = net["t"], f"/api/v1/networks/{net['id']}/notes"
    start = client.get(f"/api/v1/networks/{net['id']}/events", headers=bearer(t["officer"])).json()["cursor"]

    def post(body: str) -> str:
        return str(client.post(url, json=NOTE | {"body": body}, headers=bearer(t["teacher"])).json()["id"])

    missed = [post(f"missed {n}") for n in range(5)]
    # The notes must be announced before the frame is read, however slow the machine: a long wait for the frame.
    patient = settings.model_copy(update={"stream_resume_wait_seconds": 30.0})
    with TestClient(create_app(patient)) as server, streaming(server, t["officer"]) as officer:
        meanwhile = [
            str(server.post(url, json=NOTE | {"body": f"meanwhile {n}"}, headers=bearer(t["teacher"])).json()["id"])
            for n in range(3)
        ]
        officer.socket.send_json({"type": "resume", "cursors": {net["id"]: start}})
        got = [officer.next()["data"]["note_id"] for _ in range(8)]
        assert got == missed + meanwhile, "exactly the missed events, in order, once"
        assert officer.nothing_for(0.5)


def test_a_stream_that_never_resumes_gets_live_events_after_its_wait(client: TestClient, net: dict) -> None:  # type: ignore[type-arg]
    t, url = net["t"], f"/api/v1/networks/{net['id']}/notes"
    with streaming(client, t["officer"]) as officer:
        first = client.post(url, json=NOTE | {"body": "first"}, headers=bearer(t["teacher"])).json()["id"]
        second = client.post(url, json=NOTE | {"body": "second"}, headers=bearer(t["teacher"])).json()["id"]
        assert [officer.next()["data"]["note_id"] for _ in range(2)] == [first, second]
        officer.socket.send_json({"type": "resume", "cursors": {}})
        third = client.post(url, json=NOTE | {"body": "third"}, headers=bearer(t["teacher"])).json()["id"]
        assert officer.next(1.0)["data"]["note_id"] == third
        assert officer.nothing_for(0.3)


def test_an_empty_first_frame_starts_live_delivery_at_once(client: TestClient, net: dict) -> None:  # type: ignore[type-arg]
    t, url = net["t"], f"/api/v1/networks/{net['id']}/notes"
    with streaming(client, t["officer"]) as officer:
        officer.socket.send_json({"type": "resume", "cursors": {}})
        posted = client.post(url, json=NOTE | {"body": "now"}, headers=bearer(t["teacher"])).json()["id"]
        assert officer.next(0.5)["data"]["note_id"] == posted


def test_a_removed_member_receives_nothing_more(client: TestClient, net: dict) -> None:  # type: ignore[type-arg]
    t, url = net["t"], f"/api/v1/networks/{net['id']}/notes"
    officer_involvement = net["members"]["Joe Bennett"]["id"]
    with streaming(client, t["officer"]) as officer:
        client.post(url, json=NOTE | {"body": "before"}, headers=bearer(t["teacher"]))
        assert officer.next()["type"] == "note.created"
        ended = client.delete(
            f"/api/v1/networks/{net['id']}/involvements/{officer_involvement}", headers=bearer(t["nurse"])
        )
        assert ended.status_code == 200
        client.post(url, json=NOTE | {"body": "after"}, headers=bearer(t["teacher"]))
        assert officer.nothing_for(1.0)


def test_signing_out_everywhere_closes_the_stream(client: TestClient, net: dict) -> None:  # type: ignore[type-arg]
    t, url = net["t"], f"/api/v1/networks/{net['id']}/notes"
    with streaming(client, t["officer"]) as officer:
        client.delete("/api/v1/tokens/current", headers=bearer(t["officer"]))
        client.post(url, json=NOTE, headers=bearer(t["teacher"]))
        with pytest.raises(WebSocketDisconnect) as closed:
            officer.next()
        assert closed.value.code == 4403


def test_without_a_token_the_handshake_is_refused(client: TestClient) -> None:
    with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect("/api/v1/stream") as socket:
        socket.receive_json()
    assert refused.value.code == 4401
    with (
        pytest.raises(WebSocketDisconnect),
        client.websocket_connect("/api/v1/stream", headers=bearer("pw_forged")) as socket,
    ):
        socket.receive_json()


def test_bad_frames_get_errors_and_nothing_else_changes(client: TestClient, net: dict) -> None:  # type: ignore[type-arg]
    t = net["t"]
    other = client.post(
        "/api/v1/networks",
        json={
            "child": {"given_name": "Sam", "family_name": "Jones", "date_of_birth": "2016-05-05"},
            "role_label": "N",
            "reason": "x",
        },
        headers=bearer(t["teacher"]),
    ).json()
    with streaming(client, t["officer"]) as officer:
        officer.socket.send_text("{not json")
        assert officer.next()["code"] == "malformed_json"
        officer.socket.send_json({"type": "subscribe"})
        assert officer.next()["code"] == "unknown_type"
        officer.socket.send_json({"type": "resume", "cursors": {other["id"]: None}})
        assert officer.next()["code"] == "not_found", "a network the viewer may not see is not found"
        officer.socket.send_json({"type": "resume", "cursors": {net["id"]: "forged-cursor"}})
        assert officer.next()["code"] == "invalid_cursor"
        client.post(f"/api/v1/networks/{net['id']}/notes", json=NOTE, headers=bearer(t["teacher"]))
        assert officer.next()["type"] == "note.created", "the stream still works"
        officer.socket.send_text("x" * 70_000)
        with pytest.raises(WebSocketDisconnect) as closed:
            officer.next()
        assert closed.value.code == 1009


def test_delivery_through_redis(settings, world) -> None:  # type: ignore[no-untyped-def]
    """Two apps share the database and Redis, as two processes would: a note posted on one reaches the other."""
    import os
    import secrets

    from patchwork.app import create_app
    from tests.conftest import make_settings
    from tests.web.test_networks import START, _people, _tokens

    redis_url = os.environ.get("PATCHWORK_TEST_REDIS_URL")
    if not redis_url:
        if os.environ.get("CI"):
            pytest.fail("CI must run the Redis tests: set PATCHWORK_TEST_REDIS_URL")
        pytest.skip("Redis tests need PATCHWORK_TEST_REDIS_URL")
    shared = make_settings(settings.database_url, redis_url=redis_url, redis_prefix="pw-test-" + secrets.token_hex(4))
    _people(world)
    with TestClient(create_app(shared)) as first, TestClient(create_app(shared)) as second:
        t = _tokens(first)
        network = first.post("/api/v1/networks", json=START, headers=bearer(t["nurse"])).json()
        first.post(
            f"/api/v1/networks/{network['id']}/involvements",
            json={"role_label": "T", "reason": "x"},
            headers=bearer(t["teacher"]),
        )
        with streaming(second, t["teacher"]) as teacher:
            note = first.post(f"/api/v1/networks/{network['id']}/notes", json=NOTE, headers=bearer(t["nurse"])).json()
            frame = teacher.next()
            assert frame["type"] == "note.created" and frame["data"]["note_id"] == note["id"]


def test_future_and_borrowed_cursors_are_refused(client: TestClient, net: dict, settings) -> None:  # type: ignore[no-untyped-def,type-arg]
    from patchwork.runtime import keyring_for

    t = net["t"]
    other = client.post(
        "/api/v1/networks",
        json={
            "child": {"given_name": "Ria", "family_name": "Moss", "date_of_birth": "2015-02-02"},
            "role_label": "N",
            "reason": "x",
        },
        headers=bearer(t["officer"]),
    ).json()
    cursors = keyring_for(settings).cursors
    with streaming(client, t["officer"]) as officer:
        officer.socket.send_json({"type": "resume", "cursors": {net["id"]: cursors.seal(net["id"], 10_000)}})
        assert officer.next()["code"] == "invalid_cursor", "a cursor from the future"
        officer.socket.send_json({"type": "resume", "cursors": {net["id"]: cursors.seal(other["id"], 0)}})
        assert officer.next()["code"] == "invalid_cursor", "another network's cursor"
        client.post(f"/api/v1/networks/{net['id']}/notes", json=NOTE, headers=bearer(t["teacher"]))
        assert officer.next()["type"] == "note.created", "the stream still works"


def test_an_expired_token_cannot_open_the_stream(client: TestClient, net: dict, world) -> None:  # type: ignore[no-untyped-def,type-arg]
    from sqlalchemy import update

    from patchwork.clock import utcnow
    from patchwork.models import ApiToken

    # A token not used yet: one in use may be held for a few seconds (auth.token_cache), and only a change made
    # through the app (revoking, signing out) reaches what is held; an edit straight into the table does not.
    token = api_token(client, "officer@police.example.org", PASSWORD)
    with world.db.transaction() as session:
        session.execute(update(ApiToken).values(expires_at=utcnow()))
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        client.websocket_connect("/api/v1/stream", headers=bearer(token)) as socket,
    ):
        socket.receive_json()
    assert refused.value.code == 4401


def test_a_client_that_falls_a_whole_queue_behind_is_told_to_resume_and_closed(
    client: TestClient,
    net: dict,  # type: ignore[type-arg]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from patchwork.realtime import Subscriber

    monkeypatch.setattr(Subscriber, "queue_size", 2)
    t, url = net["t"], f"/api/v1/networks/{net['id']}/notes"
    start = client.get(f"/api/v1/networks/{net['id']}/events", headers=bearer(t["officer"])).json()["cursor"]
    for n in range(4):
        client.post(url, json=NOTE | {"body": f"pile {n}"}, headers=bearer(t["teacher"]))
    with streaming(client, t["officer"]) as officer:
        officer.socket.send_json({"type": "resume", "cursors": {net["id"]: start}})
        with pytest.raises(WebSocketDisconnect) as closed:
            while True:
                officer.next()
        assert closed.value.code == 4408


def test_an_idle_stream_hears_heartbeats_and_keeps_its_sign_in_checked(
    client: TestClient, net: dict, world, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def,type-arg]
    """One task does both: a heartbeat now and then, and the sign-in checked again; an expired token ends it."""
    from sqlalchemy import update

    from patchwork.clock import utcnow
    from patchwork.models import ApiToken
    from patchwork.web import ws

    monkeypatch.setattr(ws, "HEARTBEAT_SECONDS", 0.2)
    monkeypatch.setattr(ws, "CHECK_SECONDS", 0.3)
    with streaming(client, net["t"]["officer"]) as officer:
        assert officer.next(2.0, skip_heartbeats=False) == {"type": "heartbeat"}
        assert officer.next(2.0, skip_heartbeats=False) == {"type": "heartbeat"}
        # An expiry rings no doorbell: only the periodic check can notice it.
        with world.db.transaction() as session:
            session.execute(update(ApiToken).values(expires_at=utcnow()))
        with pytest.raises(WebSocketDisconnect) as closed:
            while True:
                officer.next(3.0)
        assert closed.value.code == 4403
