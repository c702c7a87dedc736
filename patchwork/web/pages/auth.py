"""Signing in and out, the second-factor step, and asking for an account."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from patchwork.auth.sessions import end_web_session, revoke_everything, start_web_session
from patchwork.errors import Invalid, TooManyRequests, Unauthenticated
from patchwork.services import accounts, organisations, signin, sso
from patchwork.web.context import client_address, runtime
from patchwork.web.pages.common import clear_session_cookie, form_of, redirect, render, set_session_cookie, signed_in


async def sign_in_form(request: Request) -> Response:
    viewer = getattr(request.state, "viewer", None)
    if viewer is not None and not viewer.second_factor_pending:
        return redirect("/")
    return render(request, "sign_in.html", {"values": {}, "errors": {}})


def sso_callback_url(request: Request) -> str:
    return runtime(request).settings.base_url.rstrip("/") + "/sso/callback"


async def sign_in(request: Request) -> Response:
    rt = runtime(request)
    form = await form_of(request)
    values = {"email": form.get("email", "")}
    email = values["email"].strip().lower()
    if "@" in email and len(email) <= 254:
        try:
            elsewhere = await sso.begin(db=rt.db, keys=rt.keys, email=email, redirect_uri=sso_callback_url(request))
        except sso.SsoUnavailable as problem:
            return render(request, "sign_in.html", {"values": values, "errors": {"email": problem.message}}, 503)
        if elsewhere is not None:
            # A page that moves on by itself, not a redirect: the sign-in form's CSP (form-action 'self') rightly
            # stops a form's submission from being redirected to another site.
            return render(request, "sso_continue.html", {"url": elsewhere})
    try:
        account = await signin.authenticate(
            db=rt.db,
            passwords=rt.passwords,
            limits=rt.sign_in_limits,
            email=form.get("email"),
            password=form.get("password"),
            address=client_address(request),
        )
    except Invalid as problem:
        return render(request, "sign_in.html", {"values": values, "errors": problem.fields}, 422)
    except Unauthenticated as problem:
        return render(request, "sign_in.html", {"values": values, "errors": {"email": problem.message}}, 401)
    except TooManyRequests as problem:
        response = render(request, "sign_in.html", {"values": values, "errors": {"email": problem.message}}, 429)
        response.headers["Retry-After"] = str(problem.retry_after)
        return response
    previous = getattr(request.state, "viewer", None)
    pending = account.has_second_factor

    def start(session):  # type: ignore[no-untyped-def]
        if previous is not None and previous.session_id:
            end_web_session(session=session, session_id=previous.session_id)
        return start_web_session(
            session=session, account_id=account.id, timeouts=rt.timeouts, second_factor_pending=pending
        )

    token = await rt.db.run(start)
    response = redirect("/sign-in/code" if pending else "/")
    set_session_cookie(response, request, token)
    return response


async def code_form(request: Request) -> Response:
    viewer = getattr(request.state, "viewer", None)
    if viewer is None or not viewer.second_factor_pending:
        return redirect("/sign-in")
    return render(request, "sign_in_code.html", {"errors": {}})


async def submit_code(request: Request) -> Response:
    rt = runtime(request)
    viewer = getattr(request.state, "viewer", None)
    if viewer is None or not viewer.second_factor_pending:
        return redirect("/sign-in?notice=session-ended")
    form = await form_of(request)
    try:
        await signin.second_factor(
            db=rt.db,
            cipher=rt.cipher,
            limits=rt.sign_in_limits,
            account_id=viewer.account.id,
            code=form.get("code"),
            address=client_address(request),
        )
    except Invalid as problem:
        return render(request, "sign_in_code.html", {"errors": problem.fields}, 422)
    except TooManyRequests as problem:
        response = render(request, "sign_in_code.html", {"errors": {"code": problem.message}}, 429)
        response.headers["Retry-After"] = str(problem.retry_after)
        return response
    pending_session_id = viewer.session_id

    def promote(session):  # type: ignore[no-untyped-def]
        end_web_session(session=session, session_id=pending_session_id)
        return start_web_session(session=session, account_id=viewer.account.id, timeouts=rt.timeouts)

    token = await rt.db.run(promote)
    response = redirect("/")
    set_session_cookie(response, request, token)
    return response


async def sign_out(request: Request) -> Response:
    viewer = getattr(request.state, "viewer", None)
    if viewer is not None and viewer.session_id:
        session_id = viewer.session_id
        await runtime(request).db.run(lambda session: end_web_session(session=session, session_id=session_id))
    response = redirect("/sign-in?notice=signed-out")
    clear_session_cookie(response, request)
    return response


async def sign_out_everywhere(request: Request) -> Response:
    viewer = signed_in(request, allow_without_second_factor=True)
    account_id = viewer.account.id
    await runtime(request).db.run(lambda session: revoke_everything(session=session, account_id=account_id))
    response = redirect("/sign-in?notice=signed-out-everywhere")
    clear_session_cookie(response, request)
    return response


async def _organisation_choices(request: Request) -> list[tuple[str, str]]:
    found = await runtime(request).db.run(
        lambda session: organisations.list_organisations(session=session, active_only=True)
    )
    return [(o.id, o.name) for o in found]


async def request_account_form(request: Request) -> Response:
    choices = await _organisation_choices(request)
    return render(request, "request_account.html", {"values": {}, "errors": {}, "organisations": choices})


async def request_account(request: Request) -> Response:
    rt = runtime(request)
    form = await form_of(request)
    values = {k: v for k, v in form.items() if "password" not in k}
    try:
        await accounts.request_account(
            db=rt.db,
            passwords=rt.passwords,
            details=accounts.AccountDetails(
                name=form.get("name"),
                email=form.get("email"),
                job_title=form.get("job_title"),
                organisation_id=form.get("organisation_id"),
                password=form.get("password"),
                confirm_password=form.get("confirm_password", ""),
            ),
            address=client_address(request),
            limits=rt.account_request_limits,
            tell_owner=rt.mailer.tell_account_exists if rt.mailer else None,
        )
    except Invalid as problem:
        choices = await _organisation_choices(request)
        context = {"values": values, "errors": problem.fields, "organisations": choices}
        return render(request, "request_account.html", context, 422)
    except TooManyRequests as problem:
        choices = await _organisation_choices(request)
        context = {"values": values, "errors": {"email": problem.message}, "organisations": choices}
        response = render(request, "request_account.html", context, 429)
        response.headers["Retry-After"] = str(problem.retry_after)
        return response
    return redirect("/sign-in?notice=account-requested")


routes = [
    Route("/sign-in", sign_in_form, methods=["GET"]),
    Route("/sign-in", sign_in, methods=["POST"]),
    Route("/sign-in/code", code_form, methods=["GET"]),
    Route("/sign-in/code", submit_code, methods=["POST"]),
    Route("/sign-out", sign_out, methods=["POST"]),
    Route("/sign-out-everywhere", sign_out_everywhere, methods=["POST"]),
    Route("/request-account", request_account_form, methods=["GET"]),
    Route("/request-account", request_account, methods=["POST"]),
]
