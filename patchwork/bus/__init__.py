"""Pub/sub of facts between processes: an in-process broker by default, Redis for several workers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Protocol


class Broker(Protocol):
    async def connect(self) -> None: ...

    async def disconnect(self) -> None: ...

    async def publish(self, channel: str, message: str) -> None: ...

    def subscribe(self, channel: str) -> AbstractAsyncContextManager[AsyncIterator[str]]: ...

    async def ping(self) -> None: ...


def broker_for(redis_url: str | None, *, prefix: str = "patchwork") -> Broker:
    if redis_url:
        from patchwork.bus.redis import RedisBroker

        return RedisBroker(redis_url, prefix=prefix)
    from patchwork.bus.memory import MemoryBroker

    return MemoryBroker()
