"""Single sign-on with an OpenID Connect provider: discovery, the authorization request (code flow with PKCE, a
state and a nonce), and the answer: the code exchanged through authlib, the ID token verified against the
provider's published keys, the person's e-mail and name from the ID token or userinfo.

Nothing here touches the database; services/sso.py keeps what must outlive a request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import httpx
from authlib.common.security import generate_token
from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.oauth2.rfc6749.errors import OAuth2Error
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

TIMEOUT_SECONDS = 10.0
SCOPES = "openid email profile"
MFA_METHODS = frozenset({"mfa", "otp", "hwk"})  # amr values (RFC 8176) that mean a second factor was used
ID_TOKEN_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"]
LEEWAY_SECONDS = 60


class SsoError(Exception):
    """A step of single sign-on failed: `message` says which, in words for the person (or the admin)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None


@dataclass(frozen=True)
class Request:
    """One authorization request: where to send the person, and what must come back with them."""

    url: str
    state: str
    nonce: str
    code_verifier: str


@dataclass(frozen=True)
class Identity:
    subject: str
    email: str | None
    email_verified: bool
    name: str | None
    amr: tuple[str, ...]
    acr: str | None

    def second_factor(self, multi_factor_acr: frozenset[str]) -> bool:
        """Whether the provider says it asked for a second factor: by `amr`, or by an `acr` the admin marked."""
        return bool(MFA_METHODS & set(self.amr)) or (self.acr is not None and self.acr in multi_factor_acr)


def _http_url(value: object) -> bool:
    if not isinstance(value, str):
        return False
    parsed = urlparse(value)
    return parsed.scheme in ("https", "http") and bool(parsed.netloc)


async def discover(discovery_url: str, *, transport: httpx.AsyncBaseTransport | None = None) -> ProviderMetadata:
    """Reads the provider's discovery document; refuses one that cannot be read or lacks what the flow needs."""
    if not _http_url(discovery_url):
        raise SsoError("Enter the discovery URL as a full web address, starting with https://")
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS, transport=transport, trust_env=False) as client:
            answer = await client.get(discovery_url, headers={"Accept": "application/json"})
    except httpx.HTTPError as error:
        raise SsoError(f"The discovery URL could not be reached ({type(error).__name__})") from error
    if answer.status_code != 200:
        raise SsoError(f"The discovery URL answered {answer.status_code}, not an OpenID configuration")
    try:
        document: Any = answer.json()
    except ValueError as error:
        raise SsoError("The discovery URL did not answer with an OpenID configuration (not JSON)") from error
    if not isinstance(document, dict):
        raise SsoError("The discovery URL did not answer with an OpenID configuration")
    needed = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
    missing = [name for name in needed if not _http_url(document.get(name))]
    if missing:
        raise SsoError("The OpenID configuration lacks " + ", ".join(missing))
    userinfo = document.get("userinfo_endpoint")
    return ProviderMetadata(
        issuer=document["issuer"],
        authorization_endpoint=document["authorization_endpoint"],
        token_endpoint=document["token_endpoint"],
        jwks_uri=document["jwks_uri"],
        userinfo_endpoint=userinfo if _http_url(userinfo) else None,
    )


def authorization_request(metadata: ProviderMetadata, *, client_id: str, redirect_uri: str, login_hint: str) -> Request:
    state = generate_token(32)
    nonce = generate_token(32)
    verifier = generate_token(64)
    client = AsyncOAuth2Client(client_id=client_id, redirect_uri=redirect_uri, scope=SCOPES)
    url, _ = client.create_authorization_url(
        metadata.authorization_endpoint,
        state=state,
        nonce=nonce,
        code_challenge=create_s256_code_challenge(verifier),
        code_challenge_method="S256",
        login_hint=login_hint,
    )
    return Request(url=url, state=state, nonce=nonce, code_verifier=verifier)


async def identity(
    metadata: ProviderMetadata,
    *,
    client_id: str,
    client_secret: str,
    redirect_uri: str,
    code: str,
    code_verifier: str,
    nonce: str,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Identity:
    """Exchanges the code, verifies the ID token (signature by a published key, issuer, audience, expiry, nonce) and
    reads e-mail and name from it, or from userinfo when the ID token does not carry them."""
    async with AsyncOAuth2Client(
        client_id=client_id,
        client_secret=client_secret,
        redirect_uri=redirect_uri,
        timeout=TIMEOUT_SECONDS,
        transport=transport,
        trust_env=False,
    ) as client:
        try:
            token = await client.fetch_token(metadata.token_endpoint, code=code, code_verifier=code_verifier)
        except (OAuth2Error, OAuthError) as error:
            raise SsoError(f"The identity provider refused the sign-in ({error.error})") from error
        except httpx.HTTPError as error:
            raise SsoError("The identity provider could not be reached to finish signing in") from error
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise SsoError("The identity provider sent no ID token")
        claims = await _verified(client, metadata, id_token, client_id=client_id, nonce=nonce)
        if "email" not in claims and metadata.userinfo_endpoint is not None:
            claims = {**await _userinfo(client, metadata.userinfo_endpoint, subject=claims["sub"]), **claims}
    return _identity_of(claims)


async def _verified(
    client: AsyncOAuth2Client, metadata: ProviderMetadata, id_token: str, *, client_id: str, nonce: str
) -> dict[str, Any]:
    try:
        published = (await client.get(metadata.jwks_uri)).json()
        keys = KeySet.import_key_set(published)
    except (httpx.HTTPError, ValueError, JoseError) as error:
        raise SsoError("The identity provider's keys could not be read") from error
    try:
        decoded = jwt.decode(id_token, keys, algorithms=ID_TOKEN_ALGORITHMS)
        registry = jwt.JWTClaimsRegistry(
            leeway=LEEWAY_SECONDS,
            iss={"essential": True, "value": metadata.issuer},
            aud={"essential": True, "value": client_id},
            sub={"essential": True},
            exp={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        registry.validate(decoded.claims)
    except (JoseError, ValueError) as error:
        raise SsoError(f"The identity provider's ID token could not be trusted ({_why(error)})") from error
    return dict(decoded.claims)


def _why(error: Exception) -> str:
    name = getattr(error, "error", None) or type(error).__name__
    return str(name).replace("_", " ")


async def _userinfo(client: AsyncOAuth2Client, endpoint: str, *, subject: str) -> dict[str, Any]:
    try:
        answer = await client.get(endpoint)
        found = answer.json() if answer.status_code == 200 else {}
    except (httpx.HTTPError, ValueError) as error:
        raise SsoError("The identity provider's user details could not be read") from error
    if not isinstance(found, dict) or found.get("sub") != subject:
        return {}  # a userinfo answer about someone else is ignored (OpenID Connect Core 5.3.2)
    return {key: found[key] for key in ("email", "email_verified", "name") if key in found}


def _identity_of(claims: dict[str, Any]) -> Identity:
    email = claims.get("email")
    name = claims.get("name")
    amr = claims.get("amr")
    acr = claims.get("acr")
    return Identity(
        subject=str(claims["sub"]),
        email=email.strip().lower() if isinstance(email, str) and "@" in email else None,
        email_verified=claims.get("email_verified") is True,
        name=name.strip() if isinstance(name, str) and name.strip() else None,
        amr=tuple(str(method) for method in amr) if isinstance(amr, list) else (),
        acr=acr if isinstance(acr, str) else None,
    )


async def check_client(
    metadata: ProviderMetadata,
    *,
    client_id: str,
    client_secret: str,
    redirect_uri: str,
    transport: httpx.AsyncBaseTransport | None = None,
) -> None:
    """Tests the client id and secret without anyone signing in: the token endpoint is asked to exchange a code that
    does not exist. A provider that knows the client answers `invalid_grant`; one that refuses its credentials
    answers `invalid_client`, which is reported with what the provider said."""
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS, transport=transport, trust_env=False) as client:
            answer = await client.post(
                metadata.token_endpoint,
                data={
                    "grant_type": "authorization_code",
                    "code": "patchwork-connection-test",
                    "redirect_uri": redirect_uri,
                },
                auth=(client_id, client_secret),
                headers={"Accept": "application/json"},
            )
    except httpx.HTTPError as error:
        raise SsoError(
            f"The identity provider's token endpoint could not be reached ({type(error).__name__})"
        ) from error
    try:
        body: Any = answer.json()
    except ValueError:
        body = {}
    code = body.get("error") if isinstance(body, dict) else None
    if code == "invalid_client" or answer.status_code == 401:
        said = body.get("error_description") if isinstance(body, dict) else None
        raise SsoError(
            "The identity provider refused the client id and secret"
            + (f": {said}" if isinstance(said, str) and said else " (invalid_client)")
        )
