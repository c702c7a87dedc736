"""create_app(settings) -> Starlette: routes, middleware and lifespan. Nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from patchwork.errors import DomainError
from patchwork.logs import configure as configure_logging
from patchwork.runtime import Runtime
from patchwork.settings import Settings, load_settings
from patchwork.web import errors, health, live, ws
from patchwork.web.api import api_routes
from patchwork.web.middleware import Authentication, CsrfProtection, RequestContext, SecurityHeaders
from patchwork.web.pages import (
    access_log,
    account,
    admin,
    alerts,
    api_tokens,
    audit,
    auth,
    exports,
    family,
    insights,
    merge,
    networks,
    notes,
    notifications,
    recovery,
    sso,
)
from patchwork.web.pages.common import Redirect, redirect_handler
from patchwork.web.templating import STATIC, build_templates


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Runtime]]:
        runtime = await Runtime.start(settings)
        try:
            yield {"runtime": runtime}
        finally:
            await runtime.stop()

    api = api_routes()
    routes = [
        Route("/healthz", health.healthz, methods=["GET"]),
        Route("/readyz", health.readyz, methods=["GET"]),
        api.document_route(),
        WebSocketRoute("/api/v1/stream", ws.api_stream),
        WebSocketRoute("/live", live.page_stream),
        *api.routes(),
        *auth.routes,
        *recovery.routes,
        *sso.routes,
        *account.routes,
        *api_tokens.routes,
        *admin.routes,
        *merge.routes,  # before networks.routes, whose /admin/merge handlers it replaces
        *networks.routes,
        *notes.routes,
        *audit.routes,
        *exports.routes,
        *access_log.routes,
        *family.routes,
        *notifications.routes,
        *alerts.routes,
        *insights.routes,
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(RequestContext),
            Middleware(SecurityHeaders),
            Middleware(Authentication),
            Middleware(CsrfProtection, on_failure=errors.csrf_failure),
        ],
        exception_handlers={
            Redirect: redirect_handler,
            DomainError: errors.domain_error,
            HTTPException: errors.http_error,
            Exception: errors.server_error,
        },
        lifespan=lifespan,
    )
    app.state.templates = build_templates()
    app.state.settings = settings
    configure_logging(settings.log_level, json_lines=settings.log_json)
    return app
