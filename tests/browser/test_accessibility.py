"""Every page passes axe-core (WCAG 2.2 AA and best practice) empty, with errors, and on a phone."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import DemoAccount, Server
from tests.browser.helpers import (
    Authenticator,
    assert_accessible,
    assert_no_horizontal_scroll,
    at_path,
    axe_violations,
    confirm_two_factor,
    report,
    sign_in,
    sign_out,
)

WHO = {
    "practitioner": ("practitioner", False),
    "org admin": ("practitioner", True),
    "system admin": ("admin", False),
}


def shared_account(server: Server, who: str) -> DemoAccount:
    kind, org_admin = WHO[who]
    return server.shared(kind, org_admin=org_admin)


def expect_errors(page: Page) -> None:
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    expect(page).to_have_title(re.compile(r"^Error: "))


@pytest.mark.parametrize("path", ["/sign-in", "/request-account"])
def test_signed_out_pages(page: Page, path: str) -> None:
    page.goto(path)
    assert_accessible(page)


@pytest.mark.parametrize(("path", "button"), [("/sign-in", "Sign in"), ("/request-account", "Send request")])
def test_signed_out_forms_with_errors(page: Page, path: str, button: str) -> None:
    page.goto(path)
    page.get_by_role("button", name=button, exact=True).click()
    expect_errors(page)
    assert_accessible(page)


def test_page_not_found(page: Page) -> None:
    response = page.goto("/no-such-page")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    assert_accessible(page)


@pytest.mark.parametrize("who", list(WHO))
def test_home(page: Page, server: Server, who: str) -> None:
    account = shared_account(server, who)
    sign_in(page, account.email, server.password)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome, ")
    assert_accessible(page)


def test_account_and_change_password(page: Page, server: Server) -> None:
    account = shared_account(server, "practitioner")
    sign_in(page, account.email, server.password)
    found: list[str] = []
    page.goto("/account")
    found += axe_violations(page)
    page.goto("/account/password")
    found += axe_violations(page)
    page.get_by_role("button", name="Change password").click()
    expect_errors(page)
    found += axe_violations(page, "change password with errors")
    report(found)


def test_two_factor_pages(page: Page, server: Server) -> None:
    """Set-up (empty and with a wrong code), recovery codes, the account with TOTP on, and the code prompt."""
    account = server.claim("practitioner")
    sign_in(page, account.email, server.password)
    found: list[str] = []

    page.goto("/account/two-factor")
    found += axe_violations(page, "two-factor set-up")
    secret = re.sub(r"\s", "", page.locator("#manual-key").inner_text())
    page.locator("#code").fill(Authenticator(secret, last_step=0).wrong_code())
    page.get_by_role("button", name="Turn on two-step verification").click()
    expect_errors(page)
    found += axe_violations(page, "two-factor set-up with errors")

    phone = confirm_two_factor(page)
    found += axe_violations(page, "recovery codes")
    page.goto("/account")
    found += axe_violations(page, "account with two-step verification on")

    sign_out(page)
    sign_in(page, account.email, server.password, lands_on="/sign-in/code")
    found += axe_violations(page, "sign-in code")
    page.locator("#code").fill(phone.wrong_code())
    page.get_by_role("button", name="Continue").click()
    expect_errors(page)
    found += axe_violations(page, "sign-in code with errors")
    report(found)


def test_organisation_accounts(open_page: Callable[..., Page], server: Server) -> None:
    admin = shared_account(server, "org admin")
    assert admin.organisation
    visitor = open_page()
    for name in ("Nadia Brooks", "Sam Quinn"):
        visitor.goto("/request-account")
        visitor.locator("#name").fill(name)
        visitor.locator("#email").fill(f"{name.lower().replace(' ', '.')}@example.org")
        visitor.locator("#job_title").fill("Teaching assistant")
        visitor.locator("#organisation_id").select_option(label=admin.organisation)
        visitor.locator("#password").fill("a long enough password")
        visitor.locator("#confirm_password").fill("a long enough password")
        visitor.get_by_role("button", name="Send request").click()
        expect(visitor).to_have_url(at_path("/sign-in"))

    page = open_page()
    sign_in(page, admin.email, server.password)
    page.get_by_role("link", name="Accounts", exact=True).click()
    page.get_by_role("button", name="Refuse Sam Quinn").click()
    expect(page.get_by_role("button", name="Approve Nadia Brooks")).to_be_visible()
    expect(page.get_by_text("Sam Quinn (sam.quinn@example.org) – refused")).to_be_visible()
    found = axe_violations(page, "organisation accounts")
    page.get_by_role("button", name="Add account").click()
    expect_errors(page)
    found += axe_violations(page, "organisation accounts with errors")
    report(found)


def test_organisations(page: Page, server: Server) -> None:
    admin = shared_account(server, "system admin")
    sign_in(page, admin.email, server.password)
    page.get_by_role("link", name="Organisations", exact=True).click()
    expect(page).to_have_url(at_path("/organisations"))
    page.locator("details summary").first.click()  # an opened organisation shows its edit form to axe
    found = axe_violations(page, "organisations")
    page.get_by_role("button", name="Add organisation").click()
    expect_errors(page)
    found += axe_violations(page, "organisations with errors")
    report(found)


PHONE_PAGES = {
    None: ["/sign-in", "/request-account", "/no-such-page"],
    "practitioner": ["/", "/account", "/account/password", "/account/two-factor"],
    "org admin": ["/", "/organisation/accounts"],
    "system admin": ["/", "/organisations"],
}


@pytest.mark.parametrize("who", list(PHONE_PAGES), ids=lambda who: who or "signed out")
def test_on_a_phone(open_page: Callable[..., Page], server: Server, who: str | None) -> None:
    page = open_page(phone=True)
    if who is not None:
        account = shared_account(server, who)
        sign_in(page, account.email, server.password)
    found: list[str] = []
    for path in PHONE_PAGES[who]:
        page.goto(path)
        expect(page).to_have_url(at_path(path))
        assert_no_horizontal_scroll(page)
        found += axe_violations(page)
    report(found)


def test_phone_menu_opens(open_page: Callable[..., Page], server: Server) -> None:
    """GOV.UK Frontend's menu toggle works under the CSP: on a phone the navigation hides behind 'Menu'."""
    page = open_page(phone=True)
    account = shared_account(server, "org admin")
    sign_in(page, account.email, server.password)
    accounts_link = page.get_by_role("link", name="Accounts", exact=True)
    expect(accounts_link).to_be_hidden()
    page.get_by_role("button", name="Menu").click()
    expect(accounts_link).to_be_visible()
    assert_accessible(page, "home with the menu open")
