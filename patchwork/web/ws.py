"""Live connections: what the JSON stream at /api/v1/stream and the pages' HTML socket share, and the JSON stream.

A connection subscribes to the hub first, then takes its snapshot (the heads of the networks it follows), then
drains: so no event can fall in the gap. Its queue is bounded; a client that cannot keep up is closed and resumes
from its last cursor. Credentials are checked again whenever the account's doorbell rings and every few minutes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from sqlmodel import Session
from starlette.websockets import WebSocket, WebSocketDisconnect

from patchwork import jsontext, outbox, policy
from patchwork.auth.sessions import still_signed_in
from patchwork.errors import DomainError
from patchwork.events import NOTE_EVENTS, Batch, Fact
from patchwork.realtime import SIGNED_OUT, TOO_SLOW, Carry, Ended, Subscriber
from patchwork.runtime import Runtime
from patchwork.services import notes, stream
from patchwork.services.notes.carried import Carried
from patchwork.web.api.convert import note_out
from patchwork.web.viewer import Viewer

log = logging.getLogger("patchwork.stream")
HEARTBEAT_SECONDS = 20.0
CHECK_SECONDS = 120.0
SEND_SECONDS = 10.0
MAX_FRAME = 64 * 1024
MAX_NETWORKS = 500
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_TOO_BIG = 1009


class Live:
    """One open socket: a hub subscriber, a writer draining its queue, a reader for the client's frames."""

    def __init__(self, websocket: WebSocket, runtime: Runtime, viewer: Viewer, subscriber: Subscriber) -> None:
        self.websocket = websocket
        self.runtime = runtime
        self.viewer = viewer
        self.subscriber = subscriber
        self._sending_since: float | None = None

    async def run(self) -> None:
        """Subscribe, take the snapshot, and only then accept: once the handshake is done, nothing is missed."""
        hub = self.runtime.hub
        hub.add(self.subscriber)
        try:
            await self.start()
            await self.websocket.accept()
            tasks = [
                asyncio.create_task(self._write()),
                asyncio.create_task(self._read()),
                asyncio.create_task(self._guard()),
            ]
            done, waiting = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in waiting:
                task.cancel()
            for task in (*done, *waiting):
                with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect):
                    try:
                        await task
                    except Exception as error:  # the client went away mid-send: nothing to tell it
                        log.info("stream.closed", extra={"reason": type(error).__name__})
            ended = self.subscriber.ended
            if ended is not None:
                log.info("stream.ended", extra={"account_id": self.viewer.account.id, "code": ended.code})
                with contextlib.suppress(Exception):
                    await self.websocket.close(self.close_code(ended), ended.reason)
        finally:
            hub.remove(self.subscriber)

    def close_code(self, ended: Ended) -> int:
        return ended.code

    async def start(self) -> None:
        """Follow what this connection follows from the start (called after subscribing)."""

    async def handle(self, raw: str) -> None:
        """A frame from the client."""

    async def render(self, fact: Fact) -> str | None:
        """The text to send for a visible event that was queued as a Fact."""
        return None

    async def carried(self, item: Carry) -> str | None:
        """The text to send for a visible note event queued with its batch's notes (see ApiSubscriber)."""
        return None

    async def send_text(self, text: str) -> None:
        self._sending_since = asyncio.get_running_loop().time()
        await self.websocket.send_text(text)
        self._sending_since = None

    async def send_json(self, message: dict[str, Any]) -> None:
        await self.send_text(json.dumps(message, separators=(",", ":")))

    async def _write(self) -> None:
        queue = self.subscriber.queue  # an ended subscriber's writer is cancelled when _guard returns
        while True:
            item = queue.get_nowait() if not queue.empty() else await queue.get()
            if isinstance(item, str):
                text: str | None = item
            elif isinstance(item, Fact):
                text = await self.render(item)
            else:
                text = await self.carried(item)
            if text is not None:
                await self.send_text(text)

    async def _read(self) -> None:
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            raw = message.get("text") or (message.get("bytes") or b"").decode("utf-8", "replace")
            if len(raw) > MAX_FRAME:
                self.subscriber.end(Ended(CLOSE_TOO_BIG, "Frame too large"))
                return
            await self.handle(raw)

    def heartbeat(self) -> str:
        return '{"type":"heartbeat"}'

    async def _guard(self) -> None:
        """One task for what a connection does now and then (a task less per socket, for many idle ones): a
        heartbeat every HEARTBEAT_SECONDS, ending a connection whose last send has hung (its reader gone); the
        sign-in checked again whenever the account's doorbell rings and every CHECK_SECONDS."""
        subscriber = self.subscriber
        loop = asyncio.get_running_loop()
        next_heartbeat = loop.time() + HEARTBEAT_SECONDS
        next_check = loop.time() + CHECK_SECONDS
        while subscriber.ended is None:
            rang = False
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout_at(min(next_heartbeat, next_check)):  # no task of its own, as wait_for
                    await subscriber.recheck.wait()
                rang = True
            subscriber.recheck.clear()
            now = loop.time()
            if now >= next_heartbeat:
                next_heartbeat = now + HEARTBEAT_SECONDS
                since = self._sending_since
                if since is not None and now - since > SEND_SECONDS:
                    subscriber.end(TOO_SLOW)
                    break
                subscriber.put(self.heartbeat())
            due = now >= next_check
            if due:
                next_check = now + CHECK_SECONDS
            if not (rang or due) or subscriber.ended is not None:
                continue
            if not await self._still_signed_in():
                subscriber.end(SIGNED_OUT)
            elif rang:
                await self.account_rang()
        await subscriber.ending.wait()

    async def account_rang(self) -> None:
        """The account's doorbell rang and its sign-in still holds: something about this person changed."""

    async def _still_signed_in(self) -> bool:
        viewer = self.viewer
        return await self.runtime.db.run(
            lambda session: still_signed_in(
                session=session, account_id=viewer.account.id, session_id=viewer.session_id, token_id=viewer.token_id
            )
        )

    async def position(self, network_id: str, cursor: str | None) -> tuple[str, int, int]:
        """Where a resume cursor points in a network the viewer may see: (network id, sequence, head).
        Raises NotFound for a network the viewer may not see and InvalidCursor for a bad cursor."""
        rt = self.runtime
        account = self.viewer.account

        def find(session: Session) -> tuple[str, int, int]:
            place = notes.standing(session=session, account=account, network_id=network_id)
            head = outbox.head(session=session, network_id=place.network.id)
            seq = stream.open_cursor(rt.keys, cursor, network_id=place.network.id, head=head)
            return place.network.id, seq, head

        return await rt.db.run(find)


def carried_frame(item: Carry, shown: Carried) -> str | None:
    """A note event's frame with `data.note` as the item's viewer is shown the note now, or None when they may no
    longer see it. One frame per event and Seeing, shared by every connection of the batch."""
    fact = item.fact
    found = shown.seen_by(item.viewer, fact.note_id or "", history_rule=item.history_rule)
    if found is None:
        return None
    seen, view = found
    text = item.notes.made.get((fact.seq, seen))
    if text is None:
        frame = fact.as_json()
        frame["data"] = {**fact.public_data(), "note": note_out(view).model_dump(mode="json")}
        text = item.notes.made[(fact.seq, seen)] = json.dumps(frame, separators=(",", ":"))
    return text


class ApiSubscriber(Subscriber):
    """The JSON stream's subscriber: a note event goes out carrying the note as its viewer is shown it."""

    carries_notes = True

    def encode(self, batch: Batch, fact: Fact, viewer: policy.NoteViewer) -> Fact | Carry | str:
        if fact.type in NOTE_EVENTS and fact.note_id and batch.notes is not None:
            return Carry(fact, batch.notes, viewer, batch.history_rule)
        return batch.frame(fact)


class ApiStream(Live):
    """The JSON stream: every network the account belongs to, from now; `resume` frames go back to a cursor.

    Live events are held until the client's first frame, or PATCHWORK_STREAM_RESUME_WAIT_SECONDS (1) after
    the handshake: a client that resumes at once (as a reconnecting client does) gets what it missed, then what
    happened meanwhile, in order and once, however the frame and new events cross on the wire."""

    async def start(self) -> None:
        account = self.viewer.account

        def heads(session: Session) -> dict[str, int]:
            mine = stream.followed_networks(session=session, account=account)
            return {network_id: outbox.head(session=session, network_id=network_id) for network_id in mine}

        hub = self.runtime.hub
        hub.hold(self.subscriber)
        for network_id, head in (await self.runtime.db.run(heads)).items():
            hub.follow(self.subscriber, network_id, head)
        wait = self.runtime.settings.stream_resume_wait_seconds
        asyncio.get_running_loop().call_later(wait, hub.release, self.subscriber)

    async def carried(self, item: Carry) -> str | None:
        """The event with `data.note`: the same JSON as GET .../notes gives this viewer, decided by the policy now
        (a note this viewer may no longer see is not sent). Viewers shown a note alike share one frame. The first
        note a person is sent of a network each day is recorded as a read of the notes ("notes.viewed", view stream)."""
        text = carried_frame(item, item.notes.material)
        if text is None:
            return None
        await self._record_read(item.fact.network_id)
        return text

    async def _record_read(self, network_id: str) -> None:
        rt, account_id = self.runtime, self.viewer.account.id
        reads = rt.stream_reads
        if not reads.due(account_id, network_id):
            return
        reads.recorded(account_id, network_id)  # at once: the account's other sockets need not record it too
        try:
            await rt.db.run(
                lambda session: stream.record_read(
                    session=session, keys=rt.keys, account_id=account_id, network_id=network_id
                )
            )
        except BaseException:
            reads.forget(account_id, network_id)
            raise

    async def handle(self, raw: str) -> None:
        try:
            await self._handle(raw)
        finally:
            self.runtime.hub.release(self.subscriber)

    async def _handle(self, raw: str) -> None:
        try:
            frame = jsontext.loads(raw)
        except jsontext.MalformedJson as problem:
            await self._error("malformed_json", f"Frames must be JSON objects: {problem}")
            return
        if not isinstance(frame, dict) or frame.get("type") != "resume":
            await self._error("unknown_type", 'Send {"type": "resume", "cursors": {...}}')
            return
        cursors = frame.get("cursors")
        if not isinstance(cursors, dict) or len(cursors) > MAX_NETWORKS:
            await self._error("invalid", "`cursors` maps network ids to cursors")
            return
        for network_id, cursor in cursors.items():
            try:
                found, seq, _ = await self.position(str(network_id), cursor if isinstance(cursor, str) else None)
            except DomainError as problem:
                await self._error(problem.code, problem.message, network_id=str(network_id))
                continue
            self.runtime.hub.follow(self.subscriber, found, seq)

    async def _error(self, code: str, message: str, **more: str) -> None:
        self.subscriber.put(json.dumps({"type": "error", "code": code, "message": message, **more}))


async def api_stream(websocket: WebSocket) -> None:
    viewer: Viewer | None = websocket.scope["state"].get("viewer")
    if viewer is None:
        await websocket.close(CLOSE_UNAUTHENTICATED, "Send a valid bearer token in the Authorization header")
        return
    if viewer.second_factor_missing:
        await websocket.close(CLOSE_FORBIDDEN, "Set up two-step verification first")
        return
    runtime: Runtime = websocket.scope["state"]["runtime"]
    await ApiStream(websocket, runtime, viewer, ApiSubscriber(viewer.account.id)).run()
