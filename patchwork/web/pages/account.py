"""The signed-in person's own account: details, password, two-step verification."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from patchwork import policy
from patchwork.auth import totp
from patchwork.errors import Invalid
from patchwork.models import Organisation
from patchwork.services import (
    accounts,
    alerts,
    dashboard,
    networks,
    notifications,
    organisations,
    second_factor,
    signin,
)
from patchwork.web.board import Asked, load_board
from patchwork.web.context import runtime
from patchwork.web.pages.common import form_of, redirect, render, signed_in


async def home(request: Request) -> Response:
    viewer = signed_in(request)
    if policy.sees_as_family(viewer.actor):
        return redirect("/family")
    rt = runtime(request)
    if not policy.practitioner_work(viewer.actor):
        return render(request, "home.html", {"networks": [], "cursors": {}})

    asked = Asked.of(request.query_params)

    def load(session: Session) -> tuple[dict[str, str], list[networks.MyNetwork], dashboard.Dashboard, list[Any]]:
        cursors = networks.my_cursors(session=session, keys=rt.keys, actor=viewer.actor)  # before the content
        mine = networks.my_networks(session=session, keys=rt.keys, actor=viewer.actor)
        board = load_board(session, rt, viewer.account, asked)
        for_admin = (
            alerts.for_admin(
                session=session, keys=rt.keys, account=viewer.account, thresholds=rt.settings.alert_thresholds
            )
            if viewer.account.is_org_admin
            else []
        )
        return cursors, mine, board, for_admin

    cursors, mine, board, for_admin = await rt.db.run(load)
    live_query = "&" + urlencode({"sort": board.sort, "q": board.query, "page": board.page}) if board.leads_any else ""
    context = {
        "networks": mine,
        "cursors": cursors,
        "board": board,
        "admin_alerts": for_admin,
        "live_query": live_query,
        "sorts": dashboard.SORTS,
    }
    if request.headers.get("hx-request") == "true" and request.headers.get("hx-target") == "dashboard-region":
        return render(request, "_dashboard.html", context)
    return render(request, "home.html", context)


async def account_page(request: Request, errors: dict[str, str] | None = None, status: int = 200) -> Response:
    viewer = signed_in(request)
    account = viewer.account

    def load(session: Session) -> tuple[Organisation | None, int, bool]:
        organisation = (
            organisations.get_organisation(session=session, organisation_id=account.organisation_id)
            if account.organisation_id
            else None
        )
        recovery_left = signin.unused_recovery_codes(session=session, account_id=account.id)
        return organisation, recovery_left, notifications.wants_email(session=session, account_id=account.id)

    rt = runtime(request)
    organisation, recovery_left, wants_email = await rt.db.run(load)
    context = {
        "organisation": organisation,
        "roles": accounts.roles_of(account),
        "recovery_left": recovery_left,
        "second_factor_required": await _second_factor_required(request),
        "errors": errors or {},
        "wants_email": wants_email,
        "email_saved": request.query_params.get("saved") == "email",
        "digest_every": _every(rt.settings.email_digest_minutes),
    }
    return render(request, "account.html", context, status)


def _every(minutes: float) -> str:
    if minutes == 60:
        return "an hour"
    if minutes % 60 == 0:
        return f"{minutes / 60:g} hours"
    return f"{minutes:g} minutes"


async def email_choice(request: Request) -> Response:
    """E-mail notifications on or off (a checkbox: unticked sends nothing, so absent means off)."""
    viewer = signed_in(request)
    rt = runtime(request)
    enabled = (await form_of(request)).get("email") == "on"
    await rt.db.run(
        lambda session: notifications.set_email(session=session, keys=rt.keys, account=viewer.account, enabled=enabled)
    )
    return redirect("/account?saved=email#email-notifications")


async def _second_factor_required(request: Request) -> bool:
    account = signed_in(request, allow_without_second_factor=True).account
    rt = runtime(request)
    return await rt.db.run(lambda session: second_factor.required(session, account, production=rt.production))


async def password_form(request: Request) -> Response:
    signed_in(request)
    return render(request, "change_password.html", {"errors": {}})


async def change_password(request: Request) -> Response:
    viewer = signed_in(request)
    rt = runtime(request)
    form = await form_of(request)
    try:
        await accounts.change_password(
            db=rt.db,
            passwords=rt.passwords,
            account_id=viewer.account.id,
            keep_session_id=viewer.session_id,
            current=form.get("current_password"),
            new=form.get("new_password"),
            confirm=form.get("confirm_password"),
        )
    except Invalid as problem:
        return render(request, "change_password.html", {"errors": problem.fields}, 422)
    return redirect("/account?notice=password-changed")


async def _enrolment_context(request: Request, secret: str, errors: dict[str, str]) -> dict[str, object]:
    viewer = signed_in(request, allow_without_second_factor=True)
    enrolment = totp.enrolment_for(secret, viewer.account.email)
    return {
        "enrolment": enrolment,
        "sealed_secret": signin.seal_enrolment(
            cipher=runtime(request).cipher, account_id=viewer.account.id, secret=secret
        ),
        "errors": errors,
        "second_factor_required": await _second_factor_required(request),
    }


async def two_factor_form(request: Request) -> Response:
    viewer = signed_in(request, allow_without_second_factor=True)
    if viewer.account.has_second_factor:
        return redirect("/account")
    secret = totp.new_enrolment(viewer.account.email).secret
    return render(request, "two_factor_setup.html", await _enrolment_context(request, secret, {}))


async def two_factor_confirm(request: Request) -> Response:
    viewer = signed_in(request, allow_without_second_factor=True)
    rt = runtime(request)
    form = await form_of(request)
    account_id = viewer.account.id
    try:
        codes = await rt.db.run(
            lambda session: signin.confirm_enrolment(
                session=session,
                cipher=rt.cipher,
                account_id=account_id,
                sealed_secret=form.get("sealed_secret", ""),
                code=form.get("code"),
            )
        )
    except Invalid as problem:
        try:
            secret = rt.cipher.decrypt(form.get("sealed_secret", ""), context=f"totp-enrolment:{account_id}")
        except ValueError:
            secret = totp.new_enrolment(viewer.account.email).secret
        return render(request, "two_factor_setup.html", await _enrolment_context(request, secret, problem.fields), 422)
    return render(request, "recovery_codes.html", {"codes": codes})


async def two_factor_remove(request: Request) -> Response:
    viewer = signed_in(request)
    rt = runtime(request)
    form = await form_of(request)
    try:
        await signin.turn_off_second_factor(
            db=rt.db,
            passwords=rt.passwords,
            account=viewer.account,
            password=form.get("password"),
            required=await _second_factor_required(request),
        )
    except Invalid as problem:
        return await account_page(request, problem.fields, 422)
    return redirect("/account?notice=two-factor-removed")


routes = [
    Route("/", home, methods=["GET"]),
    Route("/account", account_page, methods=["GET"]),
    Route("/account/notifications", email_choice, methods=["POST"]),
    Route("/account/password", password_form, methods=["GET"]),
    Route("/account/password", change_password, methods=["POST"]),
    Route("/account/two-factor", two_factor_form, methods=["GET"]),
    Route("/account/two-factor", two_factor_confirm, methods=["POST"]),
    Route("/account/two-factor/remove", two_factor_remove, methods=["POST"]),
]
