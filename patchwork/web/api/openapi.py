"""The API's routes and their OpenAPI 3.1 description, declared together so neither drifts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from patchwork import __version__
from patchwork.errors import REFUSAL_RULE
from patchwork.web.api.jsonio import MAX_JSON_BYTES
from patchwork.web.api.schemas import ErrorBody

Endpoint = Callable[[Request], Awaitable[Response]]

REFUSALS = {
    400: "Malformed request",
    401: "Missing, expired or revoked token, or wrong credentials",
    403: "Not permitted: the caller may see this but lacks the right to do it",
    404: "Not found, or not visible to the caller",
    409: "Conflicts with the current state: a duplicate, something already done or ended, a closed network",
    413: f"The body is larger than {MAX_JSON_BYTES // 1024} KiB",
    415: "Body is not JSON",
    422: "A field is invalid; `fields` names each problem",
    429: "Too many attempts; see Retry-After",
}


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    endpoint: Endpoint
    body: type[BaseModel] | None
    responses: dict[int, type[BaseModel] | None]
    public: bool
    refusals: tuple[int, ...]


def operation(
    method: str,
    path: str,
    *,
    summary: str,
    body: type[BaseModel] | None = None,
    responses: dict[int, type[BaseModel] | None],
    public: bool = False,
    refusals: tuple[int, ...] = (),
) -> Callable[[Endpoint], Operation]:
    """Declare a handler as one operation of the API; `api_routes` lists it (nothing is registered here)."""

    def declare(endpoint: Endpoint) -> Operation:
        return Operation(method, path, summary, endpoint, body, responses, public, refusals)

    return declare


@dataclass(frozen=True)
class Api:
    """The operations under one prefix, in the order the OpenAPI document describes them."""

    prefix: str
    operations: tuple[Operation, ...]

    def document_route(self) -> Route:
        """GET {prefix}/openapi.json: the document, built from the operations listed."""

        async def openapi_document(request: Request) -> Response:
            return JSONResponse(self.document())

        return Route(self.prefix + "/openapi.json", openapi_document, methods=["GET"])

    def routes(self) -> list[Route]:
        by_path: dict[str, dict[str, Endpoint]] = {}
        for op in self.operations:
            by_path.setdefault(op.path, {})[op.method] = op.endpoint
        # A literal segment before a parameter ("/networks/merges" before "/networks/{network_id}"), so that a
        # method not allowed on the literal path is answered with that path's Allow, not its look-alike's.
        ordered = sorted(by_path.items(), key=lambda item: [part.startswith("{") for part in item[0].split("/")])
        return [Route(self.prefix + path, _dispatch(methods), methods=list(methods)) for path, methods in ordered]

    def document(self) -> dict[str, Any]:
        components: dict[str, Any] = {}
        paths: dict[str, dict[str, Any]] = {}

        def ref(model: type[BaseModel]) -> dict[str, str]:
            schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            for name, definition in schema.pop("$defs", {}).items():
                components[name] = definition
            components[model.__name__] = schema
            return {"$ref": f"#/components/schemas/{model.__name__}"}

        for op in self.operations:
            responses: dict[str, Any] = {}
            for status, model in op.responses.items():
                description = "Success" if status < 300 else REFUSALS.get(status, "Refused")
                responses[str(status)] = {"description": description}
                if model is not None:
                    responses[str(status)]["content"] = {"application/json": {"schema": ref(model)}}
            error_ref = ref(ErrorBody)
            refusals = set(op.refusals) | ({400, 413, 415, 422} if op.body else set()) | (set() if op.public else {401})
            for status in sorted(refusals):
                responses[str(status)] = {
                    "description": REFUSALS[status],
                    "content": {"application/json": {"schema": error_ref}},
                }
            entry: dict[str, Any] = {
                "summary": op.summary,
                "operationId": op.endpoint.__name__,
                "responses": responses,
            }
            if op.body is not None:
                entry["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref(op.body)}}}
            parameters = [
                {"name": part[1:-1], "in": "path", "required": True, "schema": {"type": "string"}}
                for part in op.path.split("/")
                if part.startswith("{")
            ]
            if parameters:
                entry["parameters"] = parameters
            entry["security"] = [] if op.public else [{"bearer": []}]
            paths.setdefault(self.prefix + op.path, {})[op.method.lower()] = entry
        return {
            "openapi": "3.1.0",
            "info": {"title": "Patchwork API", "version": __version__, "description": REFUSAL_RULE},
            "paths": paths,
            "components": {
                "schemas": components,
                "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            },
        }


def _dispatch(methods: dict[str, Endpoint]) -> Endpoint:
    if len(methods) == 1:
        return next(iter(methods.values()))

    async def endpoint(request: Request) -> Response:
        return await methods[request.method if request.method != "HEAD" else "GET"](request)

    return endpoint
