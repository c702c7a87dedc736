"""The JSON event stream at /api/v1/stream: resume from cursors, then every visible event as it happens.

Each connection keeps, per network it follows, the last sequence number it has sent. A wake from the hub
makes it read what came after from the outbox and send what its viewer may see now, so a membership change
takes effect at once and a lost broker message costs nothing but a little delay.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from sqlmodel import Session
from starlette.websockets import WebSocket, WebSocketDisconnect

from patchwork.clock import utcnow
from patchwork.errors import DomainError, NotFound
from patchwork.models import Account, ApiToken
from patchwork.realtime import Follower
from patchwork.runtime import Runtime
from patchwork.services import events, notes, stream
from patchwork.web.viewer import Viewer

log = logging.getLogger("patchwork.stream")
HEARTBEAT_SECONDS = 20.0
SEND_SECONDS = 10.0
MAX_FRAME = 64 * 1024
MAX_NETWORKS = 500
CLOSE_UNAUTHENTICATED = 4401
CLOSE_ENDED = 4403
CLOSE_TOO_SLOW = 4408
CLOSE_TOO_BIG = 1009


class Connection:
    def __init__(self, websocket: WebSocket, runtime: Runtime, viewer: Viewer) -> None:
        self.websocket = websocket
        self.runtime = runtime
        self.viewer = viewer
        self.last: dict[str, int] = {}
        self.pending: set[str] = set()
        self.wakeup = asyncio.Event()
        self.follower = Follower(wake=self._wake, follows=lambda network_id: network_id in self.last)

    def _wake(self, network_id: str) -> None:
        self.pending |= set(self.last) if network_id == "*" else {network_id}
        self.wakeup.set()

    async def run(self) -> None:
        hub = self.runtime.hub
        hub.add(self.follower)  # subscribe first, then snapshot: nothing can fall in the gap
        try:
            await self._snapshot()
            tasks = [
                asyncio.create_task(self._deliver()),
                asyncio.create_task(self._receive()),
                asyncio.create_task(self._heartbeat()),
            ]
            done, waiting = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in waiting:
                task.cancel()
            for task in (*done, *waiting):
                with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                    await task
        finally:
            hub.remove(self.follower)

    async def _snapshot(self) -> None:
        account = self.viewer.account

        def heads(session: Session) -> dict[str, int]:
            mine = stream.followed_networks(session=session, account=account)
            return {network_id: events.head(session=session, network_id=network_id) for network_id in mine}

        self.last = await self.runtime.db.run(heads)

    async def _deliver(self) -> None:
        while True:
            await self.wakeup.wait()
            self.wakeup.clear()
            if not await self._still_allowed():
                await self.websocket.close(CLOSE_ENDED, "The account or token is no longer valid")
                return
            while self.pending:
                network_id = self.pending.pop()
                if network_id in self.last:
                    await self._catch_up(network_id)

    async def _catch_up(self, network_id: str) -> None:
        rt = self.runtime
        account = self.viewer.account
        while True:
            after = self.last[network_id]

            def read(session: Session, after: int = after) -> stream.CatchUp | None:
                try:
                    place = notes.standing(session=session, account=account, network_id=network_id)
                except NotFound:
                    return None
                return stream.catch_up_from(session=session, keys=rt.keys, place=place, after=after)

            page = await rt.db.run(read)
            if page is None:  # no longer a member: stop following, send nothing more
                self.last.pop(network_id, None)
                return
            for outgoing in page.events:
                await self._send(outgoing.as_json())
            self.last[network_id] = page.seq
            if not page.more:
                return

    async def _send(self, message: dict[str, Any]) -> None:
        try:
            await asyncio.wait_for(self.websocket.send_json(message), SEND_SECONDS)
        except TimeoutError:
            log.info("stream.too_slow", extra={"account_id": self.viewer.account.id})
            with contextlib.suppress(Exception):
                await self.websocket.close(CLOSE_TOO_SLOW, "Too slow: resume from your last cursor")
            raise WebSocketDisconnect(CLOSE_TOO_SLOW) from None

    async def _still_allowed(self) -> bool:
        token_id = self.viewer.token_id
        if token_id is None:
            return True
        account_id = self.viewer.account.id

        def check(session: Session) -> bool:
            account = session.get(Account, account_id)
            return account is not None and account.is_active and _token_alive(session, token_id)

        return await self.runtime.db.run(check)

    async def _receive(self) -> None:
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            raw = message.get("text") or (message.get("bytes") or b"").decode("utf-8", "replace")
            if len(raw) > MAX_FRAME:
                await self.websocket.close(CLOSE_TOO_BIG, "Frame too large")
                return
            await self._handle(raw)

    async def _handle(self, raw: str) -> None:
        try:
            frame = json.loads(raw)
        except ValueError:
            await self._send({"type": "error", "code": "malformed_json", "message": "Frames must be JSON objects"})
            return
        if not isinstance(frame, dict) or frame.get("type") != "resume":
            await self._send({"type": "error", "code": "unknown_type", "message": 'Send {"type": "resume", ...}'})
            return
        cursors = frame.get("cursors")
        if not isinstance(cursors, dict) or len(cursors) > MAX_NETWORKS:
            await self._send({"type": "error", "code": "invalid", "message": "`cursors` maps network ids to cursors"})
            return
        for network_id, cursor in cursors.items():
            await self._resume(str(network_id), cursor if isinstance(cursor, str) else None)

    async def _resume(self, network_id: str, cursor: str | None) -> None:
        rt = self.runtime
        account = self.viewer.account

        def position(session: Session) -> int:
            place = notes.standing(session=session, account=account, network_id=network_id)
            head = events.head(session=session, network_id=place.network.id)
            return stream.open_cursor(rt.keys, cursor, network_id=place.network.id, head=head)

        try:
            self.last[network_id] = await rt.db.run(position)
        except DomainError as problem:
            await self._send(
                {"type": "error", "code": problem.code, "message": problem.message, "network_id": network_id}
            )
            return
        self._wake(network_id)

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            await self._send({"type": "heartbeat"})


def _token_alive(session: Session, token_id: str) -> bool:
    token = session.get(ApiToken, token_id)
    return token is not None and token.revoked_at is None and token.expires_at > utcnow()


async def api_stream(websocket: WebSocket) -> None:
    viewer: Viewer | None = websocket.scope["state"].get("viewer")
    if viewer is None:
        await websocket.close(CLOSE_UNAUTHENTICATED, "Send a valid bearer token in the Authorization header")
        return
    await websocket.accept()
    await Connection(websocket, websocket.scope["state"]["runtime"], viewer).run()
