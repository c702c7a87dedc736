from __future__ import annotations

from openapi_spec_validator import validate
from starlette.routing import Route
from starlette.testclient import TestClient


def test_openapi_document_is_valid_and_describes_every_api_route(client: TestClient) -> None:
    document = client.get("/api/v1/openapi.json").json()
    validate(document)
    assert document["openapi"].startswith("3.1")
    described = {(path, method.upper()) for path, item in document["paths"].items() for method in item}
    for route in client.app.routes:  # type: ignore[attr-defined]
        if isinstance(route, Route) and route.path.startswith("/api/v1/") and route.path != "/api/v1/openapi.json":
            for method in route.methods or ():
                if method != "HEAD":
                    assert (route.path, method) in described, f"{method} {route.path} is not in the OpenAPI document"
    token = document["paths"]["/api/v1/tokens"]["post"]
    assert token["security"] == [] and "201" in token["responses"] and "429" in token["responses"]
    assert document["paths"]["/api/v1/me"]["get"]["security"] == [{"bearer": []}]


def test_healthz(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readyz_when_everything_answers(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "broker": "ok", "listener": "ok"}


def test_readyz_is_503_when_the_database_is_gone(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from patchwork.app import create_app
    from tests.conftest import make_settings

    missing = tmp_path / "no-such-dir" / "db.sqlite"
    with TestClient(create_app(make_settings(f"sqlite:///{missing}"))) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "unavailable"


def test_readyz_is_503_when_redis_is_unreachable(settings) -> None:  # type: ignore[no-untyped-def]
    from patchwork.app import create_app
    from tests.conftest import make_settings

    broken = make_settings(settings.database_url, redis_url="redis://127.0.0.1:1/0")
    with TestClient(create_app(broken)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "broker": "unavailable", "listener": "unavailable"}
