"""patchwork.auth.oidc against a real OpenID provider (oidc-provider on 127.0.0.1): the code flow with PKCE, the
ID token verified against the published keys, and each way a sign-in must be refused."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlparse

import pytest

from patchwork.auth import oidc
from tests.oidc import OpenIdProvider, openid_provider, sign_in_at

REDIRECT = "http://127.0.0.1:9/sso/callback"
ACCOUNTS = {
    "alice": {
        "claims": {"email": "Alice@School.example", "email_verified": True, "name": "Alice Adams"},
        "amr": ["pwd", "mfa"],
    },
    "bob": {"claims": {"email": "bob@school.example", "email_verified": False, "name": "Bob Brown"}, "amr": ["pwd"]},
    "nomail": {"claims": {"name": "No Mail"}},
    "acr": {"claims": {"email": "carol@school.example", "email_verified": True}, "acr": "urn:example:mfa"},
}


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenIdProvider]:
    with openid_provider(
        tmp_path_factory.mktemp("oidc"), redirect_uri=REDIRECT, accounts=ACCOUNTS, acr_values=("urn:example:mfa",)
    ) as running:
        yield running


def _identity(
    provider: OpenIdProvider, metadata: oidc.ProviderMetadata, request: oidc.Request, answer: dict[str, str]
) -> oidc.Identity:
    return asyncio.run(
        oidc.identity(
            metadata,
            client_id=provider.client.client_id,
            client_secret=provider.client.client_secret,
            redirect_uri=REDIRECT,
            code=answer["code"],
            code_verifier=request.code_verifier,
            nonce=request.nonce,
        )
    )


def _start(provider: OpenIdProvider) -> tuple[oidc.ProviderMetadata, oidc.Request]:
    metadata = asyncio.run(oidc.discover(provider.discovery_url))
    request = oidc.authorization_request(
        metadata, client_id=provider.client.client_id, redirect_uri=REDIRECT, login_hint="alice@school.example"
    )
    return metadata, request


def test_a_sign_in_gives_the_verified_identity_with_its_second_factor(provider: OpenIdProvider) -> None:
    metadata, request = _start(provider)
    query = parse_qs(urlparse(request.url).query)
    assert query["code_challenge_method"] == ["S256"] and query["state"] == [request.state]
    assert query["nonce"] == [request.nonce] and query["login_hint"] == ["alice@school.example"]
    answer = sign_in_at(provider, request.url, "alice")
    assert answer["state"] == request.state
    found = _identity(provider, metadata, request, answer)
    assert (found.subject, found.email, found.email_verified, found.name) == (
        "alice",
        "alice@school.example",
        True,
        "Alice Adams",
    )
    assert found.second_factor(frozenset()) is True


def test_an_acr_counts_as_a_second_factor_only_when_the_admin_marked_it(provider: OpenIdProvider) -> None:
    metadata, request = _start(provider)
    found = _identity(provider, metadata, request, sign_in_at(provider, request.url, "acr"))
    assert found.acr == "urn:example:mfa"
    assert found.second_factor(frozenset()) is False
    assert found.second_factor(frozenset({"urn:example:mfa"})) is True


def test_unverified_and_missing_email_are_reported_as_such(provider: OpenIdProvider) -> None:
    metadata, request = _start(provider)
    bob = _identity(provider, metadata, request, sign_in_at(provider, request.url, "bob"))
    assert (bob.email, bob.email_verified, bob.second_factor(frozenset())) == ("bob@school.example", False, False)
    metadata, request = _start(provider)
    nobody = _identity(provider, metadata, request, sign_in_at(provider, request.url, "nomail"))
    assert (nobody.email, nobody.email_verified) == (None, False)


def test_a_wrong_nonce_is_refused(provider: OpenIdProvider) -> None:
    metadata, request = _start(provider)
    answer = sign_in_at(provider, request.url, "alice")
    with pytest.raises(oidc.SsoError, match="could not be trusted"):
        _identity(provider, metadata, replace(request, nonce="not-the-nonce-we-sent"), answer)


def test_a_nonce_changed_on_the_way_to_the_provider_is_refused(provider: OpenIdProvider) -> None:
    metadata, request = _start(provider)
    parsed = urlparse(request.url)
    query = {key: values[0] for key, values in parse_qs(parsed.query).items()} | {"nonce": "an-attacker-nonce"}
    answer = sign_in_at(provider, parsed._replace(query=urlencode(query)).geturl(), "alice")
    with pytest.raises(oidc.SsoError, match="could not be trusted"):
        _identity(provider, metadata, request, answer)


def test_a_code_works_once(provider: OpenIdProvider) -> None:
    metadata, request = _start(provider)
    answer = sign_in_at(provider, request.url, "alice")
    assert _identity(provider, metadata, request, answer).subject == "alice"
    with pytest.raises(oidc.SsoError, match="refused the sign-in"):
        _identity(provider, metadata, request, answer)


def test_a_wrong_code_verifier_is_refused(provider: OpenIdProvider) -> None:
    metadata, request = _start(provider)
    answer = sign_in_at(provider, request.url, "alice")
    with pytest.raises(oidc.SsoError, match="refused the sign-in"):
        _identity(provider, metadata, replace(request, code_verifier="x" * 64), answer)


def test_an_expired_code_is_refused(tmp_path: Path) -> None:
    with openid_provider(tmp_path, redirect_uri=REDIRECT, accounts=ACCOUNTS, code_ttl_seconds=1) as quick:
        metadata, request = _start(quick)
        answer = sign_in_at(quick, request.url, "alice")
        time.sleep(2.2)
        with pytest.raises(oidc.SsoError, match="refused the sign-in"):
            _identity(quick, metadata, request, answer)


def test_an_id_token_signed_by_a_key_the_provider_does_not_publish_is_refused(tmp_path: Path) -> None:
    with openid_provider(tmp_path, redirect_uri=REDIRECT, accounts=ACCOUNTS, publish_other_keys=True) as swapped:
        metadata, request = _start(swapped)
        answer = sign_in_at(swapped, request.url, "alice")
        with pytest.raises(oidc.SsoError, match="could not be trusted"):
            _identity(swapped, metadata, request, answer)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "full web address"),
        ("http://127.0.0.1:9/.well-known/openid-configuration", "could not be reached"),
    ],
)
def test_a_discovery_url_that_cannot_be_used_is_refused_with_the_reason(url: str, message: str) -> None:
    with pytest.raises(oidc.SsoError, match=message):
        asyncio.run(oidc.discover(url))


def test_a_discovery_url_that_is_not_an_openid_configuration_is_refused(provider: OpenIdProvider) -> None:
    with pytest.raises(oidc.SsoError, match="answered 404"):
        asyncio.run(oidc.discover(f"{provider.issuer}/no-such-document"))
    with pytest.raises(oidc.SsoError, match="lacks issuer"):
        asyncio.run(oidc.discover(f"{provider.issuer}/jwks"))
