"""Forgot your password, against a real SMTP server on loopback (aiosmtpd): the e-mailed link works once and only
within 30 minutes, asking answers the same for unknown addresses, a reset ends every session and API token,
asking is throttled like sign-in; without e-mail an organisation admin's one-time code does the same."""

from __future__ import annotations

import email
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import select
from starlette.testclient import TestClient

from patchwork.app import create_app
from patchwork.clock import utcnow
from patchwork.db import Database
from patchwork.models import PasswordReset
from patchwork.services import recovery
from tests.conftest import PASSWORD, World, make_settings
from tests.helpers import api_token, bearer, post_form, sign_in
from tests.services.test_email_digest import Inbox, mail_settings, smtp  # noqa: F401  (smtp: the fixture)

NEW_PASSWORD = "lantern orchard pebble violin"
LINK = re.compile(r"https://patchwork\.council\.test/reset-password\?token=([A-Za-z0-9_-]+)")


@pytest.fixture
def mailing(database_url: str, smtp: tuple[Inbox, int]) -> Iterator[tuple[TestClient, Inbox, World]]:  # noqa: F811
    inbox, port = smtp
    settings = mail_settings(database_url, port, sign_in_account_limit=3)
    db = Database(database_url)
    try:
        with TestClient(create_app(settings), base_url="http://testserver") as client:
            yield client, inbox, World(db=db, settings=settings)
    finally:
        db.dispose()


def _links(inbox: Inbox, to: str) -> list[str]:
    found = []
    for recipients, raw in inbox.received:
        if to in recipients:
            body = email.message_from_bytes(raw).get_payload(decode=True)
            assert isinstance(body, bytes)
            found += LINK.findall(body.decode())
    return found


def _ask(client: TestClient, address: str):  # type: ignore[no-untyped-def]
    return post_form(client, "/forgot-password", {"email": address})


def _reset(client: TestClient, secret: str, password: str = NEW_PASSWORD, *, field: str = "token"):  # type: ignore[no-untyped-def]
    return post_form(client, "/reset-password", {field: secret, "password": password}, token_from="/reset-password")


def test_the_emailed_link_sets_a_new_password_once_and_ends_every_session(
    mailing: tuple[TestClient, Inbox, World],
) -> None:
    client, inbox, world = mailing
    school = world.organisation()
    world.account("tom@class.test", organisation=school, name="Tom Fletcher")
    assert sign_in(client, "tom@class.test", PASSWORD).status_code == 303  # a session on this browser
    token = api_token(client, "tom@class.test", PASSWORD)
    with TestClient(client.app, base_url="http://testserver") as other:
        _reset_from_another_browser(client, other, inbox, token)


def _reset_from_another_browser(client: TestClient, other: TestClient, inbox: Inbox, token: str) -> None:
    assert sign_in(other, "tom@class.test", PASSWORD).status_code == 303

    answer = _ask(other, "Tom@Class.test ")
    assert answer.status_code == 200 and "Check your e-mail" in answer.text
    [secret] = _links(inbox, "tom@class.test")
    form = other.get(f"/reset-password?token={secret}")
    assert form.status_code == 200 and f'value="{secret}"' in form.text

    done = _reset(other, secret)
    assert done.status_code == 303 and done.headers["location"] == "/sign-in?notice=password-reset"
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401, "API tokens end with a reset"
    assert client.get("/account", follow_redirects=False).status_code in (302, 303), "sessions end with a reset"
    assert sign_in(client, "tom@class.test", PASSWORD).status_code == 401
    assert sign_in(client, "tom@class.test", NEW_PASSWORD).status_code == 303

    again = _reset(other, secret, "another long unusual password")
    assert again.status_code == 422 and "has been used already" in again.text
    other.cookies.clear()
    assert sign_in(other, "tom@class.test", NEW_PASSWORD).status_code == 303, "nothing changed"


def test_asking_answers_the_same_for_an_address_without_an_account(mailing: tuple[TestClient, Inbox, World]) -> None:
    client, inbox, world = mailing
    world.account("tom@class.test", organisation=world.organisation())
    known = _ask(client, "tom@class.test")
    unknown = _ask(client, "nobody@class.test")
    strip = re.compile(r'name="csrf_token" value="[^"]+"')
    assert (known.status_code, strip.sub("", known.text)) == (unknown.status_code, strip.sub("", unknown.text))
    assert [to for recipients, _ in inbox.received for to in recipients] == ["tom@class.test"]


def test_a_link_is_refused_after_30_minutes_and_a_newer_one_replaces_it(
    mailing: tuple[TestClient, Inbox, World],
) -> None:
    client, inbox, world = mailing
    world.account("tom@class.test", organisation=world.organisation())
    _ask(client, "tom@class.test")
    [first] = _links(inbox, "tom@class.test")
    _ask(client, "tom@class.test")
    second = _links(inbox, "tom@class.test")[1]
    assert _reset(client, first).status_code == 422, "asking again ends the earlier link"
    with world.db.transaction() as session:
        session.execute(update(PasswordReset).values(expires_at=utcnow() - timedelta(seconds=1)))
    late = _reset(client, second)
    assert late.status_code == 422 and "has expired" in late.text
    assert sign_in(client, "tom@class.test", PASSWORD).status_code == 303, "the password did not change"


def test_a_weak_password_is_refused_next_to_the_field_and_the_link_still_works(
    mailing: tuple[TestClient, Inbox, World],
) -> None:
    client, inbox, world = mailing
    world.account("tom@class.test", organisation=world.organisation(), name="Tom Fletcher")
    _ask(client, "tom@class.test")
    [secret] = _links(inbox, "tom@class.test")
    weak = _reset(client, secret, "password1234")
    assert weak.status_code == 422 and "too common" in weak.text and f'value="{secret}"' in weak.text
    assert _reset(client, secret).status_code == 303


def test_asking_is_throttled_per_address(mailing: tuple[TestClient, Inbox, World]) -> None:
    client, inbox, world = mailing
    world.account("tom@class.test", organisation=world.organisation())
    answers = [_ask(client, "tom@class.test").status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    assert len(_links(inbox, "tom@class.test")) == 3
    blank = _ask(client, "")
    assert blank.status_code == 422 and "Enter your e-mail address" in blank.text


@pytest.fixture
def without_mail(database_url: str) -> Iterator[tuple[TestClient, World]]:
    settings = make_settings(database_url)
    db = Database(database_url)
    try:
        with TestClient(create_app(settings), base_url="http://testserver") as client:
            yield client, World(db=db, settings=settings)
    finally:
        db.dispose()


def test_without_email_an_organisation_admin_gives_a_code_that_works_once(
    without_mail: tuple[TestClient, World],
) -> None:
    client, world = without_mail
    school = world.organisation()
    world.account("admin@class.test", organisation=school, org_admin=True, name="Ada Admin")
    tom = world.account("tom@class.test", organisation=school, name="Tom Fletcher")
    page = client.get("/forgot-password")
    assert "Ask your organisation's Patchwork admin for a reset code" in page.text
    assert sign_in(client, "admin@class.test", PASSWORD).status_code == 303
    accounts = client.get(f"/organisations/{school.id}/accounts")
    assert f'action="/accounts/{tom.id}/reset-code"' in accounts.text
    shown = post_form(client, f"/accounts/{tom.id}/reset-code", {}, token_from=f"/organisations/{school.id}/accounts")
    assert shown.status_code == 200 and shown.headers["cache-control"] == "no-store"
    code = re.search(r'<code class="pw-code" id="reset-code">([^<]+)</code>', shown.text)
    assert code is not None

    client.cookies.clear()  # Tom, at another computer
    assert _reset(client, code.group(1), field="secret").status_code == 303
    assert sign_in(client, "tom@class.test", NEW_PASSWORD).status_code == 303
    assert _reset(client, code.group(1), "yet another long password", field="secret").status_code == 422


def test_only_the_organisations_admins_give_codes(without_mail: tuple[TestClient, World]) -> None:
    client, world = without_mail
    school, clinic = world.organisation(), world.organisation("Northgate Health", "health")
    world.account("admin@clinic.test", organisation=clinic, org_admin=True)
    world.account("helen@clinic.test", organisation=clinic)
    tom = world.account("tom@class.test", organisation=school)
    for email_address in ("admin@clinic.test", "helen@clinic.test"):
        client.cookies.clear()
        assert sign_in(client, email_address, PASSWORD).status_code == 303
        refused = post_form(client, f"/accounts/{tom.id}/reset-code", {}, token_from="/account")
        assert refused.status_code == 404
    with world.db.transaction() as session:
        assert session.exec(select(PasswordReset)).first() is None


def test_a_code_for_an_unknown_or_ended_secret_says_the_same(without_mail: tuple[TestClient, World]) -> None:
    client, _ = without_mail
    for secret in ("", "not-a-code", "x" * 500):
        answer = _reset(client, secret, field="secret")
        assert answer.status_code == 422 and recovery.SPENT.split(".")[0] in answer.text
