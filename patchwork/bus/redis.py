"""The Redis broker: facts published on prefixed channels reach every server process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis


class RedisBroker:
    def __init__(self, url: str, *, prefix: str = "patchwork") -> None:
        self._url = url
        self._prefix = prefix
        self._client: aioredis.Redis | None = None

    @property
    def client(self) -> aioredis.Redis:
        if self._client is None:
            raise RuntimeError("RedisBroker.connect() has not been called")
        return self._client

    def _channel(self, channel: str) -> str:
        return f"{self._prefix}:{channel}"

    async def connect(self) -> None:
        self._client = aioredis.Redis.from_url(
            self._url, decode_responses=True, socket_connect_timeout=2, socket_timeout=5, health_check_interval=15
        )

    async def disconnect(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def publish(self, channel: str, message: str) -> None:
        await self.client.publish(self._channel(channel), message)

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[str]]:
        pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(self._channel(channel))
        try:
            yield _messages(pubsub)
        finally:
            await pubsub.unsubscribe()
            await pubsub.aclose()  # type: ignore[no-untyped-call, unused-ignore]  # typed from redis 8.2

    async def ping(self) -> None:
        await self.client.ping()


async def _messages(pubsub: aioredis.client.PubSub) -> AsyncIterator[str]:
    async for message in pubsub.listen():
        if message.get("type") == "message":
            yield str(message["data"])
