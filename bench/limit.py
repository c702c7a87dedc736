"""The limit live delivery is measured against: a bare Starlette websocket broadcast, no sign-in, no storage.

Sockets connect to /stream and are kept; a POST to /broadcast sends its body, as it is, to every one of them and
answers 201 once the frames are written. It runs under uvicorn exactly as `patchwork serve` does (the same loop,
HTTP and websocket implementations left to uvicorn's choice, permessage-deflate declined, no access log, the
loaded code frozen out of the collector's sight), so what Patchwork costs beyond it is Patchwork's own.

Run as `python -m bench.limit --port P`; the benches start it with `limit_server()`.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from bench.procs import pinned_command
from bench.signin import HOST, _free_port, _stop, _wait_until_healthy

STREAM_PATH = "/stream"
BROADCAST_PATH = "/broadcast"
# What `patchwork serve` gives uvicorn.run beyond host, port and the app (see patchwork.cli._serve); a test keeps
# the two the same. Loop, HTTP and websocket implementations are uvicorn's defaults ("auto") in both.
UVICORN_OPTIONS: dict[str, Any] = {"access_log": False, "ws_per_message_deflate": False}


def create_limit_app() -> Starlette:
    sockets: set[WebSocket] = set()

    async def stream(websocket: WebSocket) -> None:
        await websocket.accept()
        sockets.add(websocket)
        try:
            while (await websocket.receive())["type"] != "websocket.disconnect":
                pass
        finally:
            sockets.discard(websocket)

    async def broadcast(request: Request) -> JSONResponse:
        text = (await request.body()).decode()
        sent = 0
        for websocket in list(sockets):
            try:
                await websocket.send_text(text)
            except (WebSocketDisconnect, RuntimeError, OSError):
                sockets.discard(websocket)
            else:
                sent += 1
        return JSONResponse({"sockets": sent}, status_code=201)

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "sockets": len(sockets)})

    return Starlette(
        routes=[
            WebSocketRoute(STREAM_PATH, stream),
            Route(BROADCAST_PATH, broadcast, methods=["POST"]),
            Route("/healthz", healthz),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m bench.limit", description=__doc__)
    parser.add_argument("--host", default=HOST)
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args(argv)
    gc.collect()
    gc.freeze()
    uvicorn.run(
        "bench.limit:create_limit_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=1,
        log_level="warning",
        **UVICORN_OPTIONS,
    )
    return 0


@asynccontextmanager
async def limit_server(cpus: frozenset[int] | None = None) -> AsyncIterator[tuple[str, int]]:
    """The limit server on a free local port, on `cpus` if given, until the block ends; its URL and process id."""
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="patchwork-limit-") as directory:
        log_path = Path(directory) / "limit.log"
        with log_path.open("wb") as log:
            command = [sys.executable, "-m", "bench.limit", "--host", HOST, "--port", str(port)]
            process = await asyncio.create_subprocess_exec(
                *pinned_command(command, cpus), stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log
            )
        try:
            base = f"http://{HOST}:{port}"
            await _wait_until_healthy(base, process, log_path)
            yield base, process.pid
        finally:
            await _stop(process)


if __name__ == "__main__":
    raise SystemExit(main())
