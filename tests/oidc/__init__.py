"""A real OpenID provider for the tests (the npm package oidc-provider, see provider.mjs), started on 127.0.0.1
with the clients, accounts and keys a test gives it, and stopped afterwards."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlparse

import httpx
import pytest
from joserfc.jwk import RSAKey

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("provider.mjs")


def signing_key(kid: str) -> dict[str, Any]:
    key = RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})
    return dict(key.as_dict(private=True))


def public(key: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in key.items() if name in ("kty", "n", "e", "kid", "use", "alg")}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Client:
    client_id: str
    client_secret: str
    redirect_uri: str


@dataclass(frozen=True)
class OpenIdProvider:
    issuer: str
    client: Client
    process: subprocess.Popen[str]

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"


def need_node() -> str:
    node = shutil.which("node")
    if node is None or not (ROOT / "node_modules" / "oidc-provider").is_dir():
        pytest.fail("the OpenID provider for the tests needs node and `npm ci` (oidc-provider is in package.json)")
    return node


@contextmanager
def openid_provider(
    tmp_path: Path,
    *,
    redirect_uri: str,
    accounts: dict[str, dict[str, Any]],
    code_ttl_seconds: int = 60,
    publish_other_keys: bool = False,
    acr_values: tuple[str, ...] = (),
) -> Iterator[OpenIdProvider]:
    """accounts: id -> {"claims": {"email": ..., "email_verified": ..., "name": ...}, "amr": [...], "acr": "..."}"""
    node = need_node()
    port = _free_port()
    client = Client("patchwork-tests", "a-client-secret-for-the-tests-only", redirect_uri)
    settings = {
        "port": port,
        "clients": [
            {
                "client_id": client.client_id,
                "client_secret": client.client_secret,
                "redirect_uris": [redirect_uri],
                "response_types": ["code"],
                "grant_types": ["authorization_code"],
                "token_endpoint_auth_method": "client_secret_basic",
            }
        ],
        "accounts": accounts,
        "jwks": {"keys": [signing_key("signing")]},
        "other_public_jwks": {"keys": [public(signing_key("other"))]},
        "publish_other_keys": publish_other_keys,
        "code_ttl_seconds": code_ttl_seconds,
        "acr_values": list(acr_values),
    }
    config = tmp_path / f"oidc-{port}.json"
    config.write_text(json.dumps(settings))
    process = subprocess.Popen(
        [node, str(SCRIPT), str(config)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        while first and not first.startswith("listening"):
            first = process.stdout.readline()  # node's warnings about its own version come first
        if not first:
            raise RuntimeError(f"the OpenID provider did not start: {process.stdout.read()}")
        yield OpenIdProvider(issuer=f"http://127.0.0.1:{port}", client=client, process=process)
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def sign_in_at(provider: OpenIdProvider, authorization_url: str, account: str) -> dict[str, str]:
    """Follows an authorization request through the provider's sign-in as `account`; returns the query the
    provider sends back to the redirect URI (code, state, iss; or error)."""
    with httpx.Client(trust_env=False, timeout=10) as browser:
        answer = browser.get(authorization_url)
        while answer.status_code in (302, 303) and "/interaction/" not in answer.headers["location"]:
            answer = browser.get(urljoin(str(answer.url), answer.headers["location"]))
        if answer.status_code in (302, 303):
            answer = browser.get(urljoin(str(answer.url), answer.headers["location"]))
        if answer.status_code != 200 or "/interaction/" not in answer.url.path:
            raise AssertionError(f"the provider did not ask who is signing in: {answer.status_code} {answer.text}")
        answer = browser.post(f"{answer.url}/login", data={"login": account})
        while answer.status_code in (302, 303):
            location = urljoin(str(answer.url), answer.headers["location"])
            if location.startswith(provider.client.redirect_uri):
                return {key: values[0] for key, values in parse_qs(urlparse(location).query).items()}
            answer = browser.get(location)
        raise AssertionError(f"the provider did not send the person back: {answer.status_code} {answer.text}")
