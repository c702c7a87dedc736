"""Headers on every response, CSRF on every state change, and no 500s for odd requests."""

from __future__ import annotations

import pytest
from starlette.routing import Route
from starlette.testclient import TestClient

from tests.conftest import PASSWORD, World
from tests.helpers import csrf_from, page_token, sign_in


@pytest.mark.parametrize("path", ["/sign-in", "/healthz", "/api/v1/me", "/static/css/patchwork.css", "/nowhere"])
def test_security_headers_everywhere(client: TestClient, path: str) -> None:
    headers = client.get(path).headers
    csp = headers["content-security-policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert headers["x-request-id"]
    assert "strict-transport-security" not in headers, "HSTS only over https"


def test_pages_have_no_inline_script_or_style(client: TestClient, world: World) -> None:
    world.account("a@example.org", organisation=world.organisation())
    sign_in(client, "a@example.org", PASSWORD)
    for path in ("/", "/account", "/account/two-factor", "/account/password"):
        html = client.get(path).text
        for opening in html.split("<script")[1:]:
            assert opening.split(">", 1)[0].strip().startswith(("src=", 'type="module" src=')), path
        assert "<style" not in html and " style=" not in html, path


def _state_changing_page_routes(client: TestClient) -> list[str]:
    paths = []
    for route in client.app.routes:  # type: ignore[attr-defined]
        if isinstance(route, Route) and "POST" in (route.methods or set()) and not route.path.startswith("/api/"):
            paths.append(route.path.replace("{organisation_id}", "x").replace("{account_id}", "x"))
    return paths


def test_every_page_post_without_csrf_token_is_refused(client: TestClient, world: World) -> None:
    world.account("a@example.org", organisation=world.organisation())
    sign_in(client, "a@example.org", PASSWORD)
    paths = _state_changing_page_routes(client)
    assert "/sign-in" in paths and "/sign-out" in paths and len(paths) >= 10
    for path in paths:
        response = client.post(path, data={"anything": "1"}, follow_redirects=False)
        assert response.status_code == 403, path
        assert "expired" in response.text
    assert client.get("/", follow_redirects=False).status_code == 200, "nothing was signed out"


def test_token_from_an_ended_session_is_refused(client: TestClient, world: World) -> None:
    world.account("a@example.org", organisation=world.organisation())
    sign_in(client, "a@example.org", PASSWORD)
    old_token = page_token(client, "/account")
    client.post("/sign-out", data={"csrf_token": old_token})
    sign_in(client, "a@example.org", PASSWORD)
    replay = client.post("/sign-out-everywhere", data={"csrf_token": old_token}, follow_redirects=False)
    assert replay.status_code == 403
    assert client.get("/", follow_redirects=False).status_code == 200


def test_htmx_header_token_is_accepted(client: TestClient, world: World) -> None:
    world.account("a@example.org", organisation=world.organisation())
    sign_in(client, "a@example.org", PASSWORD)
    token = csrf_from(client.get("/").text)
    response = client.post("/sign-out", headers={"X-CSRF-Token": token, "HX-Request": "true"}, follow_redirects=False)
    assert response.status_code == 303


def test_cross_origin_post_is_refused_even_with_a_token(client: TestClient) -> None:
    token = page_token(client)
    response = client.post(
        "/sign-in",
        data={"csrf_token": token, "email": "a", "password": "b"},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 403


def test_oversized_form_is_refused_cleanly(client: TestClient) -> None:
    token = page_token(client)
    response = client.post("/sign-in", data={"csrf_token": token, "email": "a" * 70_000, "password": "b"})
    assert response.status_code == 413


def test_unknown_page_is_a_friendly_404(client: TestClient) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404 and "Page not found" in response.text


def test_wrongly_typed_form_fields_do_not_crash(client: TestClient, world: World) -> None:
    token = page_token(client, "/request-account")
    response = client.post(
        "/request-account",
        files={"name": ("n.txt", b"file"), "csrf_token": (None, token)},
        follow_redirects=False,
    )
    assert response.status_code in (403, 422)
