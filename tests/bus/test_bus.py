"""Both brokers deliver what is published to every subscriber of the channel, and answer ping."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator

import pytest

from patchwork.bus import Broker, UnknownBroker, broker_for, reaches_other_processes
from patchwork.bus.memory import QUEUE_LIMIT, MemoryBroker, Overflow
from patchwork.bus.redis import RedisBroker

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


async def test_closing_the_memory_broker_ends_its_subscriptions() -> None:
    broker = MemoryBroker()
    async with broker.subscribe("network:1") as messages:
        await broker.publish("network:1", "before")
        await broker.disconnect()
        assert [message async for message in messages] == ["before"]


async def test_a_memory_subscriber_that_falls_a_whole_queue_behind_is_told_to_resynchronise() -> None:
    broker = MemoryBroker()
    async with broker.subscribe("network:1") as slow, broker.subscribe("network:1") as keeping_up:
        for n in range(QUEUE_LIMIT):
            await broker.publish("network:1", f"event {n}")
        assert await _take(keeping_up, QUEUE_LIMIT) == [f"event {n}" for n in range(QUEUE_LIMIT)]
        await broker.publish("network:1", "one too many")
        assert await _take(keeping_up, 1) == ["one too many"]
        with pytest.raises(Overflow):
            await _take(slow, 1)  # what was queued is gone: it reads again from the database


@pytest.mark.parametrize(
    ("url", "chosen"),
    [
        (None, MemoryBroker),
        ("", MemoryBroker),
        ("memory://", MemoryBroker),
        ("redis://127.0.0.1:6379/0", RedisBroker),
        ("rediss://user:secret@redis.example:6380/1", RedisBroker),
        ("unix:///run/redis.sock?db=0", RedisBroker),
    ],
)
def test_the_broker_is_chosen_by_the_urls_scheme(url: str | None, chosen: type) -> None:
    assert type(broker_for(url)) is chosen


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("http://user:secret@redis.example/0", "http:// URLs"),
        ("amqp://mq.example", "amqp:// URLs"),
        ("127.0.0.1:6379", "a URL without a scheme"),
    ],
)
def test_an_unknown_scheme_is_refused_by_name_without_echoing_the_url(url: str, named: str) -> None:
    with pytest.raises(UnknownBroker) as refused:
        broker_for(url)
    message = str(refused.value)
    assert named in message and "memory://" in message and "redis://" in message and "rediss://" in message
    assert "secret" not in message and "example" not in message and "6379" not in message


def test_the_redis_backend_is_imported_only_when_chosen() -> None:
    script = (
        "import sys; from patchwork.bus import broker_for; broker_for('memory://'); broker_for(None); "
        "assert 'redis' not in sys.modules and 'patchwork.bus.redis' not in sys.modules, 'redis was imported'; "
        "broker_for('redis://127.0.0.1:6379/0'); assert 'patchwork.bus.redis' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", script], check=True)


@pytest.mark.parametrize(
    ("url", "shared"),
    [(None, False), ("memory://", False), ("redis://127.0.0.1:6379/0", True), ("rediss://h/0", True)],
)
def test_only_a_redis_broker_reaches_other_processes(url: str | None, shared: bool) -> None:
    assert reaches_other_processes(url) is shared
