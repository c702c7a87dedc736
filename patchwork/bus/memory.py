"""The in-process broker: one bounded queue per subscriber, for a single server process."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Final

QUEUE_LIMIT = 1000


class Overflow(Exception):
    """A subscriber fell too far behind; it must resynchronise from the database."""


class _Ended:
    """What a subscriber's queue is left with when it is not given more: the broker closed, or it overflowed."""

    def __init__(self, overflowed: bool) -> None:
        self.overflowed = overflowed


CLOSED: Final = _Ended(overflowed=False)
OVERFLOWED: Final = _Ended(overflowed=True)


class MemoryBroker:
    def __init__(self) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[str | _Ended]]] = defaultdict(set)

    async def connect(self) -> None:
        return None

    async def disconnect(self) -> None:
        for queues in self._subscribers.values():
            for queue in queues:
                _offer(queue, CLOSED)

    async def publish(self, channel: str, message: str) -> None:
        for queue in list(self._subscribers.get(channel, ())):
            _offer(queue, message)

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[str]]:
        """The messages published on `channel` from now on. They end when the broker is closed; a subscriber that
        falls QUEUE_LIMIT messages behind loses what is queued and gets Overflow instead."""
        queue: asyncio.Queue[str | _Ended] = asyncio.Queue(QUEUE_LIMIT)
        self._subscribers[channel].add(queue)
        try:
            yield _drain(queue)
        finally:
            self._subscribers[channel].discard(queue)
            if not self._subscribers[channel]:
                del self._subscribers[channel]

    async def ping(self) -> None:
        return None


def _offer(queue: asyncio.Queue[str | _Ended], message: str | _Ended) -> None:
    try:
        queue.put_nowait(message)
    except asyncio.QueueFull:
        while not queue.empty():
            queue.get_nowait()
        queue.put_nowait(OVERFLOWED)


async def _drain(queue: asyncio.Queue[str | _Ended]) -> AsyncIterator[str]:
    while True:
        message = await queue.get()
        if isinstance(message, _Ended):
            if message.overflowed:
                raise Overflow(f"More than {QUEUE_LIMIT} messages were waiting")
            return
        yield message
