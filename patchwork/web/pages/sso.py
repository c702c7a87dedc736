"""Coming back from an organisation's identity provider, and a system admin connecting one."""

from __future__ import annotations

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from patchwork.auth.sessions import end_web_session, start_web_session
from patchwork.errors import Invalid
from patchwork.models import AccountStatus
from patchwork.services import organisations, signin, sso
from patchwork.web.context import runtime
from patchwork.web.pages.auth import sso_callback_url
from patchwork.web.pages.common import form_of, redirect, render, set_session_cookie, signed_in


async def callback(request: Request) -> Response:
    rt = runtime(request)
    query = request.query_params
    try:
        outcome = await sso.complete(
            db=rt.db,
            keys=rt.keys,
            state=query.get("state"),
            code=query.get("code"),
            error=query.get("error"),
            redirect_uri=sso_callback_url(request),
        )
    except sso.SsoRefused as problem:
        return render(request, "sso_refused.html", {"message": problem.message}, 400)
    account = outcome.account
    if outcome.created:
        return render(request, "sso_waiting.html", {"account": account})
    if account.status != AccountStatus.active:
        return render(
            request, "sso_refused.html", {"message": signin.STATUS_MESSAGES[AccountStatus(account.status)]}, 403
        )
    pending = account.has_second_factor and not outcome.second_factor
    previous = getattr(request.state, "viewer", None)

    def start(session: Session) -> str:
        if previous is not None and previous.session_id:
            end_web_session(session=session, session_id=previous.session_id)
        return start_web_session(
            session=session,
            account_id=account.id,
            timeouts=rt.timeouts,
            second_factor_pending=pending,
            second_factor_by_provider=outcome.second_factor,
        )

    token = await rt.db.run(start)
    response = redirect("/sign-in/code" if pending else ("/?notice=sso-linked" if outcome.linked else "/"))
    set_session_cookie(response, request, token)
    return response


def _form_values(found: sso.SsoView | None) -> dict[str, str]:
    if found is None:
        return {}
    return {
        "discovery_url": found.discovery_url,
        "client_id": found.client_id,
        "domains": "\n".join(found.domains),
        "multi_factor_acr": " ".join(found.multi_factor_acr),
    }


async def settings_page(request: Request) -> Response:
    viewer = signed_in(request)
    organisation_id = request.path_params["organisation_id"]

    def load(session: Session) -> tuple[object, sso.SsoView | None]:
        found = sso.view(session=session, actor=viewer.actor, organisation_id=organisation_id)
        return organisations.get_organisation(session=session, organisation_id=organisation_id), found

    organisation, found = await runtime(request).db.run(load)
    context = {
        "organisation": organisation,
        "provider": found,
        "values": _form_values(found),
        "errors": {},
        "callback_url": sso_callback_url(request),
    }
    return render(request, "organisation_sso.html", context)


async def save(request: Request) -> Response:
    viewer = signed_in(request)
    organisation_id = request.path_params["organisation_id"]
    rt = runtime(request)
    form = await form_of(request)
    raw = sso.SsoInput(
        discovery_url=form.get("discovery_url"),
        client_id=form.get("client_id"),
        client_secret=form.get("client_secret"),
        domains=form.get("domains"),
        multi_factor_acr=form.get("multi_factor_acr", ""),
    )
    try:
        await sso.save(
            db=rt.db,
            keys=rt.keys,
            actor=viewer.actor,
            organisation_id=organisation_id,
            raw=raw,
            redirect_uri=sso_callback_url(request),
        )
    except Invalid as problem:

        def load(session: Session) -> tuple[object, sso.SsoView | None]:
            found = sso.view(session=session, actor=viewer.actor, organisation_id=organisation_id)
            return organisations.get_organisation(session=session, organisation_id=organisation_id), found

        organisation, found = await rt.db.run(load)
        values = {key: form.get(key, "") for key in ("discovery_url", "client_id", "domains", "multi_factor_acr")}
        context = {
            "organisation": organisation,
            "provider": found,
            "values": values,
            "errors": problem.fields,
            "callback_url": sso_callback_url(request),
        }
        return render(request, "organisation_sso.html", context, 422)
    return redirect(f"/organisations/{organisation_id}/single-sign-on?notice=sso-saved")


async def remove(request: Request) -> Response:
    viewer = signed_in(request)
    organisation_id = request.path_params["organisation_id"]
    rt = runtime(request)
    await rt.db.run(
        lambda session: sso.remove(session=session, keys=rt.keys, actor=viewer.actor, organisation_id=organisation_id)
    )
    return redirect(f"/organisations/{organisation_id}/single-sign-on?notice=sso-removed")


routes = [
    Route("/sso/callback", callback, methods=["GET"]),
    Route("/organisations/{organisation_id}/single-sign-on", settings_page, methods=["GET"]),
    Route("/organisations/{organisation_id}/single-sign-on", save, methods=["POST"]),
    Route("/organisations/{organisation_id}/single-sign-on/remove", remove, methods=["POST"]),
]
