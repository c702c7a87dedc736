"""Family pages: a lead invites a family member, the family member accepts, their home and their view of the network,
and posting their own account (family voice)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from patchwork.auth.sessions import end_web_session, start_web_session
from patchwork.errors import Conflict, Invalid, TooManyRequests
from patchwork.services import family, networks, notes, stream
from patchwork.web.context import client_address, runtime
from patchwork.web.pages.common import form_of, redirect, render, set_session_cookie, signed_in

NOTICES = {
    "welcome": ("Success", "You have joined. This is what the professionals working with your family share with you."),
    "voice-posted": ("Success", "Your account has been posted. Every professional in the network can read it."),
}
INVITATION_FIELDS = ("name", "relationship", "email")
ACCEPT_FIELDS = ("code", "email", "name")


def _notice(request: Request) -> tuple[str, str] | None:
    return NOTICES.get(request.query_params.get("notice", ""))


# A lead invites


async def _invite_page(
    request: Request, *, values: dict[str, str] | None = None, errors: dict[str, str] | None = None, status: int = 200
) -> Response:
    viewer = signed_in(request)
    rt = runtime(request)
    network_id = request.path_params["network_id"]

    def load(session: Session) -> tuple[networks.NetworkView, family.FamilyOfNetwork]:
        family.check_can_invite(session=session, account=viewer.account, network_id=network_id)
        view = networks.view_network(
            session=session, keys=rt.keys, actor=viewer.actor, network_id=network_id, audited=False
        )
        return view, family.family_of_network(
            session=session, keys=rt.keys, account=viewer.account, network_id=view.network.id
        )

    view, found = await rt.db.run(load)
    context: dict[str, Any] = {
        "view": view,
        "family": found,
        "values": values or {},
        "errors": errors or {},
        "hours": rt.settings.family_invitation_hours,
    }
    return render(request, "family/invite.html", context, status)


async def invite_form(request: Request) -> Response:
    return await _invite_page(request)


async def invite(request: Request) -> Response:
    viewer = signed_in(request)
    rt = runtime(request)
    network_id = request.path_params["network_id"]
    form = await form_of(request)
    values = {key: form.get(key, "") for key in INVITATION_FIELDS}
    lifetime = timedelta(hours=rt.settings.family_invitation_hours)
    try:
        invited = await rt.db.run(
            lambda session: family.invite(
                session=session,
                keys=rt.keys,
                account=viewer.account,
                network_id=network_id,
                details=family.InvitationDetails(**values),
                lifetime=lifetime,
            )
        )
    except Invalid as problem:
        return await _invite_page(request, values=values, errors=problem.fields, status=422)
    # The code is shown on this page once, never put in a URL: it is handed over in person.
    return render(request, "family/invited.html", {"invitation": invited.opened, "code": invited.code}, 201)


# The family member accepts


async def accept_form(request: Request) -> Response:
    return render(request, "family/accept.html", {"values": {}, "errors": {}})


async def accept(request: Request) -> Response:
    rt = runtime(request)
    form = await form_of(request)
    values = {key: form.get(key, "") for key in ACCEPT_FIELDS}
    try:
        joined = await family.accept(
            db=rt.db,
            passwords=rt.passwords,
            keys=rt.keys,
            limits=rt.sign_in_limits,
            details=family.Acceptance(
                code=form.get("code"), email=form.get("email"), name=form.get("name"), password=form.get("password")
            ),
            address=client_address(request),
        )
    except Invalid as problem:
        return render(request, "family/accept.html", {"values": values, "errors": problem.fields}, 422)
    except Conflict as problem:
        return render(request, "family/accept.html", {"values": values, "errors": {"code": problem.message}}, 409)
    except TooManyRequests as problem:
        response = render(request, "family/accept.html", {"values": values, "errors": {"code": problem.message}}, 429)
        response.headers["Retry-After"] = str(problem.retry_after)
        return response
    previous = getattr(request.state, "viewer", None)

    def start(session: Session) -> str:
        if previous is not None and previous.session_id:
            end_web_session(session=session, session_id=previous.session_id)
        return start_web_session(session=session, account_id=joined.account.id, timeouts=rt.timeouts)

    token = await rt.db.run(start)
    response = redirect(f"/family/networks/{joined.membership.network_id}?notice=welcome")
    set_session_cookie(response, request, token)
    return response


# The family member's pages


async def home(request: Request) -> Response:
    viewer = signed_in(request)
    rt = runtime(request)
    mine = await rt.db.run(
        lambda session: family.my_family_networks(session=session, keys=rt.keys, account=viewer.account)
    )
    return render(request, "family/home.html", {"networks": mine})


async def _network_page(
    request: Request, *, values: dict[str, str] | None = None, errors: dict[str, str] | None = None, status: int = 200
) -> Response:
    viewer = signed_in(request)
    rt = runtime(request)
    network_id = request.path_params["network_id"]
    before = request.query_params.get("before") or None

    def load(session: Session) -> tuple[family.FamilyView, str | None]:
        cursor = None if before else stream.page_cursor(session=session, keys=rt.keys, network_id=network_id)
        view = family.family_view(
            session=session,
            keys=rt.keys,
            account=viewer.account,
            network_id=network_id,
            before=before,
            audited=status == 200,
        )
        return view, cursor

    view, cursor = await rt.db.run(load)
    if view.network.id != network_id:
        return redirect(f"/family/networks/{view.network.id}")
    context: dict[str, Any] = {
        "view": view,
        "page": view.page,
        "values": values or {},
        "errors": errors or {},
        "return_to": "feed",
        "family_notice": _notice(request),
        "max_body": notes.MAX_BODY,
        "live_cursor": cursor,
    }
    return render(request, "family/network.html", context, status)


async def show_network(request: Request) -> Response:
    return await _network_page(request)


async def post_voice(request: Request) -> Response:
    viewer = signed_in(request)
    rt = runtime(request)
    network_id = request.path_params["network_id"]
    form = await form_of(request)
    try:
        note = await rt.db.run(
            lambda session: (
                notes.post_family_voice(
                    session=session, keys=rt.keys, account=viewer.account, network_id=network_id, body=form.get("body")
                ).note
            ),
            writes_notes=True,
        )
    except Invalid as problem:
        return await _network_page(request, values={"body": form.get("body", "")}, errors=problem.fields, status=422)
    except Conflict as problem:
        return await _network_page(
            request, values={"body": form.get("body", "")}, errors={"body": problem.message}, status=409
        )
    return redirect(f"/family/networks/{note.network_id}?notice=voice-posted#note-{note.id}")


routes = [
    Route("/family", home, methods=["GET"]),
    Route("/family/accept", accept_form, methods=["GET"]),
    Route("/family/accept", accept, methods=["POST"]),
    Route("/family/networks/{network_id}", show_network, methods=["GET"]),
    Route("/family/networks/{network_id}/voice", post_voice, methods=["POST"]),
    Route("/networks/{network_id}/family-invitations/new", invite_form, methods=["GET"]),
    Route("/networks/{network_id}/family-invitations", invite, methods=["POST"]),
]
