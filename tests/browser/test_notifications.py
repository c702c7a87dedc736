"""Notifications in Chromium at a phone's width: a note posted elsewhere appears at the top of the list without a
reload, one the reader may not see never does, "Mark all as read" covers what arrived live, and the page passes axe."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.browser.helpers import assert_accessible, assert_no_horizontal_scroll
from tests.browser.test_notes import (  # noqa: F401  (the `as_person` fixture)
    Cast,
    api_note,
    as_person,
    make_network,
)


def test_notifications_arrive_live_and_marking_read_covers_them(
    cast: Cast,
    as_person: Callable[..., Page],  # noqa: F811
) -> None:
    network = make_network(cast, cast.ana, cast.ben, cast.cai, lead=cast.ben)
    reader = as_person(cast.cai, phone=True)
    reader.goto("/notifications")
    expect(reader.get_by_role("heading", level=1)).to_have_text("Notifications")
    reader.wait_for_function("() => document.getElementById('live') && window.htmx")
    reader.wait_for_timeout(300)
    assert_accessible(reader)
    assert_no_horizontal_scroll(reader)

    note_id = api_note(cast, cast.ana, network, "Fell asleep in class twice this week")
    newest = reader.locator("#notifications > li").first
    expect(newest).to_contain_text(f"Note from {cast.ana.name}", timeout=5_000)
    expect(newest.get_by_role("link")).to_have_attribute("href", f"/notes/{note_id}")
    expect(newest.locator(".govuk-tag")).to_have_text("New")
    hidden = api_note(cast, cast.ana, network, "For the lead only", audience={"kind": "lead"})
    shown = api_note(cast, cast.ana, network, "Seemed brighter today")
    expect(reader.locator("#notifications > li").first.get_by_role("link")).to_have_attribute(
        "href", f"/notes/{shown}", timeout=5_000
    )
    expect(reader.locator(f'#notifications a[href="/notes/{hidden}"]')).to_have_count(0)
    expect(reader.locator("main")).not_to_contain_text("Fell asleep")
    assert_accessible(reader)

    reader.get_by_role("button", name="Mark all as read").click()
    expect(reader.locator(".govuk-notification-banner--success")).to_contain_text("Everything here is marked as read")
    expect(reader.locator(f'#notifications a[href="/notes/{shown}"]')).to_be_visible()
    expect(reader.locator("#notifications .govuk-tag")).to_have_count(0)


def test_the_home_page_shows_a_new_member_without_a_reload(
    cast: Cast,
    as_person: Callable[..., Page],  # noqa: F811
) -> None:
    network = make_network(cast, cast.ana, cast.ben, cast.cai, lead=cast.ben)
    reader = as_person(cast.cai, phone=True)
    reader.goto("/")
    row = reader.locator("#my-networks tr", has=reader.locator(f'a[href="/networks/{network}"]'))
    expect(row).to_contain_text("3 from 3 organisations")
    reader.wait_for_function("() => document.getElementById('live') && window.htmx")
    reader.wait_for_timeout(300)
    cast.api.call(
        "POST",
        f"/networks/{network}/involvements",
        token=cast.dee.token,
        body={"role_label": "Practitioner", "reason": "Working with the family"},
    )
    row = reader.locator("#my-networks tr", has=reader.locator(f'a[href="/networks/{network}"]'))
    expect(row).to_contain_text("4 from 3 organisations", timeout=5_000)
    assert_accessible(reader)


def test_the_menu_counts_unread_notifications_live(
    cast: Cast,
    as_person: Callable[..., Page],  # noqa: F811
) -> None:
    network = make_network(cast, cast.ana, cast.ben, cast.cai, lead=cast.ben)
    reader = as_person(cast.cai)
    reader.goto("/notifications")
    reader.get_by_role("button", name="Mark all as read").click()
    expect(reader.locator(".govuk-notification-banner--success")).to_contain_text("Everything here is marked as read")
    count = reader.locator("#unread-count")
    expect(count).to_have_text("")
    reader.goto(f"/networks/{network}/notes")  # a page following one network keeps the menu's count live too
    reader.wait_for_function("() => document.getElementById('live') && window.htmx")
    reader.wait_for_timeout(300)
    api_note(cast, cast.ana, network, "Asked for a plaster twice")
    expect(count).to_have_text("1 unread", timeout=5_000)
    api_note(cast, cast.ana, network, "For the lead only, not for Cai", audience={"kind": "lead"})
    api_note(cast, cast.ana, network, "Brought a packed lunch today")
    expect(count).to_have_text("2 unread", timeout=5_000)
    link = reader.get_by_role("link", name="Notifications 2 unread")
    expect(link).to_be_visible()
    assert_accessible(reader)
