"""The system admin's audit trail and merge pages at 320, 375 and 1280 px: nothing scrolls sideways, the trail's
events are cards on a phone and a table on a desk, and axe finds nothing, with the filters open, a filter applied,
an older page, and both merge look-ups answered. Nothing is merged: the demo data is shared by the session."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.browser.conftest import Server
from tests.browser.helpers import assert_no_horizontal_scroll, axe_violations, report, sign_in

WIDTHS = (320, 375, 1280)


def _fits(page: Page, found: list[str], label: str) -> None:
    assert_no_horizontal_scroll(page)
    found += axe_violations(page, label)


def test_the_trail_and_merge_pages_fit_every_width(open_page: Callable[..., Page], server: Server) -> None:
    admin = server.shared("admin")
    someone = server.shared("practitioner")
    page = open_page(phone=True)
    sign_in(page, admin.email, server.password)
    found: list[str] = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        page.goto("/admin/audit")
        first = page.locator("#audit-events tbody tr").first
        expect(first).to_be_visible()
        heading = page.locator("#audit-events thead")
        if width < 641:
            assert first.evaluate("row => getComputedStyle(row).display") == "block", "an event is a card on a phone"
            assert heading.evaluate("head => head.getBoundingClientRect().height") <= 1, "no column headings"
        else:
            assert first.evaluate("row => getComputedStyle(row).display") == "table-row"
        _fits(page, found, f"audit trail at {width}")

        page.get_by_text("Filter by person or network").click()
        page.get_by_label("Who did it").fill(someone.email)
        page.get_by_label("Network reference").fill(server.networks[0][:8])
        _fits(page, found, f"audit trail filters at {width}")
        page.get_by_role("button", name="Apply filters").click()
        expect(page.locator("#audit-filters")).to_contain_text("Showing only events by")
        expect(page.locator("#audit-filters")).to_contain_text(server.networks[0][:8])
        _fits(page, found, f"audit trail filtered at {width}")

        page.goto("/admin/audit")
        page.get_by_role("link", name="Older events").click()
        expect(page.get_by_role("link", name="Newer events")).to_be_visible()
        _fits(page, found, f"audit trail, an older page, at {width}")

        page.goto("/admin/merge")
        _fits(page, found, f"merge at {width}")
        page.locator("#source_reference").fill(server.networks[0][:8])
        page.get_by_role("button", name="Find the duplicate network").click()
        expect(page.locator("input[name=source_id]:checked")).to_have_count(1)
        page.locator("#target_reference").fill(server.networks[1][:8])
        page.get_by_role("button", name="Find the network that stays").click()
        expect(page.locator("input[name=target_id]:checked")).to_have_count(1)
        expect(page.locator("input[name=source_id]:checked")).to_have_value(server.networks[0])
        _fits(page, found, f"merge with both networks found at {width}")
        page.locator("#target_reference").fill("")
        page.locator("#target_family_name").fill("Nobody-Such")
        page.locator("#target_date_of_birth").fill("1")
        page.locator("#target_dob-month").fill("1")
        page.locator("#target_dob-year").fill("2015")
        page.locator("#target_given_name").fill("Ann")
        page.get_by_role("button", name="Find the network that stays").click()
        expect(page.locator("#target_family_name-error")).to_be_visible()
        _fits(page, found, f"merge with a look-up error at {width}")
    report(found)
