"""Forgot your password: ask for a link by e-mail, and choose a new password with that link or with a one-time
code from your organisation's admin."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from patchwork.errors import Invalid, TooManyRequests
from patchwork.services import recovery
from patchwork.web.context import client_address, runtime
from patchwork.web.pages.common import form_of, redirect, render


async def forgot_form(request: Request) -> Response:
    return render(request, "forgot_password.html", _forgot(request, {}, {}))


def _forgot(request: Request, values: dict[str, str], errors: dict[str, str]) -> dict[str, object]:
    return {"values": values, "errors": errors, "by_email": runtime(request).mailer is not None}


async def forgot(request: Request) -> Response:
    rt = runtime(request)
    form = await form_of(request)
    values = {"email": form.get("email", "")}
    try:
        await recovery.ask_by_email(
            db=rt.db,
            keys=rt.keys,
            email=form.get("email"),
            address=client_address(request),
            limits=rt.sign_in_limits,
            send=rt.mailer.send_reset if rt.mailer else None,
        )
    except Invalid as problem:
        return render(request, "forgot_password.html", _forgot(request, values, problem.fields), 422)
    except TooManyRequests as problem:
        response = render(request, "forgot_password.html", _forgot(request, values, {"email": problem.message}), 429)
        response.headers["Retry-After"] = str(problem.retry_after)
        return response
    return render(request, "forgot_password_sent.html", {"by_email": rt.mailer is not None})


async def reset_form(request: Request) -> Response:
    token = request.query_params.get("token", "")
    return render(request, "reset_password.html", {"token": token, "values": {}, "errors": {}})


async def reset(request: Request) -> Response:
    rt = runtime(request)
    form = await form_of(request)
    token = form.get("token", "")
    values = {"secret": form.get("secret", "")}
    try:
        await recovery.reset(
            db=rt.db,
            passwords=rt.passwords,
            keys=rt.keys,
            secret=token or form.get("secret"),
            password=form.get("password"),
        )
    except Invalid as problem:
        context = {"token": token, "values": values, "errors": problem.fields}
        return render(request, "reset_password.html", context, 422)
    return redirect("/sign-in?notice=password-reset")


routes = [
    Route("/forgot-password", forgot_form, methods=["GET"]),
    Route("/forgot-password", forgot, methods=["POST"]),
    Route("/reset-password", reset_form, methods=["GET"]),
    Route("/reset-password", reset, methods=["POST"]),
]
