"""One place that turns errors into an HTML page or the JSON error body."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from patchwork.errors import DomainError, Invalid, TooManyRequests

log = logging.getLogger("patchwork.errors")

HTTP_CODES = {
    400: ("bad_request", "The request could not be understood"),
    401: ("unauthenticated", "Sign in first"),
    403: ("forbidden", "You do not have permission to do that"),
    404: ("not_found", "Not found"),
    405: ("method_not_allowed", "That method is not allowed here"),
    413: ("too_large", "The request is too large"),
    415: ("unsupported_media_type", "Send JSON with Content-Type: application/json"),
}

PAGE_TITLES = {
    400: "There is a problem with the request",
    401: "Sign in to carry on",
    403: "You cannot do that",
    404: "Page not found",
    405: "Page not found",
    409: "That cannot be done now",
    413: "The form is too large",
    415: "The request could not be read",
    422: "There is a problem",
    429: "Too many attempts",
    500: "Sorry, there is a problem with the service",
}


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def error_json(status: int, code: str, message: str, *, fields: dict[str, str] | None = None) -> JSONResponse:
    body: dict[str, object] = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return JSONResponse({"error": body}, status_code=status)


def error_page(request: Request, status: int, message: str) -> Response:
    templates = request.app.state.templates
    response: Response = templates.TemplateResponse(
        request,
        "error.html",
        {"status": status, "title": PAGE_TITLES.get(status, "There is a problem"), "message": message},
        status_code=status,
    )
    return response


def _respond(request: Request, status: int, code: str, message: str, fields: dict[str, str] | None = None) -> Response:
    if wants_json(request):
        return error_json(status, code, message, fields=fields)
    return error_page(request, status, message)


async def domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    fields = exc.fields if isinstance(exc, Invalid) else None
    response = _respond(request, exc.status, exc.code, exc.message, fields)
    if isinstance(exc, TooManyRequests):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code, message = HTTP_CODES.get(exc.status_code, ("error", "The request could not be completed"))
    if exc.status_code == 404 and not wants_json(request):
        message = "If you typed the web address, check it is correct."
    response = _respond(request, exc.status_code, code, message)
    response.headers.update(exc.headers or {})  # 405 carries Allow
    return response


async def server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled_error", extra={"path": request.url.path})
    return _respond(request, 500, "internal_error", "Something went wrong. Try again later.")


CSRF_MESSAGES = {
    "too_large": "The form was too large to send.",
    "cross_origin": "The form came from another website, so it was not accepted.",
    "invalid_token": (
        "The form had expired or came from a session that has ended. Go back, reload the page and try again."
    ),
}


async def csrf_failure(scope: Scope, receive: Receive, send: Send) -> None:
    request = Request(scope, receive)
    reason = scope["state"].get("csrf_failure", "invalid_token")
    status = 413 if reason == "too_large" else 403
    log.warning("csrf.refused", extra={"reason": reason, "path": scope["path"]})
    response = error_page(request, status, CSRF_MESSAGES[reason])
    await response(scope, receive, send)
