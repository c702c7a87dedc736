"""Both brokers deliver what is published to every subscriber of the channel, and answer ping."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator

import pytest

from patchwork.bus import Broker, broker_for

REDIS_URL = os.environ.get("PATCHWORK_TEST_REDIS_URL")


@pytest.fixture(params=["memory", "redis"])
async def broker(request: pytest.FixtureRequest) -> AsyncIterator[Broker]:
    if request.param == "redis" and not REDIS_URL:
        if os.environ.get("CI"):
            pytest.fail("CI must run the Redis tests: set PATCHWORK_TEST_REDIS_URL")
        pytest.skip("Redis tests need PATCHWORK_TEST_REDIS_URL")
    chosen = broker_for(
        REDIS_URL if request.param == "redis" else None, prefix="patchwork-test-" + secrets.token_hex(4)
    )
    await chosen.connect()
    yield chosen
    await chosen.disconnect()


async def test_publish_reaches_every_subscriber_in_order(broker: Broker) -> None:
    await broker.ping()
    async with (
        broker.subscribe("network:1") as first,
        broker.subscribe("network:1") as second,
        broker.subscribe("network:2") as other,
    ):
        await asyncio.sleep(0.05)
        for n in range(5):
            await broker.publish("network:1", f"event {n}")
        await broker.publish("network:2", "elsewhere")
        expected = [f"event {n}" for n in range(5)]
        assert await asyncio.wait_for(_take(first, 5), 5) == expected
        assert await asyncio.wait_for(_take(second, 5), 5) == expected
        assert await asyncio.wait_for(_take(other, 1), 5) == ["elsewhere"]


async def _take(stream: AsyncIterator[str], count: int) -> list[str]:
    got = []
    async for message in stream:
        got.append(message)
        if len(got) == count:
            break
    return got
