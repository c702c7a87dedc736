"""A served process's log never holds a query string, and a token put in a web address stops working."""

from __future__ import annotations

import contextlib
import time

import httpx
import pytest
from websockets.exceptions import WebSocketException
from websockets.sync.client import connect

from tests.helpers import bearer
from tests.servers import new_secrets, patchwork_env, run_patchwork, serving

PASSWORD = "correct horse battery staple"
ADMIN_EMAIL = "admin@logs.example.org"


def test_no_query_string_reaches_the_log_and_an_exposed_token_is_revoked(tmp_path) -> None:  # type: ignore[no-untyped-def]
    secret_key, data_key = new_secrets()
    env = patchwork_env(
        database_url=f"sqlite:///{tmp_path / 'served.sqlite'}", secret_key=secret_key, data_key=data_key
    )
    run_patchwork(env, tmp_path, "db", "upgrade")
    run_patchwork(env | {"PATCHWORK_ADMIN_PASSWORD": PASSWORD}, tmp_path, "createadmin", "--email", ADMIN_EMAIL)
    with serving(env, tmp_path, "logs") as (server,):
        with httpx.Client(base_url=server.base, trust_env=False, timeout=5.0) as client:
            answer = client.post("/api/v1/tokens", json={"email": ADMIN_EMAIL, "password": PASSWORD})
            assert answer.status_code == 201, answer.text
            token = answer.json()["token"]
            assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
            address = f"ws://127.0.0.1:{server.port}/api/v1/stream?token={token}&marker=query-in-the-log"
            with pytest.raises(WebSocketException), connect(address, open_timeout=5) as socket:
                socket.recv(timeout=5)
            with (
                contextlib.suppress(WebSocketException),
                connect(
                    f"ws://127.0.0.1:{server.port}/live?view=feed&marker=query-in-the-log", open_timeout=5
                ) as socket,
            ):
                socket.recv(timeout=2)
            assert client.get("/healthz?marker=query-in-the-log").status_code == 200
            assert client.get("/sign-in?marker=query-in-the-log").status_code == 200
            refused = client.get("/api/v1/me", headers=bearer(token))
            assert refused.status_code == 401, "a token seen in a web address no longer works"
        deadline = time.monotonic() + 5
        while "/api/v1/stream" not in (log := server.log.read_text()) and time.monotonic() < deadline:
            time.sleep(0.1)
    assert '"WebSocket /api/v1/stream"' in log or "/api/v1/stream" in log, log[-2000:]
    assert "api_token.revoked_exposed_in_address" in log
    assert token not in log and token[:12] not in log
    assert "query-in-the-log" not in log and "?token" not in log and "?view" not in log, log[-3000:]
