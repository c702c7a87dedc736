"""The JSON API: tokens, me, organisations, users, and the error body for every kind of bad input."""

from __future__ import annotations

import time
from datetime import timedelta

import pyotp
from sqlmodel import select
from starlette.testclient import TestClient

from patchwork.clock import utcnow
from patchwork.models import Account, AccountKind, ApiToken
from tests.conftest import PASSWORD, World
from tests.helpers import api_token, bearer

STRONG = "paper lantern harbour 19"


def _error(response, status: int, code: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code and body["error"]["message"]
    return body["error"]  # type: ignore[no-any-return]


def test_token_then_me(client: TestClient, world: World) -> None:
    school = world.organisation()
    account = world.account("amira@school.example.org", organisation=school, org_admin=True, name="Amira Khan")
    response = client.post("/api/v1/tokens", json={"email": "Amira@School.example.org", "password": PASSWORD})
    assert response.status_code == 201
    body = response.json()
    assert body["token"].startswith("pw_") and body["expires_at"].endswith("Z")
    me = client.get("/api/v1/me", headers=bearer(body["token"])).json()
    assert me == {
        "id": account.id,
        "email": "amira@school.example.org",
        "name": "Amira Khan",
        "kind": "practitioner",
        "organisation": {"id": school.id, "name": school.name, "type": "school", "active": True},
        "roles": ["practitioner", "org_admin"],
        "second_factor": False,
    }


def test_tokens_are_stored_hashed(client: TestClient, world: World) -> None:
    world.account("a@example.org", organisation=world.organisation())
    token = api_token(client, "a@example.org", PASSWORD)
    with world.db.transaction() as session:
        stored = session.exec(select(ApiToken)).one()
    assert token not in stored.token_hash and len(stored.token_hash) == 64


def test_wrong_credentials_are_generic_and_throttled(client: TestClient, world: World, settings) -> None:  # type: ignore[no-untyped-def]
    world.account("a@example.org", organisation=world.organisation())
    unknown = _error(
        client.post("/api/v1/tokens", json={"email": "x@example.org", "password": "p" * 12}), 401, "invalid_credentials"
    )
    for _ in range(settings.sign_in_account_limit):
        wrong = _error(
            client.post("/api/v1/tokens", json={"email": "a@example.org", "password": "p" * 12}),
            401,
            "invalid_credentials",
        )
    assert unknown["message"] == wrong["message"]
    blocked = client.post("/api/v1/tokens", json={"email": "a@example.org", "password": PASSWORD})
    _error(blocked, 429, "too_many_requests")
    assert int(blocked.headers["retry-after"]) > 0


def test_expired_revoked_and_forged_tokens_are_refused(client: TestClient, world: World) -> None:
    world.account("a@example.org", organisation=world.organisation())
    _error(client.get("/api/v1/me"), 401, "unauthenticated")
    _error(client.get("/api/v1/me", headers=bearer("pw_forged")), 401, "unauthenticated")
    _error(client.get("/api/v1/me", headers={"Authorization": "Basic abc"}), 401, "unauthenticated")
    token = api_token(client, "a@example.org", PASSWORD)
    with world.db.transaction() as session:
        row = session.exec(select(ApiToken)).one()
        row.expires_at = utcnow() - timedelta(seconds=1)
        session.add(row)
    _error(client.get("/api/v1/me", headers=bearer(token)), 401, "unauthenticated")
    second = api_token(client, "a@example.org", PASSWORD)
    assert client.delete("/api/v1/tokens/current", headers=bearer(second)).status_code == 204
    _error(client.get("/api/v1/me", headers=bearer(second)), 401, "unauthenticated")


def test_session_cookie_does_not_authenticate_the_api(client: TestClient, world: World) -> None:
    from tests.helpers import sign_in

    world.account("a@example.org", organisation=world.organisation())
    sign_in(client, "a@example.org", PASSWORD)
    _error(client.get("/api/v1/me"), 401, "unauthenticated")


def test_bad_bodies_get_the_json_error_body(client: TestClient) -> None:
    _error(
        client.post("/api/v1/tokens", content=b"{not json", headers={"content-type": "application/json"}),
        400,
        "malformed_json",
    )
    _error(
        client.post("/api/v1/tokens", content=b"[1, 2]", headers={"content-type": "application/json"}),
        400,
        "malformed_json",
    )
    _error(client.post("/api/v1/tokens", data={"email": "a"}), 415, "unsupported_media_type")
    invalid = _error(client.post("/api/v1/tokens", json={"email": 5, "password": None, "extra": 1}), 422, "invalid")
    assert {"email", "password", "extra"} <= set(invalid["fields"])
    _error(client.post("/api/v1/tokens", json={"email": "a" * 300, "password": "x"}), 422, "invalid")
    huge = b'{"email": "' + b"a" * 300_000 + b'"}'
    _error(client.post("/api/v1/tokens", content=huge, headers={"content-type": "application/json"}), 413, "too_large")
    _error(client.get("/api/v1/nothing-here"), 404, "not_found")
    _error(client.put("/api/v1/tokens", json={}), 405, "method_not_allowed")
    assert client.put("/api/v1/tokens", json={}).headers["allow"] == "POST"
    assert set(client.delete("/api/v1/networks").headers["allow"].split(", ")) == {"GET", "HEAD", "POST"}


def test_second_factor_is_needed_once_enrolled(client: TestClient, world: World, settings) -> None:  # type: ignore[no-untyped-def]
    from patchwork.crypto import DataCipher

    account = world.account("a@example.org", organisation=world.organisation())
    secret = pyotp.random_base32()
    with world.db.transaction() as session:
        stored = session.get(Account, account.id)
        assert stored is not None
        stored.totp_secret = DataCipher(settings.data_key).encrypt(secret, context=f"totp:{account.id}")
        session.add(stored)
    _error(
        client.post("/api/v1/tokens", json={"email": "a@example.org", "password": PASSWORD}),
        401,
        "totp_required",
    )
    _error(
        client.post("/api/v1/tokens", json={"email": "a@example.org", "password": PASSWORD, "totp": "000000"}),
        422,
        "invalid",
    )
    code = pyotp.TOTP(secret).at(time.time())
    assert (
        client.post("/api/v1/tokens", json={"email": "a@example.org", "password": PASSWORD, "totp": code}).status_code
        == 201
    )
    replay = client.post("/api/v1/tokens", json={"email": "a@example.org", "password": PASSWORD, "totp": code})
    _error(replay, 422, "invalid")


def test_production_requires_admins_to_enrol_a_second_factor(settings, world: World) -> None:  # type: ignore[no-untyped-def]
    from patchwork.app import create_app
    from tests.conftest import make_settings

    world.account("root@example.org", kind=AccountKind.admin)
    world.account("plain@example.org", organisation=world.organisation())
    production = make_settings(settings.database_url, env="production")
    with TestClient(create_app(production), base_url="https://testserver") as client:
        body = {"email": "root@example.org", "password": PASSWORD}
        _error(client.post("/api/v1/tokens", json=body), 403, "second_factor_enrolment_required")
        assert (
            client.post("/api/v1/tokens", json={"email": "plain@example.org", "password": PASSWORD}).status_code == 201
        )


def test_system_admin_creates_organisation_and_users(client: TestClient, world: World) -> None:
    world.account("root@example.org", kind=AccountKind.admin)
    token = api_token(client, "root@example.org", PASSWORD)
    created = client.post(
        "/api/v1/organisations", json={"name": "Eastshire Police", "type": "police"}, headers=bearer(token)
    )
    assert created.status_code == 201
    organisation = created.json()
    assert organisation["type"] == "police" and len(organisation["id"]) == 36
    _error(
        client.post("/api/v1/organisations", json={"name": "X", "type": "castle"}, headers=bearer(token)),
        422,
        "invalid",
    )
    _error(
        client.post(
            "/api/v1/organisations", json={"name": "eastshire police", "type": "police"}, headers=bearer(token)
        ),
        422,
        "invalid",
    )
    user = client.post(
        "/api/v1/users",
        json={
            "email": "joe@police.example.org",
            "name": "Joe Bennett",
            "organisation_id": organisation["id"],
            "password": STRONG,
            "role": "org_admin",
        },
        headers=bearer(token),
    )
    assert user.status_code == 201, user.text
    assert user.json()["status"] == "active" and user.json()["roles"] == ["practitioner", "org_admin"]
    listed = client.get("/api/v1/organisations", headers=bearer(token)).json()["organisations"]
    assert [o["name"] for o in listed] == ["Eastshire Police"]


def test_org_admin_creates_users_only_in_their_organisation(client: TestClient, world: World) -> None:
    school, police = world.organisation(), world.organisation("Eastshire Police", "police")
    world.account("admin@school.example.org", organisation=school, org_admin=True)
    token = api_token(client, "admin@school.example.org", PASSWORD)
    body = {"email": "t@school.example.org", "name": "T", "organisation_id": school.id, "password": STRONG}
    assert client.post("/api/v1/users", json=body, headers=bearer(token)).status_code == 201
    other = body | {"email": "p@police.example.org", "organisation_id": police.id}
    _error(client.post("/api/v1/users", json=other, headers=bearer(token)), 403, "forbidden")
    duplicate = _error(client.post("/api/v1/users", json=body, headers=bearer(token)), 422, "invalid")
    assert "email" in duplicate["fields"]
    weak = _error(
        client.post(
            "/api/v1/users",
            json=body | {"email": "w@school.example.org", "password": "password1234"},
            headers=bearer(token),
        ),
        422,
        "invalid",
    )
    assert "password" in weak["fields"]
    _error(
        client.post("/api/v1/organisations", json={"name": "Mine", "type": "school"}, headers=bearer(token)),
        403,
        "forbidden",
    )


def test_practitioner_cannot_create_users(client: TestClient, world: World) -> None:
    school = world.organisation()
    world.account("t@school.example.org", organisation=school)
    token = api_token(client, "t@school.example.org", PASSWORD)
    body = {"email": "x@school.example.org", "name": "X", "organisation_id": school.id, "password": STRONG}
    _error(client.post("/api/v1/users", json=body, headers=bearer(token)), 403, "forbidden")
    with world.db.transaction() as session:
        assert session.exec(select(Account).where(Account.email == "x@school.example.org")).first() is None
