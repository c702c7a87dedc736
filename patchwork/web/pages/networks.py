"""Finding a child, starting a network, the network page, involvement and lead actions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from patchwork import policy
from patchwork.errors import Conflict, Forbidden, Invalid, NotFound, TooManyRequests
from patchwork.services import children, family, network_links, networks, stream
from patchwork.web.context import runtime
from patchwork.web.pages.common import form_of, redirect, render, signed_in

CHILD_FIELDS = ("given_name", "family_name", "known_as", "dob_day", "dob_month", "dob_year", "nhs_number", "postcode")


async def search_form(request: Request) -> Response:
    if not policy.search_children(signed_in(request).actor):
        raise NotFound()
    return render(request, "search.html", {"values": {}, "errors": {}})


async def search(request: Request) -> Response:
    viewer = signed_in(request)
    rt = runtime(request)
    form = await form_of(request)
    values = {
        key: form.get(key, "")
        for key in ("family_name", "given_name", "dob_day", "dob_month", "dob_year", "nhs_number")
    }
    try:
        query = children.clean_query(form, today=networks.today())
        match = await rt.db.run(
            lambda session: networks.search(
                session=session, keys=rt.keys, actor=viewer.actor, query=query, per_hour=rt.settings.search_rate_limit
            )
        )
    except Invalid as problem:
        return render(request, "search.html", {"values": values, "errors": problem.fields}, 422)
    except TooManyRequests as problem:
        response = render(request, "search.html", {"values": values, "errors": {"family_name": problem.message}}, 429)
        response.headers["Retry-After"] = str(problem.retry_after)
        return response
    return render(request, "search.html", {"values": values, "errors": {}, "searched": True, "match": match})


async def new_network_form(request: Request) -> Response:
    if not policy.start_network(signed_in(request).actor):
        raise NotFound()
    return render(request, "network_new.html", {"values": {}, "errors": {}})


async def start_network(request: Request) -> Response:
    viewer = signed_in(request)
    rt = runtime(request)
    form = await form_of(request)
    values = {key: value for key, value in form.items() if key != "prefill"}
    if form.get("prefill"):
        return render(request, "network_new.html", {"values": values, "errors": {}})
    try:
        identity = children.clean_identity(form, today=networks.today())
        details = _involvement_details(form)
        networks.clean_involvement(details)
        different = (
            network_links.DifferentChild(
                detail=form.get("different_child_detail"), reason=form.get("different_child_reason")
            )
            if form.get("different_child") == "yes"
            else None
        )
        network = await rt.db.run(
            lambda session: networks.start_network(
                session=session,
                keys=rt.keys,
                actor=viewer.actor,
                identity=identity,
                details=details,
                different_child=different,
            )
        )
    except Invalid as problem:
        errors = dict(problem.fields)
        try:
            networks.clean_involvement(_involvement_details(form))
        except Invalid as more:
            errors.update(more.fields)
        return render(request, "network_new.html", {"values": values, "errors": errors}, 422)
    except Conflict as problem:
        errors = {"nhs_number": problem.message} if problem.code == "same_nhs_number" else {}
        return render(request, "network_new.html", {"values": values, "errors": errors, "duplicate": not errors}, 409)
    return redirect(f"/networks/{network.id}?notice=network-started")


def _involvement_details(form: dict[str, str]) -> networks.InvolvementDetails:
    return networks.InvolvementDetails(
        role_label=form.get("role_label"),
        reason=form.get("reason"),
        contact=form.get("contact", ""),
        sensitive=form.get("sensitive") == "yes",
    )


async def network_page(
    request: Request, *, errors: dict[str, str] | None = None, status: int = 200, audited: bool = True
) -> Response:
    viewer = signed_in(request)
    rt = runtime(request)
    network_id = request.path_params["network_id"]

    def load(session: Session) -> dict[str, Any]:
        cursor = stream.page_cursor(session=session, keys=rt.keys, network_id=network_id)
        view = networks.view_network(
            session=session, keys=rt.keys, actor=viewer.actor, network_id=network_id, audited=audited
        )
        joined = (
            family.family_of_network(session=session, keys=rt.keys, account=viewer.account, network_id=network_id)
            if view.am_lead
            else None
        )
        return {
            "view": view,
            "live_cursor": cursor if view.me else None,
            "family_members": joined.members if joined else [],
            "closure": networks.closure(session, view.network),
            "departures": networks.departures(session=session, keys=rt.keys, actor=viewer.actor, view=view),
        }

    context = await rt.db.run(load)
    view = context["view"]
    if view.network.id != network_id:
        return redirect(f"/networks/{view.network.id}")
    ended = request.query_params.get("ended")
    context |= {
        "errors": errors or {},
        "lead_candidates": [(m.involvement.account_id, m.name) for m in view.members if not m.involvement.is_lead],
        "ended_notice": next((d for d in context["departures"] if d.involvement_id == ended), None),
    }
    return render(request, "network.html", context, status)


async def show_network(request: Request) -> Response:
    return await network_page(request)


async def join_form(request: Request) -> Response:
    viewer = signed_in(request)
    network_id = request.path_params["network_id"]
    context: dict[str, Any] = {"values": {}, "errors": {}, "network_id": network_id}
    try:
        await runtime(request).db.run(
            lambda session: networks.joinable(session=session, actor=viewer.actor, network_id=network_id)
        )
    except Conflict as problem:
        if problem.code == "already_member":
            return redirect(f"/networks/{network_id}")
        context["refusal"] = problem.message
    return render(request, "network_join.html", context)


async def join(request: Request) -> Response:
    viewer = signed_in(request)
    rt = runtime(request)
    network_id = request.path_params["network_id"]
    form = await form_of(request)
    try:
        await rt.db.run(
            lambda session: networks.register_involvement(
                session=session,
                keys=rt.keys,
                actor=viewer.actor,
                network_id=network_id,
                details=_involvement_details(form),
            )
        )
    except Invalid as problem:
        context = {"values": form, "errors": problem.fields, "network_id": network_id}
        return render(request, "network_join.html", context, 422)
    except Conflict as problem:
        context = {"values": form, "errors": {}, "network_id": network_id, "refusal": problem.message}
        return render(request, "network_join.html", context, 409)
    return redirect(f"/networks/{network_id}?notice=joined")


NetworkChange = Callable[[Session, policy.Actor, str, dict[str, str]], str]


async def _network_change(request: Request, change: NetworkChange) -> Response:
    """Run one change to a network, then go where it says; refusals re-render the network page."""
    viewer = signed_in(request)
    rt = runtime(request)
    network_id = request.path_params["network_id"]
    form = await form_of(request)
    try:
        location = await rt.db.run(lambda session: change(session, viewer.actor, network_id, form))
    except Invalid as problem:
        return await network_page(request, errors=problem.fields, status=422, audited=False)
    except (Conflict, Forbidden) as problem:
        return await network_page(request, errors={"network": problem.message}, status=problem.status, audited=False)
    return redirect(location)


async def end_form(
    request: Request, *, values: dict[str, str] | None = None, errors: dict[str, str] | None = None, status: int = 200
) -> Response:
    """Whose involvement ends and what they lose, before it happens; ending someone else's asks why."""
    viewer = signed_in(request)
    rt = runtime(request)
    network_id, involvement_id = request.path_params["network_id"], request.path_params["involvement_id"]
    ending = await rt.db.run(
        lambda session: networks.ending(
            session=session, keys=rt.keys, actor=viewer.actor, network_id=network_id, involvement_id=involvement_id
        )
    )
    context = {"ending": ending, "view": ending.view, "values": values or {}, "errors": errors or {}}
    return render(request, "network_end_involvement.html", context, status)


async def end_involvement(request: Request) -> Response:
    viewer = signed_in(request)
    rt = runtime(request)
    network_id, involvement_id = request.path_params["network_id"], request.path_params["involvement_id"]
    form = await form_of(request)
    try:
        ended = await rt.db.run(
            lambda session: networks.end_involvement(
                session=session,
                keys=rt.keys,
                actor=viewer.actor,
                network_id=network_id,
                involvement_id=involvement_id,
                reason=form.get("reason"),
                reason_required=True,
            )
        )
    except Invalid as problem:
        return await end_form(request, values=form, errors=problem.fields, status=422)
    except (Conflict, Forbidden) as problem:
        return await network_page(request, errors={"network": problem.message}, status=problem.status, audited=False)
    if ended.account_id == viewer.account.id:
        return redirect("/?notice=left-network")
    return redirect(f"/networks/{network_id}?ended={ended.id}")


async def appoint_lead(request: Request) -> Response:
    keys = runtime(request).keys

    def change(session: Session, actor: policy.Actor, network_id: str, form: dict[str, str]) -> str:
        networks.appoint_lead(
            session=session, keys=keys, actor=actor, network_id=network_id, user_id=form.get("user_id")
        )
        return f"/networks/{network_id}?notice=lead-appointed"

    return await _network_change(request, change)


async def step_down(request: Request) -> Response:
    keys = runtime(request).keys

    def change(session: Session, actor: policy.Actor, network_id: str, form: dict[str, str]) -> str:
        networks.step_down(session=session, keys=keys, actor=actor, network_id=network_id)
        return f"/networks/{network_id}?notice=stepped-down"

    return await _network_change(request, change)


async def history_rule(request: Request) -> Response:
    keys = runtime(request).keys

    def change(session: Session, actor: policy.Actor, network_id: str, form: dict[str, str]) -> str:
        networks.set_history_rule(
            session=session, keys=keys, actor=actor, network_id=network_id, rule=form.get("history_rule")
        )
        return f"/networks/{network_id}?notice=network-saved"

    return await _network_change(request, change)


async def close_form(
    request: Request, *, values: dict[str, str] | None = None, errors: dict[str, str] | None = None, status: int = 200
) -> Response:
    """What closing the network means, before a lead closes it, and why."""
    viewer = signed_in(request)
    rt = runtime(request)
    network_id = request.path_params["network_id"]
    view = await rt.db.run(
        lambda session: networks.closing(session=session, keys=rt.keys, actor=viewer.actor, network_id=network_id)
    )
    context = {"view": view, "values": values or {}, "errors": errors or {}}
    return render(request, "network_close.html", context, status)


async def network_status(request: Request) -> Response:
    """Close (from the confirmation page, with a reason) or reopen the network."""
    viewer = signed_in(request)
    rt = runtime(request)
    network_id = request.path_params["network_id"]
    form = await form_of(request)
    reopen = form.get("status") == "open"
    try:
        await rt.db.run(
            lambda session: networks.set_open(
                session=session,
                keys=rt.keys,
                actor=viewer.actor,
                network_id=network_id,
                open_=reopen,
                reason=form.get("reason"),
                reason_required=True,
            )
        )
    except Invalid as problem:
        return await close_form(request, values=form, errors=problem.fields, status=422)
    except (Conflict, Forbidden) as problem:
        return await network_page(request, errors={"network": problem.message}, status=problem.status, audited=False)
    return redirect(f"/networks/{network_id}?notice={'network-reopened' if reopen else 'network-closed'}")


routes = [
    Route("/search", search_form, methods=["GET"]),
    Route("/search", search, methods=["POST"]),
    Route("/networks/new", new_network_form, methods=["GET"]),
    Route("/networks/new", start_network, methods=["POST"]),
    Route("/networks/{network_id}", show_network, methods=["GET"]),
    Route("/networks/{network_id}/join", join_form, methods=["GET"]),
    Route("/networks/{network_id}/involvements", join, methods=["POST"]),
    Route("/networks/{network_id}/involvements/{involvement_id}/end", end_form, methods=["GET"]),
    Route("/networks/{network_id}/involvements/{involvement_id}/end", end_involvement, methods=["POST"]),
    Route("/networks/{network_id}/leads", appoint_lead, methods=["POST"]),
    Route("/networks/{network_id}/leads/step-down", step_down, methods=["POST"]),
    Route("/networks/{network_id}/history-rule", history_rule, methods=["POST"]),
    Route("/networks/{network_id}/close", close_form, methods=["GET"]),
    Route("/networks/{network_id}/status", network_status, methods=["POST"]),
]
