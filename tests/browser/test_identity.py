"""Signing in other ways, in Chromium at 1280 and 375 px, every new page axe-clean: single sign-on against a real
OpenID provider (a system admin connects it; a first sign-in asks for an account; a refusal is a clear page),
and forgot your password with an organisation admin's one-time code."""

from __future__ import annotations

import email as email_message
import json
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import PROBLEMS, _environment, _free_port, _wait_until_healthy, page_opener
from tests.browser.helpers import assert_accessible, assert_no_horizontal_scroll, at_path, sign_in, sign_out
from tests.oidc import OpenIdProvider, openid_provider
from tests.services.test_email_digest import Inbox, free_port

PASSWORD = "browser-identity-demo-password"
DOMAIN = "sso.oakfield.test"
ACCOUNTS = {
    "newbie-1280px": {"claims": {"email": f"nia.newbie@{DOMAIN}", "email_verified": True, "name": "Nia Newbie"}},
    "newbie-375px": {"claims": {"email": f"pat.phone@{DOMAIN}", "email_verified": True, "name": "Pat Phone"}},
    "unverified": {"claims": {"email": f"uma.unverified@{DOMAIN}", "email_verified": False}},
}


@dataclass(frozen=True)
class Deployment:
    url: str
    provider: OpenIdProvider
    inbox: Inbox
    practitioners: list[str]  # demo practitioners' e-mail addresses, for tests that change a password
    admin_of: dict[str, str]  # each of them: an admin of their organisation


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """Its own `patchwork serve` (single sign-on comes back to the server's base URL) and its own provider."""
    directory = tmp_path_factory.mktemp("identity")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    inbox = Inbox()
    smtp_port = free_port()
    mail = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    mail.start()
    env = _environment(f"sqlite:///{directory / 'pw.db'}") | {
        "PATCHWORK_BASE_URL": url,
        "PATCHWORK_SMTP_HOST": "127.0.0.1",
        "PATCHWORK_SMTP_PORT": str(smtp_port),
        "PATCHWORK_SMTP_SECURITY": "none",
        "PATCHWORK_EMAIL_FROM": "patchwork@council.test",
    }
    patchwork = str(Path(sys.executable).with_name("patchwork"))
    demo = subprocess.run(
        [patchwork, "demo", "--password", PASSWORD, "--json"], env=env, capture_output=True, text=True, timeout=60
    )
    assert demo.returncode == 0, demo.stderr
    accounts = json.loads(demo.stdout)["accounts"]
    admins = {a["organisation"]: a["email"] for a in accounts if "org_admin" in a["roles"]}
    practitioners = [a["email"] for a in accounts if a["roles"] == ["practitioner"] and a["organisation"] in admins]
    admin_of = {a["email"]: admins[a["organisation"]] for a in accounts if a["email"] in practitioners}
    assert len(practitioners) >= 4
    log = directory / "server.log"
    with openid_provider(directory, redirect_uri=f"{url}/sso/callback", accounts=ACCOUNTS) as provider:
        with log.open("wb") as output:
            process = subprocess.Popen(
                [patchwork, "serve", "--host", "127.0.0.1", "--port", str(port)], env=env, stdout=output, stderr=output
            )
        try:
            _wait_until_healthy(url, process, log)
            yield Deployment(url=url, provider=provider, inbox=inbox, practitioners=practitioners, admin_of=admin_of)
        finally:
            process.terminate()
            process.wait(timeout=10)
            mail.stop()


@pytest.fixture
def open_here(
    request: pytest.FixtureRequest, browser: Browser, deployment: Deployment
) -> Iterator[Callable[..., Page]]:
    """As `open_page`, on this module's own server."""
    contexts: list[BrowserContext] = []
    yield page_opener(browser, deployment.url, request.node.stash.setdefault(PROBLEMS, []), contexts)
    for context in contexts:
        context.close()


def _check(page: Page, label: str) -> None:
    assert_accessible(page, label)
    assert_no_horizontal_scroll(page)


@pytest.mark.parametrize("phone", [False, True], ids=["1280px", "375px"])
def test_single_sign_on_from_connecting_to_a_first_sign_in(
    open_here: Callable[..., Page], deployment: Deployment, phone: bool
) -> None:
    admin = open_here(phone=phone)
    sign_in(admin, "admin@patchwork.example.org", PASSWORD)
    admin.goto("/organisations")
    admin.locator("summary", has_text="Oakfield Primary School").click()
    admin.get_by_role("link", name="Single sign-on for Oakfield Primary School").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("Single sign-on")
    _check(admin, "single sign-on settings")
    admin.locator("#discovery_url").fill("http://127.0.0.1:9/.well-known/openid-configuration")
    admin.locator("#client_id").fill(deployment.provider.client.client_id)
    admin.locator("#client_secret").fill(deployment.provider.client.client_secret)
    admin.locator("#domains").fill(DOMAIN)
    admin.get_by_role("button", name="Test the connection and save").click()
    expect(admin.locator(".govuk-error-summary")).to_contain_text("could not be reached")
    _check(admin, "single sign-on settings with errors")
    admin.locator("#discovery_url").fill(deployment.provider.discovery_url)
    admin.locator("#client_secret").fill(deployment.provider.client.client_secret)
    admin.get_by_role("button", name="Test the connection and save").click()
    expect(admin.locator(".govuk-notification-banner")).to_contain_text("The identity provider is connected")

    paused = open_here(phone=phone)
    paused.context.route(f"{deployment.provider.issuer}/**", lambda route: route.fulfill(status=204))
    paused.goto("/sign-in")
    paused.locator("#email").fill(f"someone@{DOMAIN}")
    paused.get_by_role("button", name="Sign in", exact=True).click()
    expect(paused.get_by_role("heading", level=1)).to_have_text("Continue to your organisation's sign-in")
    _check(paused, "continue to the organisation's sign-in")

    person = open_here(phone=phone)
    person.goto("/sign-in")
    newbie = "newbie-375px" if phone else "newbie-1280px"
    person.locator("#email").fill(ACCOUNTS[newbie]["claims"]["email"])
    person.get_by_role("button", name="Sign in", exact=True).click()
    expect(person).to_have_url(re.compile(rf"^{re.escape(deployment.provider.issuer)}/interaction/"))
    person.locator("#login").fill(newbie)
    person.get_by_role("button", name="Sign in").click()
    expect(person.get_by_role("heading", level=1)).to_have_text("Your account has been asked for")
    _check(person, "waiting for approval")

    refused = open_here(phone=phone)
    refused.goto("/sign-in")
    refused.locator("#email").fill(f"uma.unverified@{DOMAIN}")
    refused.get_by_role("button", name="Sign in", exact=True).click()
    refused.locator("#login").fill("unverified")
    refused.get_by_role("button", name="Sign in").click()
    expect(refused.get_by_role("heading", level=1)).to_have_text("You could not be signed in")
    expect(refused.locator("#sso-message")).to_contain_text("has not verified your e-mail address")
    _check(refused, "single sign-on refused")

    admin.get_by_role("button", name="Disconnect the identity provider").click()
    expect(admin.locator(".govuk-notification-banner")).to_contain_text("disconnected")


@pytest.mark.parametrize("phone", [False, True], ids=["1280px", "375px"])
def test_forgot_password_without_email(open_page: Callable[..., Page], phone: bool) -> None:
    """On the shared demo server, which sends no e-mail: only looks, changes no account."""
    asker = open_page(phone=phone)
    asker.goto("/sign-in")
    asker.get_by_role("link", name="Forgot your password?").click()
    expect(asker.get_by_role("heading", level=1)).to_have_text("Forgot your password?")
    expect(asker.locator("main")).to_contain_text("Ask your organisation's Patchwork admin for a reset code")
    _check(asker, "forgot your password, without e-mail")
    asker.get_by_role("link", name="I have a reset code").click()
    asker.get_by_role("button", name="Set my new password").click()
    expect(asker.locator(".govuk-error-summary")).to_be_visible()
    _check(asker, "reset password with errors")


@pytest.mark.parametrize("phone", [False, True], ids=["1280px", "375px"])
def test_a_reset_with_an_admins_code(open_here: Callable[..., Page], deployment: Deployment, phone: bool) -> None:
    """On this module's own server: the reset changes a demo account's password, which the shared one must keep."""
    email = deployment.practitioners[3 if phone else 2]
    admin = open_here(phone=phone)
    sign_in(admin, deployment.admin_of[email], PASSWORD)
    admin.goto("/organisation/accounts")
    admin.locator("tr", has_text=email).get_by_role("button", name=re.compile("password reset code")).click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("Password reset code")
    _check(admin, "reset code shown once")
    code = admin.locator("#reset-code").inner_text()

    asker = open_here(phone=phone)
    asker.goto("/reset-password")
    asker.locator("#secret").fill(code)
    asker.locator("#password").fill("a brand new browser password")
    asker.get_by_role("button", name="Set my new password").click()
    expect(asker).to_have_url(at_path("/sign-in"))
    expect(asker.locator(".govuk-notification-banner")).to_contain_text("Your password has been reset")
    sign_in(asker, email, "a brand new browser password")
    sign_out(asker)


@pytest.mark.parametrize("phone", [False, True], ids=["1280px", "375px"])
def test_forgot_password_by_email(open_here: Callable[..., Page], deployment: Deployment, phone: bool) -> None:
    email = deployment.practitioners[1 if phone else 0]
    page = open_here(phone=phone)
    page.goto("/forgot-password")
    _check(page, "forgot your password, by e-mail")
    page.get_by_role("button", name="Send me a link").click()
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    _check(page, "forgot your password with errors")
    page.locator("#email").fill(email)
    page.get_by_role("button", name="Send me a link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your e-mail")
    _check(page, "check your e-mail")
    link = _link_for(deployment.inbox, email)
    page.goto(link)
    _check(page, "choose a new password")
    page.locator("#password").fill("an entirely new password for tests")
    page.get_by_role("button", name="Set my new password").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Your password has been reset")
    sign_in(page, email, "an entirely new password for tests")


def _link_for(inbox: Inbox, to: str) -> str:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for recipients, raw in list(inbox.received):
            if to in recipients:
                body = email_message.message_from_bytes(raw).get_payload(decode=True)
                assert isinstance(body, bytes)
                found = re.search(r"(http://127\.0\.0\.1:\d+/reset-password\?token=[A-Za-z0-9_-]+)", body.decode())
                if found:
                    return found.group(1)
        time.sleep(0.1)
    raise AssertionError(f"no reset link reached {to}")
