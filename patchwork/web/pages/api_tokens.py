"""The signed-in person's API tokens: the ones that work, a new one (its secret shown once), and revoking one."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from patchwork.errors import Invalid, TooManyRequests
from patchwork.services import api_tokens
from patchwork.web.context import runtime
from patchwork.web.pages.common import form_of, redirect, render, signed_in


async def tokens_page(
    request: Request,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    created: str | None = None,
    status: int = 200,
) -> Response:
    viewer = signed_in(request)
    rt = runtime(request)
    account_id = viewer.account.id
    found = await rt.db.run(lambda session: api_tokens.own_tokens(session=session, account_id=account_id))
    context: dict[str, Any] = {
        "tokens": found,
        "created": created,
        "may_create": api_tokens.has_password(viewer.account),
        "lifetime_hours": rt.settings.api_token_hours,
        "values": values or {},
        "errors": errors or {},
    }
    response = render(request, "api_tokens.html", context, status)
    if created:
        response.headers["Cache-Control"] = "no-store"
    return response


async def create_token(request: Request) -> Response:
    viewer = signed_in(request)
    rt = runtime(request)
    form = await form_of(request)
    kept = {"name": form.get("name", "")}
    try:
        secret, _ = await api_tokens.create(
            db=rt.db,
            passwords=rt.passwords,
            sign_in_limits=rt.sign_in_limits,
            account=viewer.account,
            name=form.get("name"),
            password=form.get("password"),
            lifetime=timedelta(hours=rt.settings.api_token_hours),
        )
    except Invalid as problem:
        return await tokens_page(request, values=kept, errors=problem.fields, status=422)
    except TooManyRequests as problem:
        response = await tokens_page(request, values=kept, errors={"password": problem.message}, status=429)
        response.headers["Retry-After"] = str(problem.retry_after)
        return response
    return await tokens_page(request, created=secret)


async def revoke_form(request: Request) -> Response:
    viewer = signed_in(request)
    account_id, token_id = viewer.account.id, request.path_params["token_id"]
    token = await runtime(request).db.run(
        lambda session: api_tokens.own_token(session=session, account_id=account_id, token_id=token_id)
    )
    return render(request, "api_token_revoke.html", {"token": token})


async def revoke(request: Request) -> Response:
    viewer = signed_in(request)
    account_id, token_id = viewer.account.id, request.path_params["token_id"]
    await runtime(request).db.run(
        lambda session: api_tokens.revoke(session=session, account_id=account_id, token_id=token_id)
    )
    return redirect("/account/api-tokens?notice=token-revoked")


routes = [
    Route("/account/api-tokens", tokens_page, methods=["GET"]),
    Route("/account/api-tokens", create_token, methods=["POST"]),
    Route("/account/api-tokens/{token_id}/revoke", revoke_form, methods=["GET"]),
    Route("/account/api-tokens/{token_id}/revoke", revoke, methods=["POST"]),
]
