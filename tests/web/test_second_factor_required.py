"""In production every lead professional, organisation admin and system admin must use a second factor: without
one they reach only the set-up page (pages redirect there, the API answers 403 `second_factor_required`, sockets
close), and once it is set up they reach everything they had. A practitioner who leads nothing is not asked."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pyotp
import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from patchwork.app import create_app
from patchwork.models import AccountKind
from patchwork.settings import Settings
from tests.conftest import PASSWORD, World, make_settings
from tests.helpers import api_token, bearer, csrf_from, sign_in
from tests.web.test_networks import START

SETUP = "/account/two-factor"


@dataclass(frozen=True)
class Role:
    email: str
    page: str  # a page this role had before production asked for a second factor
    api: str  # an API call (GET) this role could make


def _enrol(client: TestClient) -> None:
    page = client.get(SETUP)
    assert page.status_code == 200
    assert "must use two-step verification before you carry on" in page.text, "the page says why"
    secret = page.text.split('id="manual-key">', 1)[1].split("<", 1)[0].replace(" ", "")
    sealed = page.text.split('name="sealed_secret" value="', 1)[1].split('"', 1)[0]
    done = client.post(
        SETUP,
        data={"csrf_token": csrf_from(page.text), "sealed_secret": sealed, "code": pyotp.TOTP(secret).now()},
    )
    assert done.status_code == 200, done.text


@pytest.fixture
def roles(client: TestClient, world: World) -> dict[str, Role]:
    """Made in local mode, where no second factor is asked for: a lead of a network, an organisation admin, a system
    admin, and a practitioner who leads nothing; each with an API token made before production."""
    school = world.organisation()
    world.account("lead@class.test", organisation=school, name="Lena Lead")
    world.account("plain@class.test", organisation=school, name="Paul Plain")
    world.account("admin@class.test", organisation=school, org_admin=True, name="Ada Admin")
    world.account("root@council.test", kind=AccountKind.admin, name="Root Admin")
    lead = bearer(api_token(client, "lead@class.test", PASSWORD))
    network = client.post("/api/v1/networks", json=START, headers=lead).json()
    me = client.get("/api/v1/me", headers=lead).json()["id"]
    appointed = client.post(f"/api/v1/networks/{network['id']}/leads", json={"user_id": me}, headers=lead)
    assert appointed.status_code in (200, 201), appointed.text
    plain = bearer(api_token(client, "plain@class.test", PASSWORD))
    joined = client.post(
        f"/api/v1/networks/{network['id']}/involvements",
        json={"role_label": "Teacher", "reason": "Class teacher"},
        headers=plain,
    )
    assert joined.status_code == 201, joined.text
    return {
        "lead": Role("lead@class.test", f"/networks/{network['id']}", f"/networks/{network['id']}/notes"),
        "organisation admin": Role("admin@class.test", f"/organisations/{school.id}/accounts", "/networks"),
        "system admin": Role("root@council.test", "/organisations", "/insights"),
        "practitioner": Role("plain@class.test", f"/networks/{network['id']}", f"/networks/{network['id']}/notes"),
    }


@pytest.fixture
def production(settings: Settings) -> Iterator[TestClient]:
    with TestClient(
        create_app(make_settings(settings.database_url, env="production")), base_url="https://testserver"
    ) as client:
        yield client


@pytest.mark.parametrize("who", ["lead", "organisation admin", "system admin"])
def test_without_a_second_factor_a_lead_or_admin_reaches_only_its_set_up(
    who: str, roles: dict[str, Role], client: TestClient, production: TestClient
) -> None:
    role = roles[who]
    token = bearer(api_token(client, role.email, PASSWORD))  # made in local mode, used in production
    assert sign_in(production, role.email, PASSWORD).status_code == 303
    for path in (role.page, "/", "/account"):
        answer = production.get(path, follow_redirects=False)
        assert (answer.status_code, answer.headers.get("location")) == (303, SETUP), path
    refused = production.get(f"/api/v1{role.api}", headers=token)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "second_factor_required"
    assert production.get("/api/v1/me", headers=token).status_code == 200, "who am I still answers"
    with pytest.raises(WebSocketDisconnect) as closed, production.websocket_connect("/api/v1/stream", headers=token):
        pass
    assert closed.value.code == 4403
    fresh = production.post("/api/v1/tokens", json={"email": role.email, "password": PASSWORD})
    assert fresh.status_code == 403 and fresh.json()["error"]["code"] == "second_factor_enrolment_required"

    _enrol(production)
    assert production.get(role.page).status_code == 200, "everything they had is there"
    assert production.get(f"/api/v1{role.api}", headers=token).status_code == 200


def test_a_practitioner_who_leads_nothing_is_not_asked(
    roles: dict[str, Role], client: TestClient, production: TestClient
) -> None:
    role = roles["practitioner"]
    token = bearer(api_token(client, role.email, PASSWORD))
    assert sign_in(production, role.email, PASSWORD).status_code == 303
    assert production.get(role.page).status_code == 200
    assert production.get(f"/api/v1{role.api}", headers=token).status_code == 200


def test_outside_production_nobody_is_stopped(roles: dict[str, Role], client: TestClient) -> None:
    for role in roles.values():
        client.cookies.clear()
        assert sign_in(client, role.email, PASSWORD).status_code == 303
        assert client.get(role.page, follow_redirects=False).status_code == 200, role.email
