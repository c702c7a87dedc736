"""The lead professional's dashboard in the JSON API."""

from __future__ import annotations

from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import Response

from patchwork.clock import isoformat
from patchwork.services import dashboard
from patchwork.web.api.convert import alert_out, child_out
from patchwork.web.api.jsonio import json_response, require_viewer
from patchwork.web.api.openapi import operation
from patchwork.web.api.schemas import AlertOut, ChildOut
from patchwork.web.board import Asked, load_board
from patchwork.web.context import runtime


class LevelCounts(BaseModel):
    observation: int
    concern: int
    urgent: int


class MonthOut(LevelCounts):
    month: str = Field(description="YYYY-MM")


class CategoryOut(LevelCounts):
    category: str


class ChartOut(BaseModel):
    months: list[MonthOut] = Field(description="The last 12 months, oldest first")
    categories: list[CategoryOut]


class LedNetworkOut(BaseModel):
    id: str
    child: ChildOut
    open_alerts: int
    awaiting_acknowledgement: int
    last_activity_at: str
    chart: ChartOut


class AwaitingOut(BaseModel):
    note_id: str
    network_id: str
    level: str
    category: str
    organisation: str | None
    created_at: str


class DashboardOut(BaseModel):
    networks: list[LedNetworkOut] = Field(description="This page of the networks the caller leads")
    total_networks: int
    page: int
    pages: int
    sort: str
    q: str
    alerts: list[AlertOut] = Field(
        description=f"The newest {dashboard.ALERTS_SHOWN} open and acknowledged alerts the caller is shown "
        "(all of them: GET /api/v1/alerts)"
    )
    alerts_total: int
    awaiting: list[AwaitingOut] = Field(description=f"Oldest first, the first {dashboard.AWAITING_SHOWN}")
    awaiting_total: int


def _counts(counts: dict[str, int]) -> dict[str, int]:
    return {level: counts.get(level, 0) for level in dashboard.LEVELS}


def dashboard_out(board: dashboard.Dashboard) -> DashboardOut:
    return DashboardOut(
        networks=[
            LedNetworkOut(
                id=n.network.id,
                child=child_out(n.child),
                open_alerts=n.open_alerts,
                awaiting_acknowledgement=n.awaiting,
                last_activity_at=isoformat(n.last_activity_at),
                chart=ChartOut(
                    months=[MonthOut(month=m.month.strftime("%Y-%m"), **_counts(m.counts)) for m in n.chart.months],
                    categories=[CategoryOut(category=c, **_counts(counts)) for c, counts in n.chart.categories],
                )
                if n.chart
                else ChartOut(months=[], categories=[]),
            )
            for n in board.networks
        ],
        total_networks=board.total_networks,
        page=board.page,
        pages=board.pages,
        sort=board.sort,
        q=board.query,
        alerts=[alert_out(view) for view in board.alerts],
        alerts_total=board.alerts_total,
        awaiting=[
            AwaitingOut(
                note_id=a.note_id,
                network_id=a.network_id,
                level=a.level,
                category=a.category,
                organisation=a.organisation,
                created_at=isoformat(a.created_at),
            )
            for a in board.awaiting
        ],
        awaiting_total=board.awaiting_total,
    )


@operation(
    "GET",
    "/dashboard",
    summary="The caller's lead dashboard (?sort=alerts|awaiting|activity|name, ?q= child's name, ?page=)",
    responses={200: DashboardOut},
)
async def get_dashboard(request: Request) -> Response:
    viewer = require_viewer(request)
    rt = runtime(request)
    asked = Asked.of(request.query_params)
    board = await rt.db.run(lambda session: load_board(session, rt, viewer.account, asked))
    return json_response(dashboard_out(board))
