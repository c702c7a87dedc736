"""Live delivery in one process: the hub hears which networks changed (from the broker) and wakes the
connections that follow them; each connection then reads what it missed from the outbox and checks the
policy for its own viewer at delivery time. The broker only carries network ids; the database is the record.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from patchwork.bus import Broker

log = logging.getLogger("patchwork.realtime")
CHANNEL = "network-events"
RESTART_SECONDS = 1.0


class Follower:
    """Something woken when a network it follows has new events (a websocket connection, say)."""

    def __init__(self, wake: Callable[[str], None], follows: Callable[[str], bool]) -> None:
        self.wake = wake
        self.follows = follows


class Hub:
    def __init__(self, broker: Broker) -> None:
        self._broker = broker
        self._followers: set[Follower] = set()
        self._task: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()

    @property
    def healthy(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        self._task = asyncio.create_task(self._supervise(), name="patchwork-hub")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def add(self, follower: Follower) -> None:
        self._followers.add(follower)

    def remove(self, follower: Follower) -> None:
        self._followers.discard(follower)

    async def ring(self, networks: set[str]) -> None:
        """Called after a commit: tell every process (this one included) which networks changed."""
        for network_id in networks:
            try:
                await self._broker.publish(CHANNEL, network_id)
            except Exception:  # the outbox has the events; followers catch up on their next wake or resume
                log.warning("realtime.publish_failed", extra={"network_id": network_id}, exc_info=True)

    def _wake(self, network_id: str) -> None:
        for follower in list(self._followers):
            if follower.follows(network_id):
                follower.wake(network_id)

    async def _supervise(self) -> None:
        while True:
            try:
                await self._listen()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("realtime.listener_failed")
            self.listening.clear()
            # Whatever was published while the listener was down is in the outbox: wake everyone to look.
            for follower in list(self._followers):
                follower.wake("*")
            await asyncio.sleep(RESTART_SECONDS)

    async def _listen(self) -> None:
        async with self._broker.subscribe(CHANNEL) as messages:
            self.listening.set()
            async for network_id in messages:
                self._wake(network_id)
