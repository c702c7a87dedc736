"""Alerts on the pages: the list (history included), one alert, acknowledging and resolving it."""

from __future__ import annotations

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from patchwork.errors import Conflict, Forbidden, Invalid
from patchwork.models.alerts import AlertOutcome
from patchwork.services import alerts, stream
from patchwork.web.context import runtime
from patchwork.web.pages.common import form_of, redirect, render, signed_in


async def alert_list(request: Request) -> Response:
    viewer = signed_in(request)
    rt = runtime(request)
    views = await rt.db.run(
        lambda session: alerts.for_person(
            session=session, keys=rt.keys, account=viewer.account, thresholds=rt.settings.alert_thresholds
        )
    )
    return render(request, "alerts/list.html", {"views": views})


async def alert_page(
    request: Request, *, errors: dict[str, str] | None = None, values: dict[str, str] | None = None, status: int = 200
) -> Response:
    viewer = signed_in(request)
    rt = runtime(request)
    alert_id = request.path_params["alert_id"]

    def load(session: Session) -> tuple[str | None, alerts.AlertView]:
        view = alerts.get(
            session=session,
            keys=rt.keys,
            account=viewer.account,
            alert_id=alert_id,
            thresholds=rt.settings.alert_thresholds,
        )
        cursor = stream.page_cursor(session=session, keys=rt.keys, network_id=view.alert.network_id)
        return (cursor if view.note_ids else None), view  # a lead's page follows the network; an admin's does not

    cursor, view = await rt.db.run(load)
    context = {
        "live_cursor": cursor,
        "view": view,
        "errors": errors or {},
        "values": values or {},
        "outcomes": alerts.OUTCOME_LABELS,
        "other": AlertOutcome.other,
    }
    return render(request, "alerts/alert.html", context, status)


async def acknowledge(request: Request) -> Response:
    viewer = signed_in(request)
    rt = runtime(request)
    alert_id = request.path_params["alert_id"]
    try:
        await rt.db.run(
            lambda session: alerts.acknowledge(
                session=session,
                keys=rt.keys,
                account=viewer.account,
                alert_id=alert_id,
                thresholds=rt.settings.alert_thresholds,
            )
        )
    except (Conflict, Forbidden) as problem:
        return await alert_page(request, errors={"alert": problem.message}, status=problem.status)
    return redirect(f"/alerts/{alert_id}?notice=alert-acknowledged")


async def resolve(request: Request) -> Response:
    viewer = signed_in(request)
    rt = runtime(request)
    alert_id = request.path_params["alert_id"]
    form = await form_of(request)
    values = {"outcome": form.get("outcome", ""), "text": form.get("text", "")}
    try:
        await rt.db.run(
            lambda session: alerts.resolve(
                session=session,
                keys=rt.keys,
                account=viewer.account,
                alert_id=alert_id,
                outcome=values["outcome"],
                text=values["text"],
                thresholds=rt.settings.alert_thresholds,
            )
        )
    except Invalid as problem:
        return await alert_page(request, errors=problem.fields, values=values, status=422)
    except (Conflict, Forbidden) as problem:
        return await alert_page(request, errors={"alert": problem.message}, values=values, status=problem.status)
    return redirect(f"/alerts/{alert_id}?notice=alert-resolved")


routes = [
    Route("/alerts", alert_list, methods=["GET"]),
    Route("/alerts/{alert_id}", alert_page, methods=["GET"]),
    Route("/alerts/{alert_id}/acknowledgement", acknowledge, methods=["POST"]),
    Route("/alerts/{alert_id}/resolution", resolve, methods=["POST"]),
]
