"""The lead's dashboard in Chromium: an alert arrives live while others post, and the lead acknowledges and resolves
it, on a desktop and a phone, by keyboard alone, and with JavaScript off; axe-core finds nothing."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import assert_accessible, assert_no_horizontal_scroll
from tests.browser.test_notes import (  # noqa: F401  (the `as_person` fixture)
    Cast,
    api_note,
    as_person,
    make_network,
)

CONCERN = {"level": "concern", "category": "hunger_nutrition"}


def _concerns(cast: Cast, network: str) -> None:
    """Three concerns from two organisations: Ana (X) twice, Cairo (Z) once."""
    for author, body in (
        (cast.ana, "Hungry at breakfast club"),
        (cast.cai, "Asked for food"),
        (cast.ana, "Hungry again"),
    ):
        api_note(cast, author, network, body, **CONCERN)


def _open_dashboard(page: Page) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", name="Networks you lead")).to_be_visible()
    page.wait_for_function("() => document.getElementById('live') && window.htmx")
    page.wait_for_timeout(300)


def _tab_to(page: Page, test: str, presses: int = 80) -> None:
    """Press Tab until the focused element passes `test` (a JavaScript expression over `el`)."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        if page.evaluate(f"(() => {{ const el = document.activeElement; return !!el && ({test}); }})()"):
            return
    raise AssertionError(f"Tab never reached an element where {test}")


@pytest.mark.parametrize("phone", [False, True], ids=["1280px", "375px"])
def test_an_alert_arrives_live_and_the_lead_acknowledges_and_resolves_it(
    cast: Cast,
    as_person: Callable[..., Page],  # noqa: F811
    phone: bool,
) -> None:
    network = make_network(cast, cast.ana, cast.ben, cast.cai, lead=cast.ben)
    lead = as_person(cast.ben, phone=phone)
    if not phone:
        lead.set_viewport_size({"width": 1280, "height": 900})
    _open_dashboard(lead)
    lead.evaluate("window.__notReloaded = true")
    _concerns(cast, network)
    alert = lead.locator("#alert-list .pw-alert", has_text="3 concerns from 2 organisations in 30 days")
    expect(alert).to_be_visible(timeout=8_000)
    assert lead.evaluate("window.__notReloaded === true"), "it arrived live, without a reload"
    assert_accessible(lead, "dashboard with an alert")
    lead.get_by_label("Child's name").fill("nobody by this name")
    expect(lead.locator("#led-count")).to_contain_text("0 networks", timeout=5_000)
    assert lead.evaluate("window.__notReloaded === true"), "the filter works as you type, without a reload"
    lead.get_by_label("Child's name").fill("")
    expect(lead.locator("#led-count")).not_to_contain_text("0 networks", timeout=5_000)
    if phone:
        assert_no_horizontal_scroll(lead)
    alert.get_by_role("link", name="Acknowledge or resolve").click()
    expect(lead.get_by_role("heading", level=1)).to_have_text("Concerns building up")
    assert_accessible(lead, "alert page")
    lead.get_by_role("button", name="Acknowledge").click()
    expect(lead.locator(".govuk-notification-banner--success")).to_contain_text("You have acknowledged the alert.")
    lead.get_by_role("button", name="Resolve the alert").click()
    expect(lead.locator(".govuk-error-summary")).to_contain_text("Choose what was done about the alert")
    assert_accessible(lead, "alert page with an error")
    lead.get_by_label("Discussed with the network").check()
    lead.get_by_role("button", name="Resolve the alert").click()
    expect(lead.locator(".govuk-notification-banner--success")).to_contain_text("The alert has been resolved")
    _open_dashboard(lead)
    expect(lead.locator("#alert-list .pw-alert", has_text="3 concerns from 2")).to_have_count(0)


def test_the_lead_does_it_all_by_keyboard(cast: Cast, as_person: Callable[..., Page]) -> None:  # noqa: F811
    network = make_network(cast, cast.ana, cast.ben, cast.cai, lead=cast.ben)
    _concerns(cast, network)
    lead = as_person(cast.ben)
    _open_dashboard(lead)
    _tab_to(lead, "el.matches('#alert-list a[href^=\"/alerts/\"]')")
    lead.keyboard.press("Enter")
    expect(lead.get_by_role("heading", level=1)).to_have_text("Concerns building up")
    _tab_to(lead, "el.tagName === 'BUTTON' && el.textContent.includes('Acknowledge')")
    lead.keyboard.press("Enter")
    expect(lead.locator(".govuk-notification-banner--success")).to_contain_text("acknowledged the alert")
    _tab_to(lead, "el.type === 'radio'")
    lead.keyboard.press("ArrowDown")  # from the first outcome to the second: discussed with the network
    expect(lead.get_by_label("Discussed with the network")).to_be_checked()
    _tab_to(lead, "el.tagName === 'BUTTON' && el.textContent.includes('Resolve')")
    lead.keyboard.press("Enter")
    expect(lead.locator(".govuk-notification-banner--success")).to_contain_text("The alert has been resolved")


def test_without_javascript_the_resolution_form_works_and_news_comes_on_reload(
    cast: Cast,
    as_person: Callable[..., Page],  # noqa: F811
) -> None:
    network = make_network(cast, cast.ana, cast.ben, cast.cai, lead=cast.ben)
    lead = as_person(cast.ben, javascript=False)
    lead.goto("/")
    expect(lead.get_by_role("heading", name="Networks you lead")).to_be_visible()
    _concerns(cast, network)
    lead.reload()
    alert = lead.locator("#alert-list .pw-alert", has_text="3 concerns from 2 organisations")
    expect(alert).to_be_visible()
    lead.get_by_label("Child's name").fill("no such child")
    lead.get_by_role("button", name="Show").click()
    expect(lead.locator("#led-count")).to_contain_text("0 networks")
    lead.goto("/")
    alert.get_by_role("link", name="Acknowledge or resolve").click()
    lead.get_by_role("radio", name="Other").check()
    lead.get_by_role("button", name="Resolve the alert").click()
    expect(lead.locator("#text-error")).to_contain_text("Enter what was done")
    expect(lead.get_by_role("radio", name="Other")).to_be_checked()
    lead.get_by_label("What was done").fill("Met the family with the school")
    lead.get_by_role("button", name="Resolve the alert").click()
    expect(lead.locator(".govuk-notification-banner--success")).to_contain_text("The alert has been resolved")
    expect(lead.locator("dd", has_text="Met the family with the school")).to_be_visible()
    lead.goto("/alerts")
    expect(lead.locator("#alerts-table")).to_contain_text("Resolved")
