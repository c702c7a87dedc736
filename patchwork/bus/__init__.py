"""Pub/sub of facts between processes: an in-process broker by default, Redis for several workers. The backend is
chosen by the URL's scheme and imported only when chosen (redis-py is not loaded for the in-process broker)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Protocol
from urllib.parse import urlsplit


class Broker(Protocol):
    async def connect(self) -> None: ...

    async def disconnect(self) -> None: ...

    async def publish(self, channel: str, message: str) -> None: ...

    def subscribe(self, channel: str) -> AbstractAsyncContextManager[AsyncIterator[str]]: ...

    async def ping(self) -> None: ...


class UnknownBroker(ValueError):
    """The broker URL's scheme names no backend."""


def _memory(url: str, prefix: str) -> Broker:
    from patchwork.bus.memory import MemoryBroker

    return MemoryBroker()


def _redis(url: str, prefix: str) -> Broker:
    from patchwork.bus.redis import RedisBroker

    return RedisBroker(url, prefix=prefix)


# unix:// is redis-py's URL for a Redis server on a local socket.
BACKENDS: dict[str, Callable[[str, str], Broker]] = {
    "memory": _memory,
    "redis": _redis,
    "rediss": _redis,
    "unix": _redis,
}


def broker_for(url: str | None, *, prefix: str = "patchwork") -> Broker:
    """The broker for `url`: memory:// (or no URL) in this process; redis://, rediss:// or unix:// a Redis server."""
    scheme = urlsplit(url).scheme.lower() if url else "memory"
    backend = BACKENDS.get(scheme)
    if backend is None:
        what = f"{scheme}:// URLs" if scheme else "a URL without a scheme"
        raise UnknownBroker(f"No broker for {what}: use " + ", ".join(f"{name}://" for name in BACKENDS))
    return backend(url or "memory://", prefix)


def reaches_other_processes(url: str | None) -> bool:
    """Whether the broker for `url` carries messages between processes (an in-process broker does not)."""
    scheme = urlsplit(url).scheme.lower() if url else "memory"
    return BACKENDS.get(scheme, _memory) is not _memory
