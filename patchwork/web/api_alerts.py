"""The alerts part of the JSON API: the alerts the caller is shown, acknowledging and resolving them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import Response

from patchwork import limits
from patchwork.clock import isoformat
from patchwork.errors import Invalid
from patchwork.models.alerts import AlertState
from patchwork.services import alerts
from patchwork.web.api import api
from patchwork.web.context import runtime
from patchwork.web.jsonio import json_response, parse_json, require_viewer
from patchwork.web.schemas import Strict, text_field

AlertKindName = Literal["accumulation", "urgent", "escalation", "no_lead"]
OutcomeName = Literal["no_further_action", "discussed_with_network", "referred_to_social_care", "other"]


class AlertOut(BaseModel):
    id: str
    network_id: str
    kind: AlertKindName
    state: Literal["open", "acknowledged", "resolved"]
    raised_at: str
    reason: str = Field(description="Plain language, naming and counting only what the caller may see")
    note_ids: list[str] = Field(description="The notes it was raised on that the caller may see")
    outcome: OutcomeName | None = None
    outcome_text: str | None = None
    acknowledged_at: str | None = None
    resolved_at: str | None = None
    may_acknowledge: bool
    may_resolve: bool


class AlertList(BaseModel):
    alerts: list[AlertOut]


class ResolutionIn(Strict):
    outcome: str = Field(
        max_length=40,
        description="no_further_action, discussed_with_network, referred_to_social_care, or other (with text)",
    )
    text: str | None = text_field(limits.ALERT_OUTCOME, required=False, default=None)


def alert_out(view: alerts.AlertView) -> AlertOut:
    alert = view.alert
    return AlertOut(
        id=alert.id,
        network_id=alert.network_id,
        kind=alert.kind,
        state=alert.state,
        raised_at=isoformat(alert.raised_at),
        reason=view.reason,
        note_ids=list(view.note_ids),
        outcome=alert.outcome,
        outcome_text=view.outcome_text,
        acknowledged_at=isoformat(alert.acknowledged_at) if alert.acknowledged_at else None,
        resolved_at=isoformat(alert.resolved_at) if alert.resolved_at else None,
        may_acknowledge=view.may_acknowledge,
        may_resolve=view.may_resolve,
    )


@api.operation(
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


@api.operation(
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


@api.operation(
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


@api.operation(
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
