"""ASGI middleware: request ids and access logs, security headers, who is asking, and CSRF checks."""

from __future__ import annotations

import logging
import re
import secrets
import time
from dataclasses import replace
from functools import partial
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

from sqlmodel import Session
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from patchwork.auth.csrf import csrf_valid
from patchwork.auth.sessions import Resolved, resolve_api_token, resolve_web_session, revoke_exposed_api_token
from patchwork.auth.tokens import digest
from patchwork.logs import request_id
from patchwork.runtime import Runtime
from patchwork.services import second_factor
from patchwork.web.viewer import Viewer

SESSION_COOKIE = "patchwork_session"
ANONYMOUS_COOKIE = "patchwork_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
MAX_FORM_BYTES = 64 * 1024
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
UNAUTHENTICATED_PATHS = ("/static/", "/healthz", "/readyz", "/favicon.ico")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)

access_log = logging.getLogger("patchwork.access")
log = logging.getLogger("patchwork.auth")


def runtime_of(scope: Scope) -> Runtime:
    runtime: Runtime = scope["state"]["runtime"]
    return runtime


def cookies_of(scope: Scope) -> dict[str, str]:
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:
                return {}
            return {key: morsel.value for key, morsel in jar.items()}
    return {}


def header(scope: Scope, wanted: bytes) -> str | None:
    for name, value in scope.get("headers", []):
        if name == wanted:
            return str(value.decode("latin-1"))
    return None


def is_https(scope: Scope) -> bool:
    return scope.get("scheme") in ("https", "wss")


def cookie_header(name: str, value: str, *, scope: Scope, max_age: int | None = None) -> str:
    parts = [f"{name}={value}", "Path=/", "HttpOnly", "SameSite=Lax"]
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    if is_https(scope):
        parts.append("Secure")
    return "; ".join(parts)


class RequestContext:
    """Gives each request an id (echoed in X-Request-ID and in every log line) and logs it once done."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        offered = header(scope, b"x-request-id")
        rid = offered if offered and _REQUEST_ID.match(offered) else secrets.token_hex(8)
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message).append("X-Request-ID", rid)
            await send(message)

        websocket = scope["type"] == "websocket"
        try:
            # A live socket sends thousands of frames: they go straight through, with nothing to add.
            await self.app(scope, receive, send if websocket else send_with_id)
        finally:
            if not scope["path"].startswith("/static/"):
                access_log.info(
                    "websocket_closed" if websocket else "request",
                    extra={
                        "method": scope.get("method", "WS"),
                        "path": scope["path"],
                        "status": status,
                        "ms": round((time.perf_counter() - started) * 1000, 1),
                    },
                )
            request_id.reset(token)


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "same-origin"
                headers["X-Frame-Options"] = "DENY"
                headers["Cross-Origin-Opener-Policy"] = "same-origin"
                headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), interest-cohort=()"
                if is_https(scope):
                    headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
                if not static and "cache-control" not in headers:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)


class Authentication:
    """Resolves the session cookie (pages) or bearer token (API) into scope["state"]["viewer"]."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"].startswith(UNAUTHENTICATED_PATHS):
            await self.app(scope, receive, send)
            return
        runtime = runtime_of(scope)
        if scope.get("query_string"):
            await _revoke_tokens_in_the_address(runtime, scope["query_string"])
        state = scope["state"]
        state["viewer"] = None
        set_cookies: list[str] = []
        if scope["path"].startswith("/api/"):
            state["viewer"] = await self._bearer(runtime, scope)
        else:
            cookies = cookies_of(scope)
            session_token = cookies.get(SESSION_COOKIE)
            if session_token:
                viewer = await self._cookie(runtime, session_token)
                if viewer is None:
                    set_cookies.append(cookie_header(SESSION_COOKIE, "", scope=scope, max_age=0))
                state["viewer"] = viewer
            anonymous = cookies.get(ANONYMOUS_COOKIE)
            if not anonymous or len(anonymous) > 64:
                anonymous = secrets.token_urlsafe(24)
                set_cookies.append(cookie_header(ANONYMOUS_COOKIE, anonymous, scope=scope))
            state["anonymous_binding"] = anonymous

        async def send_with_cookies(message: Message) -> None:
            if message["type"] == "http.response.start" and set_cookies:
                headers = MutableHeaders(scope=message)
                already = {value.split("=", 1)[0] for key, value in headers.items() if key == "set-cookie"}
                for cookie in set_cookies:
                    if cookie.split("=", 1)[0] not in already:
                        headers.append("Set-Cookie", cookie)
            await send(message)

        await self.app(scope, receive, send_with_cookies if set_cookies else send)

    @staticmethod
    async def _cookie(runtime: Runtime, token: str) -> Viewer | None:
        if len(token) > 128:
            return None
        production = runtime.production

        def resolve(session: Session) -> tuple[Resolved, bool] | None:
            resolved = resolve_web_session(session=session, token=token, timeouts=runtime.timeouts)
            if resolved is None:
                return None
            without = second_factor.missing(
                session, resolved.account, by_provider=resolved.second_factor_by_provider, production=production
            )
            return resolved, without

        found = await runtime.db.run(resolve)
        if found is None:
            return None
        resolved, without = found
        return Viewer(
            account=resolved.account,
            session_id=resolved.session_id,
            second_factor_pending=resolved.second_factor_pending,
            second_factor_missing=without,
        )

    @staticmethod
    async def _bearer(runtime: Runtime, scope: Scope) -> Viewer | None:
        authorization = header(scope, b"authorization") or ""
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token or len(token) > 128:
            return None
        token = token.strip()
        token_digest = digest(token)
        trusted = runtime.hub.listening.is_set()  # hearing every account doorbell: see auth.token_cache
        held = runtime.tokens.get(token_digest) if trusted else None
        if held is not None:
            return await _with_second_factor(runtime, Viewer(account=held[1], token_id=held[0]))
        generation = runtime.tokens.generation
        found = await runtime.db.run(lambda session: resolve_api_token(session=session, token=token))
        if found is None:
            return None
        row, account = found
        if trusted and runtime.hub.listening.is_set():
            runtime.tokens.hold(token_digest, row.id, row.expires_at, account, generation)
        return await _with_second_factor(runtime, Viewer(account=account, token_id=row.id))


async def _with_second_factor(runtime: Runtime, viewer: Viewer) -> Viewer:
    """A token's viewer, marked when its account must still set up a second factor (production only: outside it,
    and for anyone with TOTP, nothing is read)."""
    account = viewer.account
    if not runtime.production or account.has_second_factor:
        return viewer
    without = await runtime.db.run(
        lambda session: second_factor.missing(session, account, by_provider=False, production=True)
    )
    return replace(viewer, second_factor_missing=without) if without else viewer


_API_TOKEN = re.compile(r"pw_[A-Za-z0-9_-]{16,128}")


async def _revoke_tokens_in_the_address(runtime: Runtime, query_string: bytes) -> None:
    exposed = {
        found
        for _, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
        for found in _API_TOKEN.findall(value)
    }
    for token in sorted(exposed)[:4]:
        revoked = await runtime.db.run(partial(_revoke_exposed, token))
        if revoked:
            log.warning("api_token.revoked_exposed_in_address")


def _revoke_exposed(token: str, session: Session) -> bool:
    return revoke_exposed_api_token(session=session, token=token)


def csrf_binding(state: dict[str, Any]) -> str:
    viewer: Viewer | None = state.get("viewer")
    if viewer is not None and viewer.session_id:
        return "session:" + viewer.session_id
    return "anonymous:" + str(state.get("anonymous_binding", ""))


class CsrfProtection:
    """Every state-changing page request must carry the token bound to this browser session."""

    def __init__(self, app: ASGIApp, *, on_failure: ASGIApp) -> None:
        self.app = app
        self.on_failure = on_failure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] in SAFE_METHODS
            or scope["path"].startswith(("/api/", *UNAUTHENTICATED_PATHS))
        ):
            await self.app(scope, receive, send)
            return
        body, complete = await _read_body(receive, MAX_FORM_BYTES)
        presented = header(scope, CSRF_HEADER.encode())
        content_type = (header(scope, b"content-type") or "").split(";", 1)[0].strip().lower()
        if presented is None and complete and content_type == "application/x-www-form-urlencoded":
            values = parse_qs(body.decode("utf-8", "replace"), max_num_fields=200).get(CSRF_FIELD)
            presented = values[0] if values else None
        secret = runtime_of(scope).settings.secret_key
        reason = None
        if not complete:
            reason = "too_large"
        elif not _same_origin(scope):
            reason = "cross_origin"
        elif not csrf_valid(secret, csrf_binding(scope["state"]), presented):
            reason = "invalid_token"
        if reason is not None:
            scope["state"]["csrf_failure"] = reason
            await self.on_failure(scope, _replay(b"", receive), send)
            return
        await self.app(scope, _replay(body, receive), send)


def _same_origin(scope: Scope) -> bool:
    origin = header(scope, b"origin")
    if origin is None or origin == "null":
        return origin is None
    host = header(scope, b"host")
    return bool(host) and urlsplit(origin).netloc == host


async def _read_body(receive: Receive, limit: int) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"", False
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return b"", False
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks), True


def _replay(body: bytes, original: Receive) -> Receive:
    """Hands the buffered body to the app once, then passes on whatever the client sends next."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await original()

    return receive
