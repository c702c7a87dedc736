"""/healthz says the process is alive; /readyz says the database and the broker answer."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from patchwork.runtime import Runtime

log = logging.getLogger("patchwork.health")
CHECK_SECONDS = 3


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    runtime = request.state.runtime
    checks: dict[str, str] = {}
    for name, check in (("database", _database(runtime)), ("broker", runtime.broker.ping)):
        try:
            with anyio.fail_after(CHECK_SECONDS):
                await check()
            checks[name] = "ok"
        except Exception as error:  # any failure means not ready; the log says which
            log.warning("readiness.failed", extra={"check": name, "error": type(error).__name__})
            checks[name] = "unavailable"
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks}, status_code=200 if ready else 503
    )


def _database(runtime: Runtime) -> Callable[[], Awaitable[None]]:
    async def check() -> None:
        await anyio.to_thread.run_sync(runtime.db.ping)

    return check
