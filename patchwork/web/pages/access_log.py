"""The access log page: who has looked at a child's record, for the child's family (and the network's leads)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from patchwork import policy
from patchwork.clock import LONDON
from patchwork.errors import Invalid
from patchwork.services import access_log, family
from patchwork.web.context import runtime
from patchwork.web.pages.common import redirect, render, signed_in


def _local(moment: datetime) -> datetime:
    return moment.astimezone(LONDON) if LONDON is not None else moment


def _day(visits: access_log.Visits) -> str:
    return visits.day.strftime("%-d %B %Y")


def _span(visits: access_log.Visits) -> str:
    first, last = _local(visits.first).strftime("%H:%M"), _local(visits.last).strftime("%H:%M")
    return first if first == last else f"{first} to {last}"


async def show(request: Request) -> Response:
    viewer = signed_in(request)
    rt = runtime(request)
    network_id = request.path_params["network_id"]
    before = request.query_params.get("before") or None
    is_family = bool(policy.sees_as_family(viewer.actor))

    def load(session: Session) -> tuple[access_log.AccessLog, family.Addressing | None]:
        log = access_log.access_log(
            session=session, keys=rt.keys, actor=viewer.actor, network_id=network_id, before=before
        )
        if not is_family:
            return log, None
        return log, family.addressing_in(
            session=session, keys=rt.keys, account_id=viewer.account.id, network_id=log.network.id
        )

    try:
        log, addressed = await rt.db.run(load)
    except Invalid:
        return redirect(f"/networks/{network_id}/access-log")
    if log.network.id != network_id:
        return redirect(f"/networks/{log.network.id}/access-log")
    context = {
        "log": log,
        "visits": [(_day(v), _span(v), v) for v in access_log.by_person_and_day(log.entries, LONDON)],
        "first_page": before is None,
        "addressed": addressed,
        "back": f"/family/networks/{log.network.id}" if is_family else f"/networks/{log.network.id}",
        "time_zone": "UK time" if LONDON is not None else "UTC",
    }
    return render(request, "family/access_log.html", context)


routes = [Route("/networks/{network_id}/access-log", show, methods=["GET"])]
