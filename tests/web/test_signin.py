"""Signing in and out through the pages, with throttling, second factor and session timeouts."""

from __future__ import annotations

import time
from datetime import timedelta

import pyotp
from sqlmodel import select
from starlette.testclient import TestClient

from patchwork.auth import totp
from patchwork.clock import utcnow
from patchwork.models import AccountStatus, WebSession
from tests.conftest import PASSWORD, World
from tests.helpers import browsers, csrf_from, post_form, sign_in


def test_sign_in_lands_on_home_and_sign_out_ends_the_session(client: TestClient, world: World) -> None:
    world.account("nurse@example.org", organisation=world.organisation(), name="Helen Morgan")
    response = sign_in(client, "nurse@example.org", PASSWORD)
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax") and "Secure" not in cookie
    home = client.get("/")
    assert "Welcome, Helen Morgan" in home.text
    old_session = client.cookies.get("patchwork_session")
    assert post_form(client, "/sign-out", {}, token_from="/").status_code == 303
    client.cookies.set("patchwork_session", old_session or "")
    assert client.get("/", follow_redirects=False).headers["location"] == "/sign-in"


def test_secure_cookie_over_https(settings, world: World) -> None:  # type: ignore[no-untyped-def]
    from patchwork.app import create_app

    world.account("nurse@example.org", organisation=world.organisation())
    with TestClient(create_app(settings), base_url="https://testserver") as secure:
        response = sign_in(secure, "nurse@example.org", PASSWORD)
        assert "Secure" in response.headers["set-cookie"]
        assert "max-age=31536000" in response.headers["strict-transport-security"]


def test_unknown_email_and_wrong_password_get_the_same_message(client: TestClient, world: World) -> None:
    world.account("nurse@example.org", organisation=world.organisation())
    unknown = sign_in(client, "nobody@example.org", PASSWORD)
    wrong = sign_in(client, "nurse@example.org", "not the right password")
    assert unknown.status_code == wrong.status_code == 401
    message = "Enter a correct e-mail address and password"
    assert message in unknown.text and message in wrong.text
    assert 'value="nobody@example.org"' in unknown.text, "what was typed is kept"


def test_empty_fields_are_named_next_to_the_field(client: TestClient) -> None:
    response = sign_in(client, "", "")
    assert response.status_code == 422
    assert "Enter your e-mail address" in response.text and "Enter your password" in response.text
    assert 'href="#email"' in response.text, "error summary links to the field"


def test_pending_account_cannot_sign_in(client: TestClient, world: World) -> None:
    world.account("new@example.org", organisation=world.organisation(), status=AccountStatus.pending)
    response = sign_in(client, "new@example.org", PASSWORD)
    assert response.status_code == 401
    assert "waiting for approval" in response.text
    assert "patchwork_session" not in response.headers.get("set-cookie", "")


def test_repeated_failures_are_throttled_per_account(client: TestClient, world: World, settings) -> None:  # type: ignore[no-untyped-def]
    world.account("nurse@example.org", organisation=world.organisation())
    for _ in range(settings.sign_in_account_limit):
        assert sign_in(client, "nurse@example.org", "wrong password here").status_code == 401
    blocked = sign_in(client, "nurse@example.org", PASSWORD)
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) > 0
    assert "Too many attempts" in blocked.text


def test_throttle_is_per_address_too(settings, world: World) -> None:  # type: ignore[no-untyped-def]
    from patchwork.app import create_app
    from tests.conftest import make_settings

    tight = make_settings(settings.database_url, sign_in_address_limit=3)
    with TestClient(create_app(tight)) as client:
        for n in range(3):
            assert sign_in(client, f"someone{n}@example.org", "wrong password here").status_code == 401
        assert sign_in(client, "another@example.org", "wrong password here").status_code == 429


def test_rehash_on_sign_in_when_parameters_change(settings, world: World, db) -> None:  # type: ignore[no-untyped-def]
    from patchwork.app import create_app
    from patchwork.models import Account
    from tests.conftest import make_settings

    account = world.account("nurse@example.org", organisation=world.organisation())
    stronger = make_settings(settings.database_url, argon2_time_cost=2)
    with TestClient(create_app(stronger)) as client:
        assert sign_in(client, "nurse@example.org", PASSWORD).status_code == 303
    with db.transaction() as session:
        stored = session.get(Account, account.id)
        assert stored is not None and "t=2" in stored.password_hash


def test_idle_timeout_ends_the_session(client: TestClient, world: World, db) -> None:  # type: ignore[no-untyped-def]
    world.account("nurse@example.org", organisation=world.organisation())
    sign_in(client, "nurse@example.org", PASSWORD)
    assert client.get("/", follow_redirects=False).status_code == 200
    with db.transaction() as session:
        for row in session.exec(select(WebSession)):
            row.last_seen_at = utcnow() - timedelta(minutes=31)
            session.add(row)
    assert client.get("/", follow_redirects=False).headers["location"] == "/sign-in"


def test_absolute_timeout_ends_an_active_session(client: TestClient, world: World, db) -> None:  # type: ignore[no-untyped-def]
    world.account("nurse@example.org", organisation=world.organisation())
    sign_in(client, "nurse@example.org", PASSWORD)
    with db.transaction() as session:
        for row in session.exec(select(WebSession)):
            row.expires_at = utcnow() - timedelta(seconds=1)
            session.add(row)
    assert client.get("/", follow_redirects=False).headers["location"] == "/sign-in"


def test_forged_session_cookie_is_ignored_and_cleared(client: TestClient) -> None:
    client.cookies.set("patchwork_session", "forged-value")
    response = client.get("/", follow_redirects=False)
    assert response.headers["location"] == "/sign-in"
    assert "patchwork_session=" in response.headers["set-cookie"]


def _enrol(client: TestClient) -> tuple[str, list[str]]:
    page = client.get("/account/two-factor")
    assert page.status_code == 200
    secret = page.text.split('id="manual-key">', 1)[1].split("<", 1)[0].replace(" ", "")
    sealed = page.text.split('name="sealed_secret" value="', 1)[1].split('"', 1)[0]
    code = pyotp.TOTP(secret).now()
    done = client.post(
        "/account/two-factor", data={"csrf_token": csrf_from(page.text), "sealed_secret": sealed, "code": code}
    )
    assert done.status_code == 200, done.text
    codes = done.text.split('id="recovery-codes">', 1)[1].split("</ul>", 1)[0]
    return secret, [c.split("</li>")[0] for c in codes.split("<li>")[1:]]


def test_second_factor_enrolment_and_sign_in_with_code(client: TestClient, world: World) -> None:
    world.account("lead@example.org", organisation=world.organisation())
    sign_in(client, "lead@example.org", PASSWORD)
    secret, recovery = _enrol(client)
    assert len(recovery) == totp.RECOVERY_CODE_COUNT
    post_form(client, "/sign-out", {}, token_from="/")
    first = sign_in(client, "lead@example.org", PASSWORD)
    assert first.headers["location"] == "/sign-in/code"
    assert client.get("/", follow_redirects=False).headers["location"] == "/sign-in", "half signed-in is not signed in"
    wrong = post_form(client, "/sign-in/code", {"code": "000000"})
    assert wrong.status_code == 422 and "not correct" in wrong.text
    code = pyotp.TOTP(secret).at(time.time() + 30)
    ok = post_form(client, "/sign-in/code", {"code": code})
    assert ok.headers["location"] == "/"
    assert client.get("/").status_code == 200


def test_totp_code_cannot_be_replayed(client: TestClient, world: World) -> None:
    world.account("lead@example.org", organisation=world.organisation())
    sign_in(client, "lead@example.org", PASSWORD)
    secret, _ = _enrol(client)
    code = pyotp.TOTP(secret).at(time.time() + 30)
    for attempt in range(2):
        post_form(client, "/sign-out", {}, token_from="/") if attempt else None
        sign_in(client, "lead@example.org", PASSWORD)
        response = post_form(client, "/sign-in/code", {"code": code})
        if attempt == 0:
            assert response.status_code == 303
        else:
            assert response.status_code == 422, "the same code twice is refused"


def test_recovery_code_works_once(client: TestClient, world: World) -> None:
    world.account("lead@example.org", organisation=world.organisation())
    sign_in(client, "lead@example.org", PASSWORD)
    _, recovery = _enrol(client)
    post_form(client, "/sign-out", {}, token_from="/")
    sign_in(client, "lead@example.org", PASSWORD)
    assert post_form(client, "/sign-in/code", {"code": recovery[0].upper()}).status_code == 303
    post_form(client, "/sign-out", {}, token_from="/")
    sign_in(client, "lead@example.org", PASSWORD)
    assert post_form(client, "/sign-in/code", {"code": recovery[0]}).status_code == 422


def test_wrong_enrolment_code_keeps_the_same_key(client: TestClient, world: World) -> None:
    world.account("lead@example.org", organisation=world.organisation())
    sign_in(client, "lead@example.org", PASSWORD)
    page = client.get("/account/two-factor")
    key = page.text.split('id="manual-key">', 1)[1].split("<", 1)[0]
    sealed = page.text.split('name="sealed_secret" value="', 1)[1].split('"', 1)[0]
    again = client.post(
        "/account/two-factor", data={"csrf_token": csrf_from(page.text), "sealed_secret": sealed, "code": "123"}
    )
    assert again.status_code == 422
    assert key in again.text, "the person keeps the key already scanned"


def test_sign_out_everywhere_ends_other_sessions(settings, world: World) -> None:  # type: ignore[no-untyped-def]
    from patchwork.app import create_app

    world.account("nurse@example.org", organisation=world.organisation())
    app = create_app(settings)
    with browsers(app) as (laptop, phone):
        sign_in(laptop, "nurse@example.org", PASSWORD)
        sign_in(phone, "nurse@example.org", PASSWORD)
        response = post_form(laptop, "/sign-out-everywhere", {}, token_from="/account")
        assert response.headers["location"] == "/sign-in?notice=signed-out-everywhere"
        assert phone.get("/", follow_redirects=False).headers["location"] == "/sign-in"


def test_change_password_keeps_this_session_and_ends_others(settings, world: World) -> None:  # type: ignore[no-untyped-def]
    from patchwork.app import create_app

    world.account("nurse@example.org", organisation=world.organisation())
    app = create_app(settings)
    with browsers(app) as (laptop, phone):
        sign_in(laptop, "nurse@example.org", PASSWORD)
        sign_in(phone, "nurse@example.org", PASSWORD)
        bad = post_form(
            laptop,
            "/account/password",
            {"current_password": "wrong", "new_password": "short", "confirm_password": "other"},
        )
        assert bad.status_code == 422
        assert "current password is not correct" in bad.text and "12 characters" in bad.text
        good = post_form(
            laptop,
            "/account/password",
            {
                "current_password": PASSWORD,
                "new_password": "a quite different passphrase",
                "confirm_password": "a quite different passphrase",
            },
        )
        assert good.headers["location"] == "/account?notice=password-changed"
        assert laptop.get("/", follow_redirects=False).status_code == 200
        assert phone.get("/", follow_redirects=False).headers["location"] == "/sign-in"
    with TestClient(app) as fresh:
        assert sign_in(fresh, "nurse@example.org", "a quite different passphrase").status_code == 303


def test_sign_in_logs_outcomes_without_passwords(client: TestClient, world: World, caplog) -> None:  # type: ignore[no-untyped-def]
    world.account("nurse@example.org", organisation=world.organisation())
    with caplog.at_level("INFO", logger="patchwork"):
        sign_in(client, "nurse@example.org", "a wrong password typed")
        sign_in(client, "nurse@example.org", PASSWORD)
    events = [record.getMessage() for record in caplog.records if record.name == "patchwork.signin"]
    assert "sign_in.failed" in events and "sign_in.password_ok" in events
    logged = " ".join(str(record.__dict__) for record in caplog.records)
    assert PASSWORD not in logged and "a wrong password typed" not in logged


def test_turning_off_the_second_factor_needs_the_password(client: TestClient, world: World) -> None:
    world.account("lead@example.org", organisation=world.organisation())
    sign_in(client, "lead@example.org", PASSWORD)
    _enrol(client)
    wrong = post_form(client, "/account/two-factor/remove", {"password": "not it at all"}, token_from="/account")
    assert wrong.status_code == 422 and "Enter your current password" in wrong.text
    ok = post_form(client, "/account/two-factor/remove", {"password": PASSWORD}, token_from="/account")
    assert ok.headers["location"] == "/account?notice=two-factor-removed"
    assert "Set up two-step verification" in client.get("/account").text


def test_production_sends_admins_to_set_up_a_second_factor(settings, world: World) -> None:  # type: ignore[no-untyped-def]
    from patchwork.app import create_app
    from patchwork.models import AccountKind
    from tests.conftest import make_settings

    world.account("root@example.org", kind=AccountKind.admin)
    with TestClient(
        create_app(make_settings(settings.database_url, env="production")), base_url="https://testserver"
    ) as c:
        sign_in(c, "root@example.org", PASSWORD)
        assert c.get("/organisations", follow_redirects=False).headers["location"] == "/account/two-factor"
        assert "must use two-step verification" in c.get("/account/two-factor").text
