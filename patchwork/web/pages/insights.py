"""Insights on a page, for a system admin."""

from __future__ import annotations

from datetime import timedelta

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from patchwork.clock import utcnow
from patchwork.services import alerts, insights
from patchwork.web.context import runtime
from patchwork.web.pages.common import render, signed_in


async def insights_page(request: Request) -> Response:
    viewer = signed_in(request)
    start = utcnow().date().replace(day=1) - timedelta(days=335)
    found = await runtime(request).db.run(
        lambda session: insights.for_admin(session=session, actor=viewer.actor, since=start)
    )
    return render(request, "insights.html", {"types": found, "outcomes": alerts.OUTCOME_LABELS})


routes = [Route("/insights", insights_page, methods=["GET"])]
