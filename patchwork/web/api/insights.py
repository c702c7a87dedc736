"""Insights in the JSON API: counts for a system admin, per organisation type; null means fewer than 5."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import Response

from patchwork.clock import utcnow
from patchwork.services import insights
from patchwork.web.api.jsonio import json_response, require_viewer
from patchwork.web.api.openapi import operation
from patchwork.web.context import runtime

SMALL = f"null when fewer than {insights.SMALLEST}"


class NoteCountOut(BaseModel):
    month: str
    category: str
    level: str
    count: int | None = Field(description=SMALL)


class TypeOut(BaseModel):
    organisation_type: str
    label: str
    networks_open: int | None = Field(description=SMALL)
    networks_closed: int | None = Field(description=SMALL)
    notes: list[NoteCountOut] = Field(description="Notes by month, category and level over the last 12 months")
    alerts_raised: int | None = Field(description=SMALL)
    alerts_resolved: dict[str, int | None] = Field(description="By outcome; " + SMALL)
    median_minutes_to_acknowledge_urgent: float | None = Field(description=SMALL + " urgent notes acknowledged")


class InsightsOut(BaseModel):
    smallest_shown: int
    by_organisation_type: list[TypeOut]


@operation(
    "GET",
    "/insights",
    summary="Counts across the deployment for a system admin: no child-level data, nothing smaller than 5",
    responses={200: InsightsOut},
    refusals=(403,),
)
async def get_insights(request: Request) -> Response:
    viewer = require_viewer(request)
    rt = runtime(request)
    start = utcnow().date().replace(day=1) - timedelta(days=335)
    found = await rt.db.run(lambda session: insights.for_admin(session=session, actor=viewer.actor, since=start))
    return json_response(
        InsightsOut(
            smallest_shown=insights.SMALLEST,
            by_organisation_type=[
                TypeOut(
                    organisation_type=t.organisation_type,
                    label=t.label,
                    networks_open=t.networks_open,
                    networks_closed=t.networks_closed,
                    notes=[
                        NoteCountOut(month=n.month.strftime("%Y-%m"), category=n.category, level=n.level, count=n.count)
                        for n in t.notes
                    ],
                    alerts_raised=t.alerts_raised,
                    alerts_resolved=t.alerts_resolved,
                    median_minutes_to_acknowledge_urgent=t.median_minutes_to_acknowledge_urgent,
                )
                for t in found
            ],
        )
    )
