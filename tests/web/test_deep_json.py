"""JSON nested beyond reason is malformed input, answered 400 on every body and socket, never a crash."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tests.helpers import bearer

LEVELS = 100_000
DEEP_ARRAY = "[" * LEVELS + "]" * LEVELS
DEEP_OBJECT = '{"a":' * 40_000 + "1" + "}" * 40_000  # as deep as fits in the 256 KB a body may have
FRAME_LEVELS = 30_000  # the 60 KB frame of the report; a frame may have 64 KB


def _json_operations(client: TestClient) -> list[tuple[str, str, bool]]:
    document = client.get("/api/v1/openapi.json").json()
    return [
        (method, path, op["security"] == [])
        for path, item in document["paths"].items()
        for method, op in item.items()
        if "requestBody" in op and "application/json" in op["requestBody"]["content"]
    ]


def _deep_post(client: TestClient, method: str, path: str, body: str, token: str | None = None):  # type: ignore[no-untyped-def]
    headers = {"content-type": "application/json"} | (bearer(token) if token else {})
    return client.request(method.upper(), path, content=body.encode(), headers=headers)


def test_every_unauthenticated_json_route_answers_400_to_100000_levels(client: TestClient) -> None:
    public = [(method, path) for method, path, is_public in _json_operations(client) if is_public]
    assert ("post", "/api/v1/tokens") in public and ("post", "/api/v1/family/accept") in public
    for method, path in public:
        for body in (DEEP_ARRAY, DEEP_OBJECT):
            response = _deep_post(client, method, path, body)
            assert response.status_code == 400, (method, path, response.text[:200])
            assert response.json()["error"]["code"] == "malformed_json"


def test_every_signed_in_json_route_answers_400_to_100000_levels(client: TestClient, net: dict) -> None:  # type: ignore[type-arg]
    token = net["t"]["nurse"]
    nurse = net["members"]
    some_id = next(iter(nurse.values()))["user_id"]
    signed_in = [(method, path) for method, path, is_public in _json_operations(client) if not is_public]
    assert len(signed_in) > 10
    for method, path in signed_in:
        concrete = re.sub(r"\{network_id\}", net["id"], path)
        concrete = re.sub(r"\{[a-z_]+\}", some_id, concrete)
        response = _deep_post(client, method, concrete, DEEP_ARRAY, token)
        assert response.status_code in (400, 404), (method, concrete, response.text[:200])
        assert response.json()["error"]["code"] in ("malformed_json", "not_found"), (method, concrete)
        if "{" not in path.replace("{network_id}", ""):
            assert response.status_code == 400, (method, concrete)


def test_a_deep_frame_on_the_stream_gets_an_error_frame_and_the_socket_stays(client: TestClient, net: dict) -> None:  # type: ignore[type-arg]
    with client.websocket_connect("/api/v1/stream", headers=bearer(net["t"]["officer"])) as socket:
        socket.send_text("[" * FRAME_LEVELS + "]" * FRAME_LEVELS)
        frame = socket.receive_json()
        assert frame["type"] == "error" and frame["code"] == "malformed_json"
        socket.send_json({"type": "resume", "cursors": {net["id"]: "forged"}})
        assert socket.receive_json()["code"] == "invalid_cursor", "the socket still answers after the deep frame"


def test_100000_levels_on_the_stream_is_closed_as_too_big_with_its_code(client: TestClient, net: dict) -> None:  # type: ignore[type-arg]
    with client.websocket_connect("/api/v1/stream", headers=bearer(net["t"]["officer"])) as socket:
        socket.send_text(DEEP_ARRAY)
        with pytest.raises(WebSocketDisconnect) as closed:
            socket.receive_json()
    assert closed.value.code == 1009
