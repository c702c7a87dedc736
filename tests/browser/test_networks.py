"""Networks of concern in the browser: find a child, start a network, register involvement, leads, and the pages'
accessibility. Every test makes up its own children (unique names, random dates of birth), so tests do not
depend on one another or on the demo networks."""

from __future__ import annotations

import random
import re
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import date, timedelta

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import DemoAccount, Server
from tests.browser.helpers import (
    assert_no_horizontal_scroll,
    at_path,
    axe_violations,
    report,
    sign_in,
)

NETWORK_URL = re.compile(r"/networks/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?:\?.*)?$")
GIVEN_NAMES = ["Rosa", "Kacper", "Imani", "Theo", "Nell", "Yusuf", "Ottilie", "Bram", "Zainab", "Callum"]
FAMILY_STEMS = ["Ashworth", "Pemberton", "Okafor", "Lindqvist", "Marchetti", "Fairbairn", "Quigley", "Ndiaye"]
_random = random.Random()


@dataclass(frozen=True)
class Child:
    given: str
    family: str
    born: date
    nhs: str = ""

    @property
    def name(self) -> str:
        return f"{self.given} {self.family}"


def _letters(count: int) -> str:
    return "".join(_random.choice(string.ascii_lowercase) for _ in range(count))


def nhs_number() -> str:
    """A random NHS number whose modulus 11 check digit holds."""
    while True:
        first_nine = [_random.randrange(10) for _ in range(9)]
        check = 11 - sum(d * w for d, w in zip(first_nine, range(10, 1, -1), strict=True)) % 11
        if check == 10:
            continue
        return "".join(map(str, first_nine)) + str(0 if check == 11 else check)


def a_child(*, given: str | None = None, day: int | None = None, month: int | None = None, nhs: bool = True) -> Child:
    """A child nobody else has: a double-barrelled family name that starts with random letters (Soundex looks only
    at the start, so two test children's family names are never 'similar') and a date of birth 1 to 24 years ago."""
    family = f"{_letters(1).upper()}{_letters(6)}-{_random.choice(FAMILY_STEMS)}"
    today = date.today()
    born = today - timedelta(days=_random.randrange(365, 24 * 365))
    born = date(born.year, month or born.month, day or min(born.day, 28))
    return Child(given or _random.choice(GIVEN_NAMES), family, born, nhs_number() if nhs else "")


@dataclass(frozen=True)
class Cast:
    """Three practitioners from three organisations, claimed for this module: they start and join networks."""

    alice: DemoAccount
    bob: DemoAccount
    carol: DemoAccount


@pytest.fixture(scope="module")
def cast(server: Server) -> Cast:
    alice = server.claim("practitioner")
    bob = server.claim("practitioner", org_admin=True, not_from=(alice.organisation,))
    carol = server.claim("practitioner", org_admin=True, not_from=(alice.organisation, bob.organisation))
    return Cast(alice, bob, carol)


@pytest.fixture
def as_account(open_page: Callable[..., Page], server: Server) -> Iterator[Callable[..., Page]]:
    """A fresh browser signed in as the account: `as_account(cast.alice, phone=True)`."""

    def open_as(account: DemoAccount, *, phone: bool = False) -> Page:
        page = open_page(phone=phone)
        sign_in(page, account.email, server.password)
        return page

    yield open_as


def whoami(page: Page) -> str:
    return page.locator(".pw-header__person strong").inner_text().strip()


def fill_date(page: Page, day: str, month: str, year: str) -> None:
    page.locator("input[name=dob_day]").fill(day)
    page.locator("input[name=dob_month]").fill(month)
    page.locator("input[name=dob_year]").fill(year)


def search(
    page: Page,
    child: Child,
    *,
    family: str | None = None,
    given: str | None = None,
    day: str | None = None,
    month: str | None = None,
    nhs: str | None = None,
    go: bool = True,
) -> Locator:
    """Search for the child from the search page, typing the details as given (by default as the child has them)."""
    if go:
        page.goto("/search")
    page.locator("#family_name").fill(child.family if family is None else family)
    fill_date(page, day or str(child.born.day), month or str(child.born.month), str(child.born.year))
    page.locator("#given_name").fill(child.given if given is None else given)
    page.locator("#nhs_number").fill(child.nhs if nhs is None else nhs)
    page.get_by_role("button", name="Search", exact=True).click()
    result = page.locator("#search-result")
    expect(result).to_be_visible()
    return result


def fill_involvement(page: Page, *, role: str, reason: str, contact: str = "", sensitive: bool = False) -> None:
    page.locator("#role_label").fill(role)
    page.locator("#reason").fill(reason)
    page.locator("#contact").fill(contact)
    page.get_by_label("Hide my involvement from the family").set_checked(sensitive)


def fill_child(page: Page, child: Child) -> None:
    page.locator("#given_name").fill(child.given)
    page.locator("#family_name").fill(child.family)
    fill_date(page, str(child.born.day), str(child.born.month), str(child.born.year))
    page.locator("#nhs_number").fill(child.nhs)


def start_network(page: Page, child: Child, *, role: str = "School nurse", contact: str = "01632 960001") -> str:
    """Start a network from the start page; returns its id."""
    page.goto("/networks/new")
    fill_child(page, child)
    fill_involvement(page, role=role, reason="Attendance has dropped this term", contact=contact)
    page.get_by_role("button", name="Start the network").click()
    return network_id(page)


def network_id(page: Page) -> str:
    expect(page).to_have_url(NETWORK_URL)
    found = NETWORK_URL.search(page.url)
    assert found
    return found[1]


def join(page: Page, network: str, *, role: str, contact: str = "", sensitive: bool = False) -> None:
    page.goto(f"/networks/{network}/join")
    fill_involvement(page, role=role, reason="Known to our service", contact=contact, sensitive=sensitive)
    page.get_by_role("button", name="Register involvement").click()
    expect(page).to_have_url(at_path(f"/networks/{network}"))


def member_row(page: Page, name: str) -> Locator:
    return page.locator("#members tbody tr").filter(has=page.locator("td").first.filter(has_text=name))


def lead_value(page: Page) -> Locator:
    row = page.locator(".govuk-summary-list__row").filter(has=page.locator("dt", has_text="Lead professional"))
    return row.locator("dd")


def success_banner(page: Page) -> Locator:
    return page.locator(".govuk-notification-banner--success")


# 1. The journey in the issue ---------------------------------------------------------------------------------------


def test_two_practitioners_find_each_other_through_a_child(as_account: Callable[..., Page], cast: Cast) -> None:
    child = replace(a_child(day=7, month=3), given="Rosa Mae")
    alice = as_account(cast.alice)
    alice_name = whoami(alice)

    # Alice looks for the child first and finds no network.
    alice.get_by_role("link", name="Find a child").click()
    expect(alice).to_have_url(at_path("/search"))
    nhs_typed = f"{child.nhs[:3]} {child.nhs[3:6]} {child.nhs[6:]}"
    result = search(alice, child, nhs=nhs_typed, go=False)
    expect(result.get_by_role("heading", name="No network found")).to_be_visible()
    expect(result.locator("table")).to_have_count(0)

    # She starts one from the result: the form comes back with what she typed.
    result.get_by_role("button", name="Start a network for this child").click()
    expect(alice).to_have_url(at_path("/networks/new"))
    expect(alice.get_by_role("heading", level=1)).to_have_text("Start a network for a child")
    expect(alice.locator("#given_name")).to_have_value("Rosa Mae")
    expect(alice.locator("#family_name")).to_have_value(child.family)
    expect(alice.locator("input[name=dob_day]")).to_have_value("7")
    expect(alice.locator("input[name=dob_month]")).to_have_value("3")
    expect(alice.locator("input[name=dob_year]")).to_have_value(str(child.born.year))
    expect(alice.locator("#nhs_number")).to_have_value(nhs_typed)
    fill_involvement(alice, role="School nurse", reason="Attendance has dropped this term", contact="01632 960001")
    alice.get_by_role("button", name="Start the network").click()
    network = network_id(alice)
    expect(success_banner(alice)).to_contain_text("The network has been started")
    expect(alice.get_by_role("heading", level=1)).to_have_text(child.name)
    expect(alice).to_have_title("Network – Patchwork")  # never the child's name: titles end up in history
    expect(lead_value(alice)).to_have_text("None yet")
    expect(member_row(alice, alice_name)).to_contain_text("School nurse")
    expect(alice.locator("#members tbody tr")).to_have_count(1)

    # Bob, from another organisation, types the same details differently and finds Alice.
    bob = as_account(cast.bob)
    bob_name = whoami(bob)
    result = search(
        bob,
        child,
        family=f"  {child.family.upper().replace('-', ' - ')} ",
        given="  ROSA   MAE ",
        day="07",
        month="03",
        nhs=child.nhs,
    )
    expect(result.get_by_role("heading", name="A network was found")).to_be_visible()
    members = result.locator("table tbody tr")
    expect(members).to_have_count(1)
    expect(members.first).to_contain_text(alice_name)
    expect(members.first).to_contain_text("School nurse")
    expect(members.first).to_contain_text(cast.alice.organisation or "")
    expect(members.first).to_contain_text("01632 960001")
    expect(result).not_to_contain_text(child.given)  # the result names the people, not the child
    result.get_by_role("link", name="Register your involvement").click()
    expect(bob).to_have_url(at_path(f"/networks/{network}/join"))
    fill_involvement(bob, role="Family support worker", reason="Working with mum", contact="01632 960002")
    bob.get_by_role("button", name="Register involvement").click()
    expect(bob).to_have_url(at_path(f"/networks/{network}"))
    expect(success_banner(bob)).to_contain_text("Your involvement has been registered.")
    expect(bob.get_by_role("heading", level=1)).to_have_text(child.name)
    expect(bob.locator("#members tbody tr")).to_have_count(2)
    expect(member_row(bob, bob_name)).to_contain_text(f"Family support worker, {cast.bob.organisation}")
    expect(member_row(bob, bob_name).get_by_role("link", name="Leave this network")).to_be_visible()
    expect(member_row(bob, alice_name).get_by_role("link", name=re.compile("^End involvement"))).to_have_count(0)

    # Alice sees Bob after a reload.
    alice.reload()
    expect(member_row(alice, bob_name)).to_contain_text("01632 960002")

    # Bob steps up as lead (nobody is), then appoints Alice too.
    bob.get_by_role("button", name="Step up as lead professional").click()
    expect(success_banner(bob)).to_contain_text("The lead professional has been appointed.")
    expect(member_row(bob, bob_name).locator(".govuk-tag", has_text="Lead")).to_be_visible()
    expect(lead_value(bob)).to_have_text(bob_name)
    expect(bob.get_by_role("button", name="Step up as lead professional")).to_have_count(0)
    bob.get_by_label("Appoint another lead professional").select_option(label=alice_name)
    bob.get_by_role("button", name="Appoint lead").click()
    expect(lead_value(bob)).to_contain_text(alice_name)
    expect(member_row(bob, alice_name).locator(".govuk-tag", has_text="Lead")).to_be_visible()
    expect(bob.get_by_label("Appoint another lead professional")).to_have_count(0)  # nobody left to appoint

    # Alice, now a lead, has the lead controls; she makes the full history visible and Bob steps down.
    alice.reload()
    expect(alice.get_by_role("button", name="Step down as lead")).to_be_visible()
    expect(alice.get_by_role("button", name="Close the network")).to_be_visible()
    alice.get_by_label("The full history they are allowed to see").check()
    alice.get_by_role("button", name="Save", exact=True).click()
    expect(success_banner(alice)).to_contain_text("The network has been updated.")
    row = alice.locator(".govuk-summary-list__row").filter(has=alice.locator("dt", has_text="New members see"))
    expect(row.locator("dd")).to_have_text("the full history visible to them")
    bob.reload()
    bob.get_by_role("button", name="Step down as lead").click()
    expect(success_banner(bob)).to_contain_text("You are no longer a lead professional")
    expect(lead_value(bob)).to_have_text(alice_name)
    expect(bob.get_by_role("button", name="Step up as lead professional")).to_have_count(0)  # there is a lead

    # Both see the network on their home page; Alice's row says she leads it.
    for page, role in ((alice, "School nurse"), (bob, "Family support worker")):
        page.goto("/")
        link = page.locator("#my-networks").get_by_role("link", name=child.name)
        expect(link).to_have_attribute("href", f"/networks/{network}")
        row = page.locator("#my-networks tbody tr").filter(has=page.get_by_role("link", name=child.name))
        expect(row).to_contain_text(role)
        expect(row).to_contain_text("2 from 2 organisations")
    expect(alice.locator("#my-networks tbody tr").filter(has_text=child.name).locator(".govuk-tag")).to_have_text(
        "Lead"
    )

    # Searching again, Bob is told he is a member and offered the network itself.
    result = search(bob, child)
    expect(result).to_contain_text("You are a member of this network.")
    expect(result.get_by_role("link", name="Register your involvement")).to_have_count(0)
    result.get_by_role("link", name="Open the network").click()
    expect(bob).to_have_url(at_path(f"/networks/{network}"))

    # Bob leaves; Alice no longer sees him.
    member_row(bob, bob_name).get_by_role("link", name="Leave this network").click()
    expect(bob.get_by_role("heading", level=1)).to_have_text("Leave this network?")
    bob.get_by_role("button", name="Leave the network").click()
    expect(bob).to_have_url(at_path("/"))
    expect(success_banner(bob)).to_contain_text("You have left the network.")
    expect(bob.locator("#my-networks").get_by_role("link", name=child.name)).to_have_count(0)
    alice.goto(f"/networks/{network}")
    expect(alice.locator("#members tbody tr")).to_have_count(1)
    expect(member_row(alice, bob_name)).to_have_count(0)


def test_hidden_involvement_is_tagged_for_the_network(as_account: Callable[..., Page], cast: Cast) -> None:
    child = a_child()
    alice = as_account(cast.alice)
    network = start_network(alice, child)
    carol = as_account(cast.carol)
    carol_name = whoami(carol)
    join(carol, network, role="Refuge support worker", sensitive=True)
    expect(member_row(carol, carol_name).locator(".govuk-tag", has_text="Hidden from family")).to_be_visible()
    alice.reload()
    expect(member_row(alice, carol_name).locator(".govuk-tag", has_text="Hidden from family")).to_be_visible()


# 2. A near miss reveals nothing ------------------------------------------------------------------------------------


def test_a_near_miss_finds_nothing_and_names_nobody(as_account: Callable[..., Page], cast: Cast) -> None:
    child = a_child(given="Imani")
    alice = as_account(cast.alice)
    alice_name = whoami(alice)
    start_network(alice, child)

    bob = as_account(cast.bob)
    other_day = str(child.born.day % 28 + 1)
    for given, day in (("Imana", None), ("Imani", other_day)):  # a letter off, then the right name a day off
        result = search(bob, child, given=given, day=day, nhs="")
        expect(result.get_by_role("heading", name="No network found")).to_be_visible()
        expect(result.locator("table")).to_have_count(0)
        expect(result.get_by_role("link", name="Register your involvement")).to_have_count(0)
        expect(bob.locator("main")).not_to_contain_text(alice_name)
        expect(bob.locator("main")).not_to_contain_text(cast.alice.organisation or "")

    # The exact details still find it: the near miss was not a fault of the search.
    result = search(bob, child, nhs="")
    expect(result.get_by_role("heading", name="A network was found")).to_be_visible()
    expect(result).to_contain_text(alice_name)


# 3. A near duplicate is refused, keeping what was typed -------------------------------------------------------------


def test_starting_a_near_duplicate_is_refused_and_keeps_the_form(as_account: Callable[..., Page], cast: Cast) -> None:
    child = a_child(given="Theo")
    alice = as_account(cast.alice)
    alice_name = whoami(alice)
    start_network(alice, child)

    bob = as_account(cast.bob)
    twin = replace(child, given="Thea", nhs="")
    bob.goto("/networks/new")
    fill_child(bob, twin)
    bob.locator("#known_as").fill("Tee")
    bob.locator("#postcode").fill("ea1 4qt")
    fill_involvement(bob, role="Health visitor", reason="New to the area", contact="01632 960003", sensitive=True)
    with bob.expect_response(lambda r: r.url.endswith("/networks/new") and r.request.method == "POST") as answer:
        bob.get_by_role("button", name="Start the network").click()
    assert answer.value.status == 409
    expect(bob).to_have_title("Error: Start a network – Patchwork")
    summary = bob.locator(".govuk-error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    expect(summary.locator(".govuk-error-summary__title")).to_have_text("A network may already exist for this child")
    expect(summary.get_by_role("link", name="search with the child's exact details")).to_have_attribute(
        "href", "/search"
    )
    expect(bob).to_have_url(at_path("/networks/new"))
    expect(bob.locator("main")).not_to_contain_text(alice_name)
    for field, value in {
        "#given_name": "Thea",
        "#family_name": child.family,
        "#known_as": "Tee",
        "input[name=dob_day]": str(child.born.day),
        "input[name=dob_month]": str(child.born.month),
        "input[name=dob_year]": str(child.born.year),
        "#postcode": "ea1 4qt",
        "#role_label": "Health visitor",
        "#reason": "New to the area",
        "#contact": "01632 960003",
    }.items():
        expect(bob.locator(field)).to_have_value(value)
    expect(bob.get_by_label("Hide my involvement from the family")).to_be_checked()

    bob.goto("/")
    expect(bob.locator("#my-networks").get_by_role("link", name=re.compile(child.family))).to_have_count(0)


# 4. Bad input ------------------------------------------------------------------------------------------------------


def _future_birthday() -> tuple[str, str, str]:
    soon = date.today() + timedelta(days=40)
    return str(soon.day), str(soon.month), str(soon.year)


def _expect_field_error(page: Page, summary: Locator, *, text: str, field: str, error: str, described: str) -> None:
    """The message is in the summary and beside the field; its summary link moves focus to the field."""
    expect(page.locator(f"#{error}")).to_contain_text(text)
    expect(page.locator(described)).to_have_attribute("aria-describedby", re.compile(rf"(^|\s){error}(\s|$)"))
    link = summary.get_by_role("link", name=text)
    expect(link).to_have_attribute("href", f"#{field}")
    link.click()
    expect(page.locator(f"#{field}")).to_be_focused()


def test_bad_search_shows_errors_beside_the_fields_and_keeps_the_input(
    as_account: Callable[..., Page], cast: Cast
) -> None:
    page = as_account(cast.carol)
    page.goto("/search")
    day, month, year = _future_birthday()
    page.locator("#family_name").fill("Marchetti-Zed")
    fill_date(page, day, month, year)
    page.locator("#given_name").fill("Bram")
    page.locator("#nhs_number").fill("123 456 7890")
    page.get_by_role("button", name="Search", exact=True).click()

    expect(page).to_have_title("Error: Find a child – Patchwork")
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("link")).to_have_count(2)
    expect(page.locator("#search-result")).to_have_count(0)
    for field, value in {
        "#family_name": "Marchetti-Zed",
        "input[name=dob_day]": day,
        "input[name=dob_month]": month,
        "input[name=dob_year]": year,
        "#given_name": "Bram",
        "#nhs_number": "123 456 7890",
    }.items():
        expect(page.locator(field)).to_have_value(value)
    for box in ("dob_day", "dob_month", "dob_year"):
        expect(page.locator(f"input[name={box}]")).to_have_class(re.compile(r"\bgovuk-input--error\b"))
    _expect_field_error(
        page,
        summary,
        text="Date of birth must be today or in the past",
        field="date_of_birth",
        error="dob-error",
        described="fieldset:has(#date_of_birth)",
    )
    _expect_field_error(
        page,
        summary,
        text="Enter a valid 10-digit NHS number",
        field="nhs_number",
        error="nhs_number-error",
        described="#nhs_number",
    )


def test_bad_start_shows_errors_beside_the_fields_and_keeps_the_input(
    as_account: Callable[..., Page], cast: Cast
) -> None:
    page = as_account(cast.carol)
    page.goto("/networks/new")
    day, month, year = _future_birthday()
    page.locator("#given_name").fill("Yusuf")
    page.locator("#family_name").fill("Ndiaye-Q")
    fill_date(page, day, month, year)
    page.locator("#nhs_number").fill("1234567890")
    fill_involvement(page, role="Housing officer", reason="Family recently rehoused")
    page.get_by_role("button", name="Start the network").click()

    expect(page).to_have_title("Error: Start a network – Patchwork")
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("link")).to_have_count(2)
    for field, value in {
        "#given_name": "Yusuf",
        "#family_name": "Ndiaye-Q",
        "input[name=dob_day]": day,
        "input[name=dob_month]": month,
        "input[name=dob_year]": year,
        "#nhs_number": "1234567890",
        "#role_label": "Housing officer",
        "#reason": "Family recently rehoused",
    }.items():
        expect(page.locator(field)).to_have_value(value)
    _expect_field_error(
        page,
        summary,
        text="Date of birth must be today or in the past",
        field="date_of_birth",
        error="dob-error",
        described="fieldset:has(#date_of_birth)",
    )
    _expect_field_error(
        page,
        summary,
        text="Enter a valid 10-digit NHS number",
        field="nhs_number",
        error="nhs_number-error",
        described="#nhs_number",
    )


# 5. Accessibility --------------------------------------------------------------------------------------------------


def _submit_empty(page: Page, button: str) -> None:
    page.get_by_role("button", name=button, exact=True).click()
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    expect(page).to_have_title(re.compile(r"^Error: "))


def test_network_pages_are_accessible(as_account: Callable[..., Page], cast: Cast, server: Server) -> None:
    found: list[str] = []
    child = a_child()
    alice = as_account(cast.alice)

    alice.goto("/search")
    found += axe_violations(alice, "search")
    _submit_empty(alice, "Search")
    found += axe_violations(alice, "search with errors")
    search(alice, child)
    expect(alice.locator("#search-result")).to_contain_text("No network found")
    found += axe_violations(alice, "search with no match")

    alice.goto("/networks/new")
    found += axe_violations(alice, "start a network")
    _submit_empty(alice, "Start the network")
    found += axe_violations(alice, "start a network with errors")
    network = start_network(alice, child)
    found += axe_violations(alice, "network page as its only member")
    alice.goto("/networks/new")  # the same child again
    fill_child(alice, replace(child, nhs=""))
    fill_involvement(alice, role="School nurse", reason="Attendance has dropped this term")
    alice.get_by_role("button", name="Start the network").click()
    expect(alice.locator(".govuk-error-summary__title")).to_have_text("A network may already exist for this child")
    found += axe_violations(alice, "start a network: duplicate")

    bob = as_account(cast.bob)
    result = search(bob, child)
    expect(result).to_contain_text("A network was found")
    found += axe_violations(bob, "search with a match")
    result.get_by_role("link", name="Register your involvement").click()
    found += axe_violations(bob, "join")
    _submit_empty(bob, "Register involvement")
    found += axe_violations(bob, "join with errors")
    fill_involvement(bob, role="Class teacher", reason="In my class", contact="01632 960004", sensitive=True)
    bob.get_by_role("button", name="Register involvement").click()
    expect(success_banner(bob)).to_be_visible()
    found += axe_violations(bob, "network page as a member, with a banner")

    alice.goto(f"/networks/{network}")
    alice.get_by_role("button", name="Step up as lead professional").click()
    expect(alice.get_by_label("Appoint another lead professional")).to_be_visible()
    found += axe_violations(alice, "network page as a lead")
    alice.get_by_role("button", name="Appoint lead").click()  # nobody chosen
    expect(alice.locator(".govuk-error-summary")).to_be_visible()
    found += axe_violations(alice, "network page as a lead, with errors")
    alice.get_by_role("button", name="Close the network").click()  # a link that looks like a button
    found += axe_violations(alice, "closing a network: the confirmation")
    alice.get_by_role("button", name="Close the network").click()  # no reason given
    expect(alice.locator(".govuk-error-summary")).to_be_visible()
    found += axe_violations(alice, "closing a network: the confirmation with errors")
    alice.get_by_role("textbox").fill("The family has moved out of the area.")
    alice.get_by_role("button", name="Close the network").click()
    expect(alice.get_by_role("button", name="Reopen the network")).to_be_visible()
    expect(alice.locator("main")).to_contain_text("The family has moved out of the area.")
    found += axe_violations(alice, "closed network, as a lead")
    bob.reload()
    expect(bob.locator(".govuk-inset-text")).to_contain_text("This network is closed")
    found += axe_violations(bob, "closed network, as a member")

    alice.goto("/")
    expect(alice.locator("#my-networks")).to_be_visible()
    found += axe_violations(alice, "home with networks")

    admin = as_account(server.shared("admin"))
    admin.get_by_role("link", name="Merge duplicate networks").click()
    expect(admin).to_have_url(at_path("/admin/merge"))
    found += axe_violations(admin, "merge networks")
    _submit_empty(admin, "Merge networks")
    found += axe_violations(admin, "merge networks with errors")
    report(found)


def test_network_pages_on_a_phone(as_account: Callable[..., Page], cast: Cast) -> None:
    """Search with a match, the network page and home at 375px: nothing scrolls sideways, axe is clean.

    The members have the long work contacts people really give (team mailboxes): on a phone the members table is
    one card per member, and a long address wraps inside its card rather than pushing anything off the screen."""
    child = a_child()
    alice = as_account(cast.alice, phone=True)
    network = start_network(alice, child, contact="safeguarding.team@northgate-community-health.example.org")
    carol = as_account(cast.carol, phone=True)
    carol.goto("/")
    found: list[str] = []
    assert_no_horizontal_scroll(carol)
    found += axe_violations(carol, "home")
    search(carol, child)
    expect(carol.locator("#search-result")).to_contain_text("A network was found")
    assert_no_horizontal_scroll(carol)
    found += axe_violations(carol, "search with a match")
    join(carol, network, role="Designated safeguarding lead", contact="dsl-office@oakfield-primary-school.example.org")
    box = carol.get_by_role("region", name="People involved")
    assert box.evaluate("box => box.scrollWidth <= box.clientWidth"), "the members fit: nothing off the side"
    expect(box).to_contain_text("dsl-office@oakfield-primary-school.example.org")
    assert_no_horizontal_scroll(carol)
    found += axe_violations(carol, "network page as a member")
    carol.get_by_role("button", name="Step up as lead professional").click()
    expect(carol.get_by_label("Appoint another lead professional")).to_be_visible()
    assert_no_horizontal_scroll(carol)
    found += axe_violations(carol, "network page as a lead")
    carol.goto("/")
    expect(carol.locator("#my-networks")).to_be_visible()
    assert_no_horizontal_scroll(carol)
    found += axe_violations(carol, "home with networks")
    report(found)


# 6. Keyboard -------------------------------------------------------------------------------------------------------


def test_search_with_the_keyboard_only(as_account: Callable[..., Page], cast: Cast) -> None:
    child = a_child()
    page = as_account(cast.carol)
    page.goto("/search")
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "family_name":
            break
    else:
        pytest.fail("Tab never reached the family name")
    typed = [
        ("family_name", child.family),
        ("date_of_birth", str(child.born.day)),
        ("dob-month", str(child.born.month)),
        ("dob-year", str(child.born.year)),
        ("given_name", child.given),
        ("nhs_number", child.nhs),
    ]
    for index, (field, text) in enumerate(typed):
        assert page.evaluate("document.activeElement.id") == field, f"focus should be on {field}"
        page.keyboard.type(text)
        if index < len(typed) - 1:
            page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Search", exact=True)).to_be_focused()
    page.keyboard.press("Enter")
    result = page.locator("#search-result")
    expect(result.get_by_role("heading", name="No network found")).to_be_visible()
    expect(page.locator("#family_name")).to_have_value(child.family)

    # Enter in a field submits too, and the result's button is reachable by Tab.
    page.locator("#given_name").focus()
    page.keyboard.press("Enter")
    expect(result.get_by_role("heading", name="No network found")).to_be_visible()
    start = result.get_by_role("button", name="Start a network for this child")
    for _ in range(40):
        page.keyboard.press("Tab")
        if start.evaluate("button => button === document.activeElement"):
            break
    expect(start).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(at_path("/networks/new"))
    expect(page.locator("#family_name")).to_have_value(child.family)


# Demo data ---------------------------------------------------------------------------------------------------------


def test_demo_networks_are_on_their_members_home_pages(open_page: Callable[..., Page], server: Server) -> None:
    """Each demo network is on the home page of a demo member, with members from 3 or more organisations and a lead.

    Only looks: signs in as demo practitioners in turn (skipping any a test has given a second factor) until every
    demo network has been seen."""
    if not server.networks:
        pytest.skip("the demo data has no networks")
    unseen = set(server.networks)
    children: dict[str, str] = {}
    page = open_page()
    for account in (a for a in server.accounts if a.kind == "practitioner"):
        if not unseen:
            break
        page.context.clear_cookies()
        page.goto("/sign-in")
        page.locator("#email").fill(account.email)
        page.locator("#password").fill(server.password)
        page.get_by_role("button", name="Sign in", exact=True).click()
        expect(page).not_to_have_url(at_path("/sign-in"))
        if not at_path("/").match(page.url):
            continue  # a second factor this test does not have
        for link in page.locator("#my-networks tbody a").all():
            href = link.get_attribute("href") or ""
            network = href.removeprefix("/networks/")
            if network not in unseen:
                continue
            row = page.locator("#my-networks tbody tr").filter(has=page.locator(f'a[href="{href}"]'))
            organisations = re.search(r"from (\d+) organisations", row.inner_text())
            assert organisations and int(organisations[1]) >= 3, row.inner_text()
            children[network] = link.inner_text()
            link.click()
            expect(page).to_have_url(at_path(href))
            expect(page.locator("#members .govuk-tag", has_text="Lead").first).to_be_visible()
            page.go_back()
            unseen.discard(network)
    assert not unseen, f"no demo member sees these demo networks on their home page: {unseen}"
    names = " | ".join(children.values())
    for expected in ("Maya Thompson", "Leo Kowalski", "Aisha Begum"):
        assert expected in names, f"{expected} is not among the demo networks: {names}"
