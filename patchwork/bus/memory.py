"""The in-process broker: one bounded queue per subscriber, for a single server process."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

QUEUE_LIMIT = 1000


class Overflow(Exception):
    """A subscriber fell too far behind; it must resynchronise from the database."""


class MemoryBroker:
    def __init__(self) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[str | None]]] = defaultdict(set)

    async def connect(self) -> None:
        return None

    async def disconnect(self) -> None:
        for queues in self._subscribers.values():
            for queue in queues:
                _offer(queue, None)

    async def publish(self, channel: str, message: str) -> None:
        for queue in list(self._subscribers.get(channel, ())):
            _offer(queue, message)

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[str]]:
        queue: asyncio.Queue[str | None] = asyncio.Queue(QUEUE_LIMIT)
        self._subscribers[channel].add(queue)
        try:
            yield _drain(queue)
        finally:
            self._subscribers[channel].discard(queue)
            if not self._subscribers[channel]:
                del self._subscribers[channel]

    async def ping(self) -> None:
        return None


def _offer(queue: asyncio.Queue[str | None], message: str | None) -> None:
    try:
        queue.put_nowait(message)
    except asyncio.QueueFull:
        while not queue.empty():
            queue.get_nowait()
        queue.put_nowait(None)


async def _drain(queue: asyncio.Queue[str | None]) -> AsyncIterator[str]:
    while True:
        message = await queue.get()
        if message is None:
            return
        yield message
