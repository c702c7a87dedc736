"""Asking for an account, approval by the organisation admin, deactivation, organisations."""

from __future__ import annotations

from sqlmodel import select
from starlette.testclient import TestClient

from patchwork.models import Account, AccountKind, Organisation
from tests.conftest import PASSWORD, World
from tests.helpers import browsers, post_form, sign_in

NEW_PASSWORD = "marmalade otter window 7"


def _request(client: TestClient, organisation_id: str, **overrides: str):  # type: ignore[no-untyped-def]
    data = {
        "name": "Priya Nair",
        "email": "Priya.Nair@Example.org",
        "job_title": "Family support worker",
        "organisation_id": organisation_id,
        "password": NEW_PASSWORD,
        "confirm_password": NEW_PASSWORD,
    } | overrides
    return post_form(client, "/request-account", data)


def test_request_then_approval_then_sign_in(client: TestClient, world: World) -> None:
    school = world.organisation()
    world.account("admin@school.example.org", organisation=school, org_admin=True)
    page = client.get("/request-account")
    assert school.name in page.text
    response = _request(client, school.id)
    assert response.headers["location"] == "/sign-in?notice=account-requested"
    assert "waiting for approval" in sign_in(client, "priya.nair@example.org", NEW_PASSWORD).text

    sign_in(client, "admin@school.example.org", PASSWORD)
    listing = client.get("/organisation/accounts")
    assert "Priya Nair" in listing.text and "Requests waiting" in listing.text
    with world.db.transaction() as session:
        pending = session.exec(select(Account).where(Account.email == "priya.nair@example.org")).one()
    decided = post_form(client, f"/accounts/{pending.id}/decision", {"decision": "approve"}, token_from="/")
    assert decided.status_code == 303
    post_form(client, "/sign-out", {}, token_from="/")
    assert sign_in(client, "priya.nair@example.org", NEW_PASSWORD).headers["location"] == "/"


def test_request_with_problems_keeps_what_was_typed_and_writes_nothing(client: TestClient, world: World) -> None:
    school = world.organisation()
    response = _request(
        client,
        school.id,
        name="",
        email="not-an-email",
        password="short",
        confirm_password="different",
        job_title="Nurse",
    )
    assert response.status_code == 422
    for message in ("Enter full name", "correct format", "12 characters or more", "Passwords do not match"):
        assert message in response.text
    assert 'value="not-an-email"' in response.text and 'value="Nurse"' in response.text
    assert "short" not in response.text.split("<main", 1)[1], "passwords are never echoed"
    with world.db.transaction() as session:
        assert session.exec(select(Account)).all() == []


def test_request_for_taken_email_or_unknown_organisation(client: TestClient, world: World) -> None:
    school = world.organisation()
    world.account("priya.nair@example.org", organisation=school)
    taken = _request(client, school.id)
    assert taken.status_code == 422 and "already exists" in taken.text
    unknown = _request(client, "00000000-0000-0000-0000-000000000000", email="other@example.org")
    assert unknown.status_code == 422 and "Select your organisation" in unknown.text


def test_over_long_fields_are_refused(client: TestClient, world: World) -> None:
    school = world.organisation()
    response = _request(client, school.id, name="x" * 201, job_title="y" * 201)
    assert response.status_code == 422
    assert "Full name must be 200 characters or fewer" in response.text


def test_refused_request_cannot_sign_in(client: TestClient, world: World) -> None:
    school = world.organisation()
    world.account("admin@school.example.org", organisation=school, org_admin=True)
    _request(client, school.id)
    sign_in(client, "admin@school.example.org", PASSWORD)
    with world.db.transaction() as session:
        pending = session.exec(select(Account).where(Account.email == "priya.nair@example.org")).one()
    post_form(client, f"/accounts/{pending.id}/decision", {"decision": "refuse"}, token_from="/")
    post_form(client, "/sign-out", {}, token_from="/")
    assert "not approved" in sign_in(client, "priya.nair@example.org", NEW_PASSWORD).text


def test_admin_of_another_organisation_cannot_decide(client: TestClient, world: World) -> None:
    school, police = world.organisation(), world.organisation("Eastshire Police", "police")
    world.account("admin@police.example.org", organisation=police, org_admin=True)
    pending = world.account("new@school.example.org", organisation=school, status="pending")
    sign_in(client, "admin@police.example.org", PASSWORD)
    response = post_form(client, f"/accounts/{pending.id}/decision", {"decision": "approve"}, token_from="/")
    assert response.status_code == 404
    assert client.get(f"/organisations/{school.id}/accounts").status_code == 404
    with world.db.transaction() as session:
        assert session.get(Account, pending.id).status == "pending"  # type: ignore[union-attr]


def test_plain_practitioner_cannot_manage_accounts(client: TestClient, world: World) -> None:
    school = world.organisation()
    world.account("teacher@school.example.org", organisation=school)
    other = world.account("other@school.example.org", organisation=school)
    sign_in(client, "teacher@school.example.org", PASSWORD)
    assert client.get("/organisation/accounts").status_code == 404
    assert post_form(client, f"/accounts/{other.id}/deactivate", {}, token_from="/").status_code == 404


def test_deactivation_ends_sessions_and_tokens_at_once(settings, world: World) -> None:  # type: ignore[no-untyped-def]
    from patchwork.app import create_app
    from tests.helpers import api_token, bearer

    school = world.organisation()
    world.account("admin@school.example.org", organisation=school, org_admin=True)
    teacher = world.account("teacher@school.example.org", organisation=school)
    app = create_app(settings)
    with browsers(app) as (admin, teacher_browser):
        sign_in(teacher_browser, "teacher@school.example.org", PASSWORD)
        token = api_token(teacher_browser, "teacher@school.example.org", PASSWORD)
        assert teacher_browser.get("/api/v1/me", headers=bearer(token)).status_code == 200
        sign_in(admin, "admin@school.example.org", PASSWORD)
        done = post_form(admin, f"/accounts/{teacher.id}/deactivate", {}, token_from="/")
        assert "account-deactivated" in done.headers["location"]
        assert teacher_browser.get("/", follow_redirects=False).headers["location"] == "/sign-in"
        assert teacher_browser.get("/api/v1/me", headers=bearer(token)).status_code == 401
        assert "deactivated" in sign_in(teacher_browser, "teacher@school.example.org", PASSWORD).text
        post_form(admin, f"/accounts/{teacher.id}/reactivate", {}, token_from="/")
        assert sign_in(teacher_browser, "teacher@school.example.org", PASSWORD).status_code == 303


def test_org_admin_cannot_deactivate_themselves(client: TestClient, world: World) -> None:
    school = world.organisation()
    admin = world.account("admin@school.example.org", organisation=school, org_admin=True)
    sign_in(client, "admin@school.example.org", PASSWORD)
    response = post_form(client, f"/accounts/{admin.id}/deactivate", {}, token_from="/")
    assert response.status_code == 422
    assert "cannot deactivate your own account" in response.text


def test_org_admin_adds_an_account_and_sees_errors_by_the_field(client: TestClient, world: World) -> None:
    school = world.organisation()
    world.account("admin@school.example.org", organisation=school, org_admin=True)
    sign_in(client, "admin@school.example.org", PASSWORD)
    path = f"/organisations/{school.id}/accounts"
    bad = post_form(client, path, {"name": "Tom", "email": "bad", "password": "x", "role": "practitioner"})
    assert bad.status_code == 422 and 'value="Tom"' in bad.text and "correct format" in bad.text
    good = post_form(
        client,
        path,
        {"name": "Tom Fletcher", "email": "tom@school.example.org", "password": NEW_PASSWORD, "role": "practitioner"},
    )
    assert "account-created" in good.headers["location"]
    assert "Tom Fletcher" in client.get(path).text


def test_system_admin_manages_organisations(client: TestClient, world: World) -> None:
    world.account("root@example.org", kind=AccountKind.admin)
    sign_in(client, "root@example.org", PASSWORD)
    assert client.get("/organisations").status_code == 200
    bad = post_form(client, "/organisations", {"name": "", "type": "castle"})
    assert bad.status_code == 422 and "Enter organisation name" in bad.text and "Select the type" in bad.text
    created = post_form(client, "/organisations", {"name": "Harbour Housing", "type": "housing"})
    assert created.headers["location"] == "/organisations?notice=organisation-saved"
    duplicate = post_form(client, "/organisations", {"name": "harbour housing", "type": "housing"})
    assert duplicate.status_code == 422 and "already exists" in duplicate.text
    with world.db.transaction() as session:
        organisation = session.exec(select(Organisation)).one()
    renamed = post_form(
        client,
        f"/organisations/{organisation.id}",
        {"name": "Harbour Homes", "type": "housing", "active": "no"},
        token_from="/organisations",
    )
    assert renamed.status_code == 303
    with world.db.transaction() as session:
        stored = session.get(Organisation, organisation.id)
        assert stored is not None and stored.name == "Harbour Homes" and not stored.active
    assert "Harbour Homes" not in client.get("/request-account").text, "inactive organisations are not offered"


def test_practitioner_cannot_open_organisations(client: TestClient, world: World) -> None:
    world.account("teacher@example.org", organisation=world.organisation())
    sign_in(client, "teacher@example.org", PASSWORD)
    assert client.get("/organisations").status_code == 404
    assert post_form(client, "/organisations", {"name": "X", "type": "school"}, token_from="/").status_code == 404
