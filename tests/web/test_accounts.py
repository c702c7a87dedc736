"""Asking for an account, approval by the organisation admin, deactivation, organisations."""

from __future__ import annotations

import email
import email.policy
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlmodel import select
from starlette.testclient import TestClient

from patchwork.app import create_app
from patchwork.errors import TooManyRequests
from patchwork.models import Account
from patchwork.runtime import passwords_for
from patchwork.services.accounts import AccountDetails, request_account
from patchwork.services.throttle import Limits
from tests.conftest import PASSWORD, World, run
from tests.helpers import post_form, sign_in

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


def _accounts(world: World) -> list[tuple[str, str]]:
    with world.db.transaction() as session:
        return sorted((a.email, a.status) for a in session.exec(select(Account)).all())


def test_a_request_answers_the_same_for_a_known_and_an_unknown_address(client: TestClient, world: World) -> None:
    school = world.organisation()
    world.account("priya.nair@example.org", organisation=school)
    before = _accounts(world)
    taken = _request(client, school.id)
    fresh = _request(client, school.id, email="new.person@example.org")
    assert (taken.status_code, taken.headers["location"]) == (fresh.status_code, fresh.headers["location"])
    assert taken.headers["location"] == "/sign-in?notice=account-requested"
    page = client.get(taken.headers["location"]).text
    assert "already exists" not in page and "no new one is made" in page
    assert _accounts(world) == sorted([*before, ("new.person@example.org", "pending")]), "nothing for the known one"
    unknown = _request(client, "00000000-0000-0000-0000-000000000000", email="other@example.org")
    assert unknown.status_code == 422 and "Select your organisation" in unknown.text


def test_the_owner_of_a_known_address_is_told_by_email(world: World, database_url: str) -> None:
    from tests.services.test_email_digest import Inbox, free_port, mail_settings

    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        school = world.organisation()
        world.account("priya.nair@example.org", organisation=school)
        with TestClient(create_app(mail_settings(database_url, port))) as client:
            assert _request(client, school.id).status_code == 303
            assert _request(client, school.id, email="new.person@example.org").status_code == 303
    finally:
        controller.stop()
    assert [to for to, _ in inbox.received] == [["priya.nair@example.org"]], "only the known address hears of it"
    message = email.message_from_bytes(inbox.received[0][1], policy=email.policy.default)
    text = message.get_content()  # type: ignore[attr-defined]
    assert "already has one" in text and "https://patchwork.council.test/sign-in" in text
    assert NEW_PASSWORD not in text and "Priya" not in text


def test_account_requests_are_throttled_per_client_address(client: TestClient, world: World) -> None:
    school = world.organisation()
    limit = client.app.state.settings.account_request_limit  # type: ignore[attr-defined]
    for n in range(limit):
        assert _request(client, school.id, email=f"person{n}@example.org").status_code == 303
    refused = _request(client, school.id, email="one.more@example.org", job_title="Kept")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "Too many account requests" in refused.text and 'value="Kept"' in refused.text
    assert len(_accounts(world)) == limit, "the refused request wrote nothing"


def test_account_requests_are_throttled_per_email_address(world: World) -> None:
    school = world.organisation()
    world.account("priya.nair@example.org", organisation=school)
    limits = Limits(per_account=2, per_address=100, window=timedelta(minutes=15))
    details = AccountDetails(
        name="Priya Nair",
        email="priya.nair@example.org",
        job_title="Family support worker",
        organisation_id=school.id,
        password=NEW_PASSWORD,
    )
    told: list[str] = []

    async def tell(to: str) -> None:
        told.append(to)

    async def ask(address: str) -> None:
        await request_account(
            db=world.db,
            passwords=passwords_for(world.settings),
            details=details,
            address=address,
            limits=limits,
            tell_owner=tell,
        )

    run(ask("10.0.0.1"))
    run(ask("10.0.0.2"))
    with pytest.raises(TooManyRequests):
        run(ask("10.0.0.3"))
    assert told == ["priya.nair@example.org"] * 2, "nobody can make an address's owner a target for e-mail"
