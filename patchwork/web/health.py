"""/healthz says the process is alive; /readyz says the database and the broker answer, and the hub is listening
to the broker (its listener is supervised and restarted; while it is down this process misses live events)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from patchwork.runtime import Runtime

log = logging.getLogger("patchwork.health")
CHECK_SECONDS = 3

Check = Callable[[], Awaitable[None]]


class ListenerStopped(Exception):
    """The hub's supervised listener task has ended: nothing will restart it in this process."""


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    runtime: Runtime = request.state.runtime
    checks: dict[str, str] = {}
    planned = (("database", _database(runtime)), ("broker", runtime.broker.ping), ("listener", _listener(runtime)))
    async with anyio.create_task_group() as group:
        for name, check in planned:
            group.start_soon(_run, name, check, checks)
    ordered = {name: checks[name] for name, _ in planned}
    ready = all(value == "ok" for value in ordered.values())
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": ordered}, status_code=200 if ready else 503
    )


async def _run(name: str, check: Check, checks: dict[str, str]) -> None:
    try:
        with anyio.fail_after(CHECK_SECONDS):
            await check()
        checks[name] = "ok"
    except Exception as error:  # any failure means not ready; the log says which
        log.warning("readiness.failed", extra={"check": name, "error": type(error).__name__})
        checks[name] = "unavailable"


def _database(runtime: Runtime) -> Check:
    async def check() -> None:
        await anyio.to_thread.run_sync(runtime.db.ping)

    return check


def _listener(runtime: Runtime) -> Check:
    """The hub's listener is subscribed to the broker, or subscribes again within the check's time."""

    async def check() -> None:
        if not runtime.hub.healthy:
            raise ListenerStopped()
        await runtime.hub.listening.wait()

    return check
