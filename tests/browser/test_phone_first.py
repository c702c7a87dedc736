"""On a phone, measured: the note form is short until a choice opens its follow-up; a one-line note's card is
short; acknowledging, replying and redacting leave the page where it was, and all three work without JavaScript."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Locator, Page, expect

from tests.browser.helpers import at_path
from tests.browser.test_notes import (  # noqa: F401  (the `as_person` fixture)
    Cast,
    api_note,
    as_person,
    make_network,
    note_on,
)

FORM_TALLEST = 1_800  # px at 375 wide, before any choice
CARD_TALLEST = 160  # px at 375 wide, a one-line note
NOTES_ON_THE_FEED = 15


def height(page: Page) -> int:
    tall: int = page.evaluate("document.documentElement.scrollHeight")
    return tall


def test_the_note_form_is_short_until_a_choice_opens_its_questions(
    cast: Cast,
    as_person: Callable[..., Page],  # noqa: F811
) -> None:
    network = make_network(cast, cast.ana, cast.ben, cast.cai, lead=cast.ben)
    ana = as_person(cast.ana, phone=True)
    ana.goto(f"/networks/{network}/notes/new")
    which_people = ana.get_by_role("group", name="Which people?")
    expect(which_people).to_be_hidden()
    assert height(ana) < FORM_TALLEST, f"the form is {height(ana)} px tall at 375 px"
    ana.get_by_label("People I choose").check()
    expect(which_people).to_be_visible()
    for follow_up in ("I have followed the referral route, or will now", "Who gave consent?", "Explain your decision"):
        expect(ana.get_by_label(follow_up)).to_be_hidden()
    ana.get_by_label("Urgent").check()
    expect(ana.get_by_label("I have followed the referral route, or will now")).to_be_visible()
    ana.get_by_label("No, I am sharing without consent").check()
    expect(ana.get_by_label("Explain your decision")).to_be_visible()

    # Without JavaScript every question is there to answer.
    plain = as_person(cast.ana, phone=True, javascript=False)
    plain.goto(f"/networks/{network}/notes/new")
    for follow_up in ("Which people?", "Which organisations?", "Why are you sharing without consent?"):
        expect(plain.get_by_role("group", name=follow_up)).to_be_visible()
    for label in ("I have followed the referral route, or will now", "Who gave consent?", "Explain your decision"):
        expect(plain.get_by_label(label)).to_be_visible()


def test_a_one_line_note_has_a_short_card(
    cast: Cast,
    as_person: Callable[..., Page],  # noqa: F811
) -> None:
    network = make_network(cast, cast.ana, cast.ben, cast.cai, lead=cast.ben)
    note = api_note(cast, cast.ana, network, "Seemed tired in class.")
    for person in (cast.cai, cast.ben, cast.ana):  # a member, the lead, the author: each with their own actions
        page = as_person(person, phone=True)
        page.goto(f"/networks/{network}/notes")
        card = note_on(page, note)
        box = card.bounding_box()
        assert box is not None and box["height"] < CARD_TALLEST, f"{person.name} sees a card {box} tall"
        details = card.locator("details.pw-note__more")
        expect(details.locator(".govuk-summary-list")).to_be_hidden()
        details.locator("summary").click()
        expect(details).to_contain_text("Who can see it")


def on_screen(card: Locator) -> float:
    """Where the note's card starts on the screen: what the person sees move, or not."""
    top: float = card.evaluate("card => card.getBoundingClientRect().top")
    return top


def scrolled_to(page: Page, card: Locator) -> float:
    card.evaluate("card => card.scrollIntoView({block: 'center'})")
    page.wait_for_timeout(100)
    assert page.evaluate("window.scrollY") > 1_000, "the note is far down the page"
    return on_screen(card)


def expect_still_at(page: Page, card: Locator, top: float) -> None:
    """The card has not moved on the screen, and the page has not gone back to its top."""
    assert page.evaluate("window.scrollY") > 1_000, "the page went back to its top"
    now = on_screen(card)
    assert abs(now - top) <= 2, f"the note moved on the screen from {top} to {now} px"


def test_acting_on_a_note_keeps_the_page_where_it_was(
    cast: Cast,
    as_person: Callable[..., Page],  # noqa: F811
) -> None:
    network = make_network(cast, cast.ana, cast.ben, cast.cai, lead=cast.ben)
    # Low on the feed, with notes below it too: a card that shrinks at the very end of a page must let the page
    # end sooner, and that is not the page moving.
    for number in range(4):
        api_note(cast, cast.ana, network, f"Note number {number} below it.")
    low = api_note(cast, cast.ana, network, "The note low on the feed.")
    for number in range(NOTES_ON_THE_FEED - 5):
        api_note(cast, cast.ana, network, f"Note number {number} above it.")

    cai = as_person(cast.cai, phone=True)
    cai.goto(f"/networks/{network}/notes")
    card = note_on(cai, low)
    top = scrolled_to(cai, card)
    card.get_by_role("button", name=re.compile("^Acknowledge")).click()
    expect(card.locator(".pw-note__done")).to_have_text("You have acknowledged the note.")
    expect_still_at(cai, card, top)

    card.locator("summary").filter(has_text="Reply").click()
    card.get_by_label("Your reply").fill("He said he slept badly.")
    post = card.get_by_role("button", name="Post reply")
    post.scroll_into_view_if_needed()  # as a person scrolls to the button; then the page must stay put
    top = on_screen(card)
    post.click()
    expect(card.locator(".pw-note__done")).to_have_text("Your reply has been posted.")
    expect(card.locator(".pw-reply")).to_contain_text("He said he slept badly.")
    expect_still_at(cai, card, top)
    expect(cai).to_have_url(at_path(f"/networks/{network}/notes"))

    ben = as_person(cast.ben, phone=True)
    ben.goto(f"/networks/{network}/notes")
    card = note_on(ben, low)
    top = scrolled_to(ben, card)
    card.get_by_role("link", name=re.compile("^Redact")).click()
    reason = card.get_by_label("Why are you redacting it?")
    expect(reason).to_be_focused()
    reason.fill("Posted about the wrong child.")
    redact = card.get_by_role("button", name="Redact note")
    redact.scroll_into_view_if_needed()
    top = on_screen(card)
    redact.click()
    expect(card.locator(".pw-note__done")).to_have_text("The note has been redacted.")
    expect(card.locator(".pw-note__redacted").first).to_contain_text(f"This note was redacted by {cast.ben.name}")
    expect_still_at(ben, card, top)


def test_acting_on_a_note_works_without_javascript(
    cast: Cast,
    as_person: Callable[..., Page],  # noqa: F811
) -> None:
    network = make_network(cast, cast.ana, cast.ben, cast.cai, lead=cast.ben)
    note = api_note(cast, cast.ana, network, "Came in without a coat.")
    feed = f"/networks/{network}/notes"

    cai = as_person(cast.cai, javascript=False)
    cai.goto(feed)
    note_on(cai, note).get_by_role("button", name=re.compile("^Acknowledge")).click()
    expect(cai).to_have_url(re.compile(rf"{re.escape(feed)}\?notice=note-acknowledged#note-{note}$"))
    expect(note_on(cai, note).locator(".pw-note__meta").first).to_contain_text("you acknowledged it")

    card = note_on(cai, note)
    expect(card.get_by_label("Your reply")).to_be_hidden()
    card.locator("summary").filter(has_text="Reply").click()  # a disclosure opens without scripts
    card.get_by_label("Your reply").fill("Same on Monday.")
    card.get_by_role("button", name="Post reply").click()
    expect(cai).to_have_url(re.compile(rf"{re.escape(feed)}\?notice=reply-posted#note-{note}$"))
    expect(note_on(cai, note).locator(".pw-reply")).to_contain_text("Same on Monday.")

    ben = as_person(cast.ben, javascript=False)
    ben.goto(feed)
    note_on(ben, note).get_by_role("link", name=re.compile("^Redact")).click()
    expect(ben).to_have_url(at_path(f"/notes/{note}/redact"))
    ben.get_by_label("Why are you redacting it?").fill("Wrong network.")
    ben.get_by_role("button", name="Redact note").click()
    expect(ben).to_have_url(re.compile(rf"{re.escape(feed)}\?notice=note-redacted#note-{note}$"))
    expect(note_on(ben, note).locator(".pw-note__redacted").first).to_contain_text("This note was redacted")
