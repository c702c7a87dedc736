"""What every handler reads off the request: the running app's resources and the client's address."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from patchwork.runtime import Runtime


def runtime(request: HTTPConnection) -> Runtime:
    found: Runtime = request.state.runtime
    return found


def client_address(request: HTTPConnection) -> str:
    return request.client.host if request.client else "unknown"
