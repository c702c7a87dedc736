"""Small helpers for driving pages through the TestClient like a browser would."""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager

from starlette.testclient import TestClient
from starlette.types import ASGIApp

from patchwork.settings import Settings

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@contextmanager
def browsers(app: ASGIApp, count: int = 2) -> Iterator[tuple[TestClient, ...]]:
    """Several browsers, each with its own cookies, on one running server (one lifespan, so one runtime, as in
    production). Two TestClients entered separately would be two servers that share a database but no broker:
    no deployment runs like that (several processes need Redis)."""
    with TestClient(app) as first:
        others = []
        for _ in range(count - 1):
            other = TestClient(app)
            other.app_state.update(first.app_state)
            other.portal = first.portal
            others.append(other)
        yield (first, *others)


def csrf_from(html: str) -> str:
    match = CSRF.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


def page_token(client: TestClient, path: str = "/sign-in") -> str:
    response = client.get(path)
    assert response.status_code == 200, response.text
    return csrf_from(response.text)


def post_form(client: TestClient, path: str, data: dict[str, str], *, token_from: str | None = None, **kwargs):  # type: ignore[no-untyped-def]
    token = page_token(client, token_from or path)
    return client.post(path, data={"csrf_token": token, **data}, follow_redirects=False, **kwargs)


def sign_in(client: TestClient, email: str, password: str):  # type: ignore[no-untyped-def]
    return post_form(client, "/sign-in", {"email": email, "password": password})


def api_token(client: TestClient, email: str, password: str, totp: str | None = None) -> str:
    body = {"email": email, "password": password}
    if totp:
        body["totp"] = totp
    response = client.post("/api/v1/tokens", json=body)
    assert response.status_code == 201, response.text
    token: str = response.json()["token"]
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def bench_settings() -> Settings:
    """Settings for running a benchmark small in a test: cheap password hashing, fresh keys."""
    return Settings(
        env="local",
        secret_key="bench-test-" + "x" * 32,
        data_key=base64.urlsafe_b64encode(os.urandom(32)).decode(),
        argon2_time_cost=1,
        argon2_memory_kib=8192,
        argon2_parallelism=1,
        password_hashing_threads=2,
    )
