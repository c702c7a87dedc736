"""Two-step verification as a person meets it: set it up from the account page, then sign in with a code."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import Server
from tests.browser.helpers import at_path, name_on_account_page, sign_in, sign_out, turn_on_two_factor


def test_practitioner_sets_up_totp_and_signs_in_with_a_code(page: Page, server: Server) -> None:
    account = server.claim("practitioner")
    sign_in(page, account.email, server.password)
    name = name_on_account_page(page)
    assert name, "the account page shows the person's name"

    phone = turn_on_two_factor(page)
    codes = page.locator("#recovery-codes li")
    expect(codes).to_have_count(10)
    assert len(set(codes.all_inner_texts())) == 10, "recovery codes are all different"
    page.get_by_role("link", name="I have saved my codes").click()
    expect(page).to_have_url(at_path("/account"))
    expect(page.locator(".govuk-tag", has_text="On")).to_be_visible()

    sign_out(page)
    expect(page.get_by_role("button", name="Sign out", exact=True)).to_have_count(0)

    sign_in(page, account.email, server.password, lands_on="/sign-in/code")
    page.locator("#code").fill(phone.code())
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(at_path("/"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Welcome, {name}")
    expect(page.locator(".pw-header__person")).to_have_text(f"Signed in as {name}")


def test_wrong_code_shows_the_error_and_keeps_them_on_the_code_page(page: Page, server: Server) -> None:
    account = server.claim("practitioner")
    sign_in(page, account.email, server.password)
    phone = turn_on_two_factor(page)
    sign_out(page)
    sign_in(page, account.email, server.password, lands_on="/sign-in/code")

    page.locator("#code").fill(phone.wrong_code())
    page.get_by_role("button", name="Continue").click()

    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()  # GOV.UK Frontend's script ran despite the strict CSP
    expect(summary.get_by_role("link")).to_have_attribute("href", "#code")
    expect(page.locator("#code-error")).to_be_visible()
    expect(page).to_have_url(at_path("/sign-in/code"))
    expect(page).to_have_title("Error: Enter your code – Patchwork")
    expect(page.locator("#code")).to_have_value("")

    page.locator("#code").fill(phone.code())
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(at_path("/"))
