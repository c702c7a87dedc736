"""The alerts part of the JSON API: the alerts the caller is shown, acknowledging and resolving them."""

from __future__ import annotations

from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import Response

from patchwork import limits
from patchwork.errors import Invalid
from patchwork.models.alerts import AlertState
from patchwork.services import alerts
from patchwork.web.api.convert import alert_out
from patchwork.web.api.jsonio import json_response, parse_json, require_viewer
from patchwork.web.api.openapi import operation
from patchwork.web.api.schemas import AlertOut, Strict, text_field
from patchwork.web.context import runtime


class AlertList(BaseModel):
    alerts: list[AlertOut]


class ResolutionIn(Strict):
    outcome: str = Field(
        max_length=40,
        description="no_further_action, discussed_with_network, referred_to_social_care, or other (with text)",
    )
    text: str | None = text_field(limits.ALERT_OUTCOME, required=False, default=None)


@operation(
    "GET",
    "/alerts",
    summary="The alerts the caller is shown, newest first (?state=open|acknowledged|resolved)",
    responses={200: AlertList},
    refusals=(422,),
)
async def list_alerts(request: Request) -> Response:
    viewer = require_viewer(request)
    rt = runtime(request)
    state = request.query_params.get("state")
    if state is not None and state not in tuple(AlertState):
        raise Invalid({"state": "Choose open, acknowledged or resolved"})
    views = await rt.db.run(
        lambda session: alerts.for_person(
            session=session, keys=rt.keys, account=viewer.account, thresholds=rt.settings.alert_thresholds, state=state
        )
    )
    return json_response(AlertList(alerts=[alert_out(view) for view in views]))


@operation(
    "GET",
    "/alerts/{alert_id}",
    summary="One alert, as the caller is shown it",
    responses={200: AlertOut},
    refusals=(404,),
)
async def get_alert(request: Request) -> Response:
    viewer = require_viewer(request)
    rt = runtime(request)
    alert_id = request.path_params["alert_id"]
    view = await rt.db.run(
        lambda session: alerts.get(
            session=session,
            keys=rt.keys,
            account=viewer.account,
            alert_id=alert_id,
            thresholds=rt.settings.alert_thresholds,
        )
    )
    return json_response(alert_out(view))


@operation(
    "POST",
    "/alerts/{alert_id}/acknowledgement",
    summary="Acknowledge an alert (again: no change)",
    responses={200: AlertOut},
    refusals=(403, 404, 409),
)
async def acknowledge_alert(request: Request) -> Response:
    viewer = require_viewer(request)
    rt = runtime(request)
    alert_id = request.path_params["alert_id"]
    view = await rt.db.run(
        lambda session: alerts.acknowledge(
            session=session,
            keys=rt.keys,
            account=viewer.account,
            alert_id=alert_id,
            thresholds=rt.settings.alert_thresholds,
        )
    )
    return json_response(alert_out(view))


@operation(
    "POST",
    "/alerts/{alert_id}/resolution",
    summary="Resolve an alert with its outcome (`other` needs `text`)",
    body=ResolutionIn,
    responses={200: AlertOut},
    refusals=(403, 404, 409),
)
async def resolve_alert(request: Request) -> Response:
    viewer = require_viewer(request)
    rt = runtime(request)
    alert_id = request.path_params["alert_id"]
    data = await parse_json(request, ResolutionIn)
    view = await rt.db.run(
        lambda session: alerts.resolve(
            session=session,
            keys=rt.keys,
            account=viewer.account,
            alert_id=alert_id,
            outcome=data.outcome,
            text=data.text,
            thresholds=rt.settings.alert_thresholds,
        )
    )
    return json_response(alert_out(view))
