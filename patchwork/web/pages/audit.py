"""The audit trail, for system admins, paged and filtered by person and network; every reading of it is itself
recorded. The filter form is posted (a child's details never go in an address) and answered with a redirect to
the page's address with ids only."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from patchwork.errors import NotFound
from patchwork.services import networks
from patchwork.services.admin_search import NetworkChoice
from patchwork.services.audit import browsing
from patchwork.web.context import runtime
from patchwork.web.pages.common import form_of, redirect, render, signed_in

PAGE_SIZE = browsing.PAGE_SIZE


def href(network: str | None = None, actor: str | None = None, **cursor: int | None) -> str:
    """The page's address for these filters (ids only) and cursor."""
    query = {"network": network, "actor": actor} | cursor
    kept = {name: value for name, value in query.items() if value is not None}
    return "/admin/audit" + ("?" + urlencode(kept) if kept else "")


def _id(value: str | None) -> str | None:
    return value if value and len(value) <= 36 else None


def _seq(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 19 else None


async def audit_page(request: Request) -> Response:
    viewer = signed_in(request)
    rt = runtime(request)
    if not viewer.is_system_admin:
        raise NotFound()
    params = request.query_params
    network_id, actor_id = _id(params.get("network")), _id(params.get("actor"))
    page = await rt.db.run(
        lambda session: browsing.trail_page(
            session=session,
            key=rt.keys.audit,
            actor=viewer.actor,
            network_id=network_id,
            actor_id=actor_id,
            before_seq=_seq(params.get("before")),
            after_seq=_seq(params.get("after")),
            limit=PAGE_SIZE,
        )
    )
    return _render(request, page=page, network_id=network_id, actor_id=actor_id)


async def filter_trail(request: Request) -> Response:
    viewer = signed_in(request)
    rt = runtime(request)
    if not viewer.is_system_admin:
        raise NotFound()
    form = await form_of(request)
    chosen = await rt.db.run(
        lambda session: browsing.resolve_filters(
            session=session,
            keys=rt.keys,
            actor=viewer.actor,
            form=form,
            per_hour=rt.settings.search_rate_limit,
            today=networks.today(),
        )
    )
    if chosen.errors:
        return _render(request, values=form, errors=chosen.errors, status=422)
    if chosen.choices:
        return _render(request, values=form, choices=chosen.choices, actor_id=chosen.actor_id)
    return redirect(href(network=chosen.network_id, actor=chosen.actor_id))


def _render(
    request: Request,
    *,
    page: browsing.TrailPage | None = None,
    network_id: str | None = None,
    actor_id: str | None = None,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    choices: list[NetworkChoice] | None = None,
    status: int = 200,
) -> Response:
    if values is None and page is not None:  # the form shows the filters in force, so changing one keeps the other
        who = (page.person.email or "") if page.person else ""
        values = {"who": who, "network": network_id or "", browsing.NETWORK + "reference": page.network or ""}
    context = {
        "page": page,
        "network_id": network_id,
        "actor_id": actor_id,
        "values": values or {},
        "errors": errors or {},
        "choices": choices,
        "href": href,
        "prefix": browsing.NETWORK,
        "page_size": PAGE_SIZE,
    }
    return render(request, "admin_audit.html", context, status)


routes = [
    Route("/admin/audit", audit_page, methods=["GET"]),
    Route("/admin/audit", filter_trail, methods=["POST"]),
]
