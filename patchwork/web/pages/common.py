"""What every page handler needs: rendering, redirects, form reading, and who may open the page."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from patchwork.web.middleware import CSRF_FIELD, SESSION_COOKIE
from patchwork.web.viewer import Viewer

SECOND_FACTOR_SETUP = "/account/two-factor"


class Redirect(Exception):
    """Stops a handler and sends the browser elsewhere (to sign in, say)."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


def render(request: Request, template: str, context: Mapping[str, Any] | None = None, status: int = 200) -> Response:
    response: Response = request.app.state.templates.TemplateResponse(
        request, template, dict(context or {}), status_code=status
    )
    return response


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


async def form_of(request: Request) -> dict[str, str]:
    form = await request.form(max_files=0, max_fields=200)
    return {key: value for key, value in form.items() if isinstance(value, str) and key != CSRF_FIELD}


async def form_lists_of(request: Request) -> dict[str, list[str]]:
    form = await request.form(max_files=0, max_fields=200)
    return {key: [v for v in form.getlist(key) if isinstance(v, str)] for key in form}


def signed_in(request: Request, *, allow_without_second_factor: bool = False) -> Viewer:
    """The signed-in viewer, or a redirect to sign in (or to set up the second factor their role needs)."""
    viewer: Viewer | None = getattr(request.state, "viewer", None)
    if viewer is None or viewer.second_factor_pending:
        raise Redirect("/sign-in")
    if viewer.second_factor_missing and not allow_without_second_factor:
        raise Redirect(SECOND_FACTOR_SETUP)
    return viewer


async def redirect_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Redirect)
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": exc.url})
    return redirect(exc.url)


def set_session_cookie(response: Response, request: Request, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def clear_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=request.url.scheme == "https"
    )
