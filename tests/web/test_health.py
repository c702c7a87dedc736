"""/readyz reports the hub's listener: 503 while it is not listening to the broker, ready again once its
supervisor has subscribed again; 503 for good once the hub has stopped."""

from __future__ import annotations

import os
import secrets
import time

import pytest
from starlette.testclient import TestClient

from patchwork import realtime
from patchwork.app import create_app
from patchwork.settings import Settings
from patchwork.web import health
from tests.conftest import REDIS_URL, make_settings

ALL_OK = {"database": "ok", "broker": "ok", "listener": "ok"}


@pytest.fixture(params=["memory", "redis"])
def redis_url(request: pytest.FixtureRequest) -> str | None:
    if request.param == "memory":
        return None
    if not REDIS_URL:
        if os.environ.get("CI"):
            pytest.fail("CI must run the Redis tests: set PATCHWORK_TEST_REDIS_URL")
        pytest.skip("Redis tests need PATCHWORK_TEST_REDIS_URL")
    return REDIS_URL


def _ready_again(client: TestClient, seconds: float) -> dict[str, object]:
    deadline = time.monotonic() + seconds
    while True:
        response = client.get("/readyz")
        if response.status_code == 200 or time.monotonic() > deadline:
            body: dict[str, object] = response.json()
            return body
        time.sleep(0.1)


def _listener_down(client: TestClient, seconds: float) -> dict[str, object] | None:
    """The first /readyz answer that reports the listener down (a closed Redis client fails the broker's ping a
    moment before the listener hears that its connection has gone)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        response = client.get("/readyz")
        if response.json()["checks"]["listener"] == "unavailable":
            assert response.status_code == 503
            body: dict[str, object] = response.json()
            return body
        time.sleep(0.05)
    return None


def test_readyz_is_503_while_the_listener_is_down_and_ready_once_it_listens_again(
    settings: Settings, redis_url: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(health, "CHECK_SECONDS", 0.5)  # how long /readyz waits for the listener to subscribe
    monkeypatch.setattr(realtime, "RESTART_SECONDS", 3.0)  # how long the supervisor waits before subscribing again
    app = create_app(
        make_settings(settings.database_url, redis_url=redis_url, redis_prefix="patchwork-test-" + secrets.token_hex(4))
    )
    with TestClient(app) as client:
        assert _ready_again(client, 5)["checks"] == ALL_OK
        runtime = client.app_state["runtime"]
        client.portal.call(runtime.broker.disconnect)  # the listener's subscription ends under it

        refused = _listener_down(client, 2.0)
        assert refused is not None, "/readyz did not report the listener down"
        assert refused["status"] == "unavailable"
        assert runtime.hub.healthy, "the supervisor is still running: it subscribes again"

        client.portal.call(runtime.broker.connect)
        assert _ready_again(client, 10)["checks"] == ALL_OK


def test_readyz_is_503_once_the_hub_has_stopped(client: TestClient) -> None:
    assert client.get("/readyz").json()["checks"] == ALL_OK
    runtime = client.app_state["runtime"]
    client.portal.call(runtime.hub.stop)

    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": "ok", "broker": "ok", "listener": "unavailable"},
    }
