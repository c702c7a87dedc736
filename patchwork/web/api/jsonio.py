"""Reading JSON bodies strictly and answering with JSON, for the API."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response

from patchwork import jsontext
from patchwork.errors import DomainError, Forbidden, Invalid, Unauthenticated
from patchwork.web.viewer import Viewer

Model = TypeVar("Model", bound=BaseModel)
MAX_JSON_BYTES = 256 * 1024


class UnsupportedMediaType(DomainError):
    status = 415
    code = "unsupported_media_type"


class PayloadTooLarge(DomainError):
    status = 413
    code = "too_large"


async def parse_json(request: Request, model: type[Model]) -> Model:
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type != "application/json":
        raise UnsupportedMediaType("Send JSON with Content-Type: application/json")
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_JSON_BYTES:
            raise PayloadTooLarge("The request body is too large")
    try:
        data = jsontext.loads(raw)
    except jsontext.MalformedJson as error:
        raise DomainError(f"The body is not valid JSON: {error}", code="malformed_json") from error
    if not isinstance(data, dict):
        raise DomainError("The body must be a JSON object", code="malformed_json")
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise Invalid(_field_messages(error), "Some fields are invalid") from error


def _field_messages(error: ValidationError) -> dict[str, str]:
    messages: dict[str, str] = {}
    for problem in error.errors(include_url=False):
        location = ".".join(str(part) for part in problem["loc"]) or "body"
        messages.setdefault(location, problem["msg"])
    return messages


def require_viewer(request: Request, *, allow_without_second_factor: bool = False) -> Viewer:
    viewer: Viewer | None = getattr(request.state, "viewer", None)
    if viewer is None:
        raise Unauthenticated("Send a valid bearer token in the Authorization header")
    if viewer.second_factor_missing and not allow_without_second_factor:
        raise Forbidden(
            "Set up two-step verification in the web app first: leads and admins must use one",
            code="second_factor_required",
        )
    return viewer


def json_response(model: BaseModel, status_code: int = 200) -> Response:
    """The model as compact JSON, written by pydantic in one pass (not dumped to Python values, then encoded)."""
    return Response(model.model_dump_json(), status_code=status_code, media_type="application/json")
