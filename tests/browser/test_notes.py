"""Notes in the browser: post one note of each audience and see who sees it, the form without JavaScript, urgent
notes and the referral route, revise, reply, acknowledge and redact, axe-core on every notes page (and on a phone),
and the post form with the keyboard only.

The people here are made for this module, not taken from the demo: three claimed organisation admins each create
fresh practitioners in their own organisation through the JSON API, and every test sets up its own network (a child
with a random name) through the API too. Only what the test is about goes through the browser."""

from __future__ import annotations

import csv
import json
import random
import re
import string
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import Server
from tests.browser.helpers import assert_no_horizontal_scroll, at_path, axe_violations, report, sign_in

PASSWORD = "notes in the browser, a long password"
REFERRAL_ERROR = "Confirm that you have followed the referral route, or will now"
_random = random.Random()


def _tag(count: int = 6) -> str:
    return "".join(_random.choice(string.ascii_lowercase) for _ in range(count))


# Setting up through the JSON API ------------------------------------------------------------------------------------


class Api:
    """Just enough of the JSON API to set things up quickly, with one bearer token per person."""

    def __init__(self, url: str) -> None:
        self.url = url

    def call(self, method: str, path: str, *, token: str | None = None, body: object = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.url}/api/v1{path}", data=data, method=method)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                raw = response.read()
        except urllib.error.HTTPError as error:
            raise AssertionError(f"{method} {path} answered {error.code}: {error.read().decode()[:500]}") from None
        return json.loads(raw) if raw else None

    def token(self, email: str, password: str) -> str:
        token: str = self.call("POST", "/tokens", body={"email": email, "password": password})["token"]
        return token


@dataclass(frozen=True)
class Person:
    name: str
    email: str
    id: str
    organisation: str
    organisation_id: str
    token: str = field(repr=False)

    @property
    def choice(self) -> str:
        """How the post form names them among the people to choose."""
        return f"{self.name}, {self.organisation}"


@dataclass(frozen=True)
class Cast:
    """Five practitioners from three organisations. Ana and Eve work together; Cai and Dee work together."""

    ana: Person  # organisation X: writes the notes
    ben: Person  # organisation Y: the lead professional
    cai: Person  # organisation Z
    dee: Person  # organisation Z
    eve: Person  # organisation X: never a member of the networks here
    api: Api = field(repr=False)

    @property
    def members(self) -> tuple[Person, ...]:
        return (self.ana, self.ben, self.cai, self.dee)


def make_cast(server: Server) -> Cast:
    """The people of the notes tests; tests/browser/conftest.py makes them once per session as `cast`, since each
    set takes three of the demo's organisation admins."""
    api = Api(server.url)
    organisations: list[dict[str, str]] = []
    admin_tokens: list[str] = []
    taken: tuple[str | None, ...] = ()
    for _ in range(3):
        admin = server.claim("practitioner", org_admin=True, not_from=taken)
        taken += (admin.organisation,)
        token = api.token(admin.email, server.password)
        admin_tokens.append(token)
        organisations.append(api.call("GET", "/me", token=token)["organisation"])
    run = _tag()

    def make(name: str, which: int) -> Person:
        organisation = organisations[which]
        email = f"{name.split()[0].lower()}.{run}@notes-tests.example.org"
        created = api.call(
            "POST",
            "/users",
            token=admin_tokens[which],
            body={
                "email": email,
                "name": name,
                "organisation_id": organisation["id"],
                "password": PASSWORD,
                "job_title": "Practitioner",
            },
        )
        return Person(name, email, created["id"], organisation["name"], organisation["id"], api.token(email, PASSWORD))

    return Cast(
        ana=make("Anita Okonjo", 0),
        ben=make("Benedict Hale", 1),
        cai=make("Cairo Mensah", 2),
        dee=make("Delia Frost", 2),
        eve=make("Evan Pryce", 0),
        api=api,
    )


def make_network(cast: Cast, *members: Person, lead: Person | None = None) -> str:
    """A network for a made-up child, started by the first member; the others join; `lead` steps up."""
    starter, *others = members
    born = date.today() - timedelta(days=_random.randrange(365, 15 * 365))
    network: str = cast.api.call(
        "POST",
        "/networks",
        token=starter.token,
        body={
            "child": {
                "given_name": _random.choice(["Rosa", "Theo", "Nell", "Yusuf", "Bram", "Zainab"]),
                "family_name": f"{_tag(7).capitalize()}-Notes",
                "date_of_birth": born.isoformat(),
            },
            "role_label": "Class teacher",
            "reason": "In my class",
            "contact": "01632 960100",
        },
    )["id"]
    for member in others:
        cast.api.call(
            "POST",
            f"/networks/{network}/involvements",
            token=member.token,
            body={"role_label": "Practitioner", "reason": "Working with the family"},
        )
    if lead is not None:
        cast.api.call("POST", f"/networks/{network}/leads", token=lead.token, body={"user_id": lead.id})
    return network


def api_note(cast: Cast, author: Person, network: str, body: str, **overrides: Any) -> str:
    """A note posted through the API, for tests that need notes to exist rather than to be posted."""
    note = {
        "body": body,
        "category": "attendance",
        "level": "observation",
        "observed_on": date.today().isoformat(),
        "audience": {"kind": "network"},
        "basis": {"kind": "consent", "consent_from": "Jo Smith (mother)", "consented_on": date.today().isoformat()},
    } | overrides
    note_id: str = cast.api.call("POST", f"/networks/{network}/notes", token=author.token, body=note)["id"]
    return note_id


# The browser ---------------------------------------------------------------------------------------------------------


@pytest.fixture
def as_person(open_page: Callable[..., Page], server: Server) -> Callable[..., Page]:
    """A fresh browser signed in as the person: `as_person(cast.ana, phone=True, javascript=False)`."""

    def open_as(person: Person, *, phone: bool = False, javascript: bool = True) -> Page:
        page = open_page(phone=phone, javascript=javascript)
        sign_in(page, person.email, PASSWORD)
        return page

    return open_as


@dataclass(frozen=True)
class NoteDraft:
    """What a person types into the post form, by the labels they read."""

    body: str
    category: str = "Attendance"
    level: str = "Concern"
    audience: str = "Everyone in the network"
    organisations: tuple[str, ...] = ()
    people: tuple[str, ...] = ()
    consent_from: str | None = "Jo Smith (mother)"  # None: sharing without consent
    reason: str = "The child is at risk of significant harm"
    justification: str = "Mum has said she will move away if anyone is told."
    referral_route_acknowledged: bool = False


def group(page: Page, legend: str) -> Locator:
    return page.get_by_role("group", name=legend, exact=True)


def fill_note(page: Page, draft: NoteDraft) -> None:
    page.get_by_label("What did you notice?").fill(draft.body)
    page.get_by_label("What is it about?").select_option(label=draft.category)
    group(page, "How worried are you?").get_by_label(draft.level, exact=True).check()
    if draft.referral_route_acknowledged:
        page.get_by_label("I have followed the referral route, or will now").check()
    group(page, "Who in the network can see it?").get_by_label(draft.audience, exact=True).check()
    for organisation in draft.organisations:
        group(page, "Which organisations?").get_by_label(organisation, exact=True).check()
    for person in draft.people:
        group(page, "Which people?").get_by_label(person, exact=True).check()
    basis = group(page, "Do you have consent to share this?")
    if draft.consent_from is not None:
        basis.get_by_label("Yes, I have consent").check()
        page.get_by_label("Who gave consent?").fill(draft.consent_from)
        consented = group(page, "When was consent given?")
        today = date.today()
        consented.get_by_label("Day").fill(str(today.day))
        consented.get_by_label("Month").fill(str(today.month))
        consented.get_by_label("Year").fill(str(today.year))
    else:
        basis.get_by_label("No, I am sharing without consent").check()
        group(page, "Why are you sharing without consent?").get_by_label(draft.reason, exact=True).check()
        page.get_by_label("Explain your decision").fill(draft.justification)


def check_preview(page: Page, sees: str) -> None:
    check = page.locator("#check")
    expect(check.get_by_role("heading", name="Check before posting")).to_be_visible()
    expect(check.locator(".pw-check__words")).to_have_text(sees)


def posted(page: Page, network: str, body: str) -> str:
    """On the feed after posting: the new note is first. Returns its id."""
    expect(page).to_have_url(at_path(f"/networks/{network}/notes"))
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Your note has been posted.")
    first = page.locator("#notes > article").first
    expect(first.locator(":scope > .pw-note__body")).to_have_text(body)
    return (first.get_attribute("id") or "").removeprefix("note-")


def post_note(page: Page, network: str, draft: NoteDraft, *, sees: str) -> str:
    """Post through the form with its check step; `sees` is what the check must say. Returns the note's id."""
    page.goto(f"/networks/{network}/notes/new")
    fill_note(page, draft)
    page.get_by_role("button", name="Continue").click()
    check_preview(page, sees)
    expect(page.get_by_label("What did you notice?")).to_have_value(draft.body)  # the form is still filled in
    page.get_by_role("button", name="Post note").click()
    return posted(page, network, draft.body)


def feed_ids(page: Page, network: str) -> list[str]:
    """The notes on the first page of the feed, top to bottom."""
    page.goto(f"/networks/{network}/notes")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Notes about")
    ids: list[str] = page.locator("#notes > article").evaluate_all("notes => notes.map(n => n.id.slice(5))")
    return ids


def chronology_ids(page: Page, network: str) -> set[str]:
    page.goto(f"/networks/{network}/chronology")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Chronology for")
    ids: list[str] = page.locator("#chronology tbody tr").evaluate_all("rows => rows.map(r => r.id.slice(4))")
    return set(ids)


def downloaded_csv_notes(page: Page) -> list[str]:
    """On the chronology: download the CSV as a person would and return its "Note" column."""
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile(r"^Download CSV")).click()
    with open(download.value.path(), encoding="utf-8-sig", newline="") as exported:
        return [row["Note"] for row in csv.DictReader(exported)]


def note_on(page: Page, note: str) -> Locator:
    return page.locator(f"#note-{note}")


def fact(article: Locator, key: str) -> Locator:
    row = article.locator(".govuk-summary-list__row").filter(has=article.page.locator("dt", has_text=key))
    return row.locator("dd")


def expect_not_found(page: Page, path: str) -> None:
    response = page.goto(path)
    assert response is not None and response.status == 404, f"{path} answered {response and response.status}"
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")


def success(page: Page) -> Locator:
    return page.locator(".govuk-notification-banner--success")


# 1. One note of each audience, and who sees it ---------------------------------------------------------------------


def test_each_audience_sees_exactly_its_notes(as_person: Callable[..., Page], cast: Cast) -> None:
    network = make_network(cast, *cast.members, lead=cast.ben)
    ana = as_person(cast.ana)
    run = _tag()

    # One note of each audience, each checked before posting. Ana always sees her own, so she is in every count.
    everyone = post_note(
        ana,
        network,
        NoteDraft(f"Arrived without a coat again ({run})."),
        sees="4 people in 3 organisations; not the family",
    )
    leads = post_note(
        ana,
        network,
        NoteDraft(f"Mum mentioned a new partner at home ({run}).", audience="Lead professionals only"),
        sees="2 people in 2 organisations; not the family",
    )
    organisation = post_note(
        ana,
        network,
        NoteDraft(
            f"Missed two dental appointments ({run}).",
            category="Health",
            level="Observation",
            audience="People from organisations I choose",
            organisations=(cast.cai.organisation,),
        ),
        sees="3 people in 2 organisations; not the family",
    )
    person = post_note(
        ana,
        network,
        NoteDraft(
            f"Said she is scared of the dog next door ({run}).",
            category="Home environment",
            audience="People I choose",
            people=(cast.dee.choice,),
            consent_from=None,
        ),
        sees="2 people in 2 organisations; not the family",
    )

    # The feed is newest first and says in words who can see each note.
    assert feed_ids(ana, network) == [person, organisation, leads, everyone]
    for note, words in (
        (everyone, "Everyone in the network"),
        (leads, "Lead professionals only"),
        (organisation, f"Members from {cast.cai.organisation}"),
        (person, f"Only {cast.dee.name}"),
    ):
        expect(fact(note_on(ana, note), "Who can see it")).to_have_text(words)
    expect(fact(note_on(ana, person), "Basis for sharing")).to_contain_text("Shared without consent")

    # Everyone else sees exactly the notes meant for them, in the same order.
    sees = {
        cast.ben: [leads, everyone],  # the lead; not in organisation Z, not chosen
        cast.cai: [organisation, everyone],  # organisation Z; not a lead, not chosen
        cast.dee: [person, organisation, everyone],  # organisation Z and chosen by name
    }
    bodies = {everyone: "coat", leads: "new partner", organisation: "dental", person: "scared of the dog"}
    pages = {}
    for viewer, expected in sees.items():
        pages[viewer] = page = as_person(viewer)
        assert feed_ids(page, network) == expected, f"{viewer.name} sees the wrong notes in the feed"
        # The same notes in the chronology and in what it downloads, and nothing of the others.
        assert chronology_ids(page, network) == set(expected), f"{viewer.name} sees the wrong notes in the chronology"
        csv_notes = downloaded_csv_notes(page)
        assert len(csv_notes) == len(expected), csv_notes
        for note, word in bodies.items():
            assert any(word in body for body in csv_notes) == (note in expected), f"{viewer.name}'s CSV: {csv_notes}"

    # A hidden note is "Page not found", exactly like a note that does not exist; so is every note to a non-member.
    cai = pages[cast.cai]
    expect_not_found(cai, f"/notes/{person}")
    expect(cai.locator("main")).not_to_contain_text("scared of the dog")
    expect_not_found(cai, "/notes/00000000-0000-4000-8000-000000000000")
    cai.goto(f"/notes/{organisation}")
    expect(note_on(cai, organisation).locator(":scope > .pw-note__body")).to_contain_text("dental appointments")
    # Eve works with Ana but is not in the network: she sees no notes at all.
    eve = as_person(cast.eve)
    expect_not_found(eve, f"/networks/{network}/notes")
    for note in (everyone, leads, organisation, person):
        expect_not_found(eve, f"/notes/{note}")


def test_older_notes_page_through_only_what_the_viewer_may_see(as_person: Callable[..., Page], cast: Cast) -> None:
    """30 notes, every fourth for the leads only: the lead pages 20 + 10, Cai 20 + 3 (the rule is applied before
    the page is cut, so no page comes up short and none is skipped)."""
    network = make_network(cast, cast.ana, cast.ben, cast.cai, lead=cast.ben)
    audiences = {n: "lead" if n % 4 == 0 else "network" for n in range(1, 31)}
    made = {
        n: api_note(cast, cast.ana, network, f"Observation {n}.", audience={"kind": audiences[n]}) for n in audiences
    }
    newest_first = [made[n] for n in sorted(made, reverse=True)]
    not_for_leads_only = [made[n] for n in sorted(made, reverse=True) if audiences[n] == "network"]
    found: list[str] = []
    for viewer, expected in ((cast.ben, newest_first), (cast.cai, not_for_leads_only)):
        page = as_person(viewer)
        assert feed_ids(page, network) == expected[:20]
        page.get_by_role("link", name="Older notes").click()
        expect(page).to_have_url(re.compile(r"/notes\?before="))
        older = page.locator("#notes > article").evaluate_all("notes => notes.map(n => n.id.slice(5))")
        assert older == expected[20:], f"{viewer.name}'s older notes"
        expect(page.get_by_role("link", name="Older notes")).to_have_count(0)
        found += axe_violations(page, f"older notes as {viewer.name}")
        page.get_by_role("link", name="Newest notes").click()
        expect(page.locator("#notes > article").first).to_have_id(f"note-{expected[0]}")
    report(found)


# 2. Without JavaScript ---------------------------------------------------------------------------------------------


def test_the_form_works_without_javascript(as_person: Callable[..., Page], cast: Cast) -> None:
    network = make_network(cast, cast.ana, cast.ben, cast.cai)
    page = as_person(cast.ana, javascript=False)
    page.goto(f"/networks/{network}")
    expect(page.locator("body")).not_to_have_class(re.compile(r"\bjs-enabled\b"))  # scripts really are off
    page.locator("#notes-links").get_by_role("link", name="Post a note").click()
    expect(page).to_have_url(at_path(f"/networks/{network}/notes/new"))

    # Nothing chosen: the errors come back from the server, with what was typed.
    page.get_by_label("What did you notice?").fill("Hungry at breakfast club every day this week.")
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_title(re.compile(r"^Error: "))
    expect(page.locator(".govuk-error-summary")).to_contain_text("Choose what the note is about")
    expect(page.get_by_label("What did you notice?")).to_have_value("Hungry at breakfast club every day this week.")

    draft = NoteDraft(
        "Hungry at breakfast club every day this week.",
        category="Hunger and nutrition",
        audience="People from organisations I choose",
        organisations=(cast.ben.organisation, cast.cai.organisation),
    )
    fill_note(page, draft)
    page.get_by_role("button", name="Continue").click()
    check_preview(page, "3 people in 3 organisations; not the family")
    # Changing the audience after the check shows the check again instead of posting.
    group(page, "Which organisations?").get_by_label(cast.ben.organisation, exact=True).uncheck()
    page.get_by_role("button", name="Post note").click()
    expect(page).to_have_url(at_path(f"/networks/{network}/notes/new"))
    check_preview(page, "2 people in 2 organisations; not the family")
    page.get_by_role("button", name="Post note").click()
    note = posted(page, network, draft.body)
    expect(fact(note_on(page, note), "Who can see it")).to_have_text(f"Members from {cast.cai.organisation}")

    # The reply box is a <details>: it opens without scripts too.
    note_on(page, note).locator("summary").filter(has_text="Reply").click()
    note_on(page, note).get_by_label("Your reply").fill("Seen the same at lunch.")
    note_on(page, note).get_by_role("button", name="Post reply").click()
    expect(success(page)).to_contain_text("Your reply has been posted.")
    expect(note_on(page, note).locator(".pw-reply")).to_contain_text("Seen the same at lunch.")


# 3. Urgent notes and the referral route ----------------------------------------------------------------------------


def test_urgent_needs_the_referral_route_confirmed(as_person: Callable[..., Page], cast: Cast) -> None:
    network = make_network(cast, cast.ana, cast.ben, lead=cast.ben)
    page = as_person(cast.ana)
    page.goto(f"/networks/{network}/notes/new")
    body = "Bruise on the left cheek; says she fell off her bike.\nSecond bruise seen on her arm."
    draft = NoteDraft(body, category="Injury", level="Urgent", audience="Lead professionals only", consent_from=None)
    fill_note(page, draft)

    # The referral route is there to read before posting.
    route = page.locator(".govuk-warning-text").filter(has_text="If a child is in immediate danger, call 999")
    expect(route).to_be_visible()
    page.get_by_role("button", name="Continue").click()

    # Refused at the first step: the error sits beside the box, the summary links to it, and nothing typed is lost.
    expect(page).to_have_title(re.compile(r"^Error: "))
    box = page.get_by_label("I have followed the referral route, or will now")
    error = page.locator("#referral_route_acknowledged-error")
    expect(error).to_contain_text(REFERRAL_ERROR)
    expect(page.locator(".govuk-form-group--error").filter(has=box)).to_contain_text(REFERRAL_ERROR)
    expect(box).to_have_attribute("aria-describedby", re.compile(r"(^|\s)referral_route_acknowledged-error(\s|$)"))
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_focused()
    summary.get_by_role("link").filter(has_text="Confirm that you have followed").click()
    expect(box).to_be_focused()
    expect(box).not_to_be_checked()
    expect(page.get_by_label("What did you notice?")).to_have_value(body)
    expect(group(page, "How worried are you?").get_by_label("Urgent", exact=True)).to_be_checked()
    expect(page.get_by_label("Explain your decision")).to_have_value(draft.justification)
    expect(page.locator("#notes")).to_have_count(0)

    box.check()
    page.get_by_role("button", name="Continue").click()
    check_preview(page, "2 people in 2 organisations; not the family")
    page.get_by_role("button", name="Post note").click()
    note = posted(page, network, body)
    expect(note_on(page, note).locator(".pw-note__header")).to_contain_text("Urgent")
    assert feed_ids(page, network) == [note]  # the refused attempt wrote nothing


# 4. Revise, reply, acknowledge, redact -----------------------------------------------------------------------------


def test_revise_reply_acknowledge_and_redact(as_person: Callable[..., Page], cast: Cast) -> None:
    network = make_network(cast, cast.ana, cast.ben, cast.cai, lead=cast.ben)
    first = "Left at the gate at 8am, school opens at 8.45."
    note = api_note(cast, cast.ana, network, first, level="concern")
    ana = as_person(cast.ana)
    ana.goto(f"/networks/{network}/notes")

    # Ana revises in place: the card turns into the form and back, edited; the old text is under "Details".
    note_on(ana, note).get_by_role("link", name=re.compile(r"^Revise")).click()
    box = note_on(ana, note).get_by_label("Revise your note")
    expect(box).to_have_value(first)
    expect(box).to_be_focused()
    second = "Left at the gate at 8am, school opens at 8.45. Dad dropped her off."
    box.fill(second)
    note_on(ana, note).get_by_role("button", name="Save revision").click()
    article = note_on(ana, note)
    expect(article.locator(".pw-note__done")).to_contain_text("Your note has been revised.")
    expect(ana).to_have_url(at_path(f"/networks/{network}/notes"))
    expect(article.locator(":scope > .pw-note__body")).to_have_text(second)
    expect(article.locator(".pw-note__header")).to_contain_text("Edited")
    history = article.locator("details.pw-note__more")
    expect(history.locator(".pw-revision")).to_be_hidden()
    history.locator("summary").click()
    expect(history.locator(".pw-revision")).to_have_count(1)
    expect(history.locator(".pw-revision")).to_contain_text("Version 1")
    expect(history.locator(".pw-revision .pw-note__body")).to_have_text(first)
    expect(fact(article, "Acknowledged")).to_have_text("Nobody has acknowledged it yet")
    expect(article.get_by_role("button", name=re.compile("^Acknowledge"))).to_have_count(0)  # not her own

    # Cai (not a lead) replies from the feed and acknowledges; he sees the history but not who acknowledged.
    cai = as_person(cast.cai)
    cai.goto(f"/networks/{network}/notes")
    article = note_on(cai, note)
    expect(article.get_by_role("link", name=re.compile(r"^(Revise|Redact)"))).to_have_count(0)
    expect(article.locator(".pw-revision .pw-note__body")).to_have_text(first)
    article.locator("summary").filter(has_text="Reply").click()
    article.get_by_label("Your reply").fill("She told me she walks the last bit on her own.")
    article.get_by_role("button", name="Post reply").click()
    expect(article.locator(".pw-note__done")).to_have_text("Your reply has been posted.")
    expect(article.locator(".pw-reply")).to_contain_text("She told me she walks the last bit on her own.")
    expect(article.locator(".pw-reply")).to_contain_text(cast.cai.name)
    article.get_by_role("button", name=re.compile("^Acknowledge")).click()
    expect(article.locator(".pw-note__done")).to_have_text("You have acknowledged the note.")
    expect(article.locator(".pw-note__done")).to_be_focused()
    expect(article.locator(".pw-note__meta").first).to_contain_text("you acknowledged it")
    expect(article.get_by_role("button", name=re.compile("^Acknowledge"))).to_have_count(0)
    expect(fact(article, "Acknowledged")).to_have_count(0)  # only the author and the leads see who

    # The author and the lead see who acknowledged it, and the reply.
    ana.reload()
    expect(fact(note_on(ana, note), "Acknowledged")).to_have_text(f"Acknowledged by {cast.cai.name}")
    expect(note_on(ana, note).locator(".pw-reply")).to_contain_text("walks the last bit")
    ben = as_person(cast.ben)
    ben.goto(f"/notes/{note}")
    expect(fact(note_on(ben, note), "Acknowledged")).to_have_text(f"Acknowledged by {cast.cai.name}")

    # Ana redacts from the note's own page: the text, its history and the replies are gone for everyone.
    ana.goto(f"/notes/{note}")
    note_on(ana, note).get_by_role("link", name=re.compile(r"^Redact")).click()
    expect(note_on(ana, note).get_by_label("Why are you redacting it?")).to_be_focused()
    expect(ana.locator("main")).to_contain_text(second)
    ana.get_by_label("Why are you redacting it?").fill("Posted about the wrong child.")
    ana.get_by_role("button", name="Redact note").click()
    expect(note_on(ana, note).locator(".pw-note__done")).to_have_text("The note has been redacted.")
    expect(ana).to_have_url(at_path(f"/notes/{note}"))
    for page in (ana, ben, cai):
        for path in (f"/networks/{network}/chronology", f"/networks/{network}/notes", f"/notes/{note}"):
            page.goto(path)
            main = page.locator("main")
            expect(main).to_contain_text("This note was redacted")
            for gone in ("Left at the gate", "walks the last bit"):
                expect(main).not_to_contain_text(gone)
    article = note_on(ben, note)
    expect(article.locator(".pw-note__header")).to_contain_text("Redacted")
    expect(article.locator("summary").filter(has_text="Reply")).to_have_count(0)  # no replies to a redacted note
    expect(article.locator(".pw-reply")).to_contain_text("Hidden with the note")
    expect(fact(article, "Acknowledged")).to_have_text(f"Acknowledged by {cast.cai.name}")
    expect(article.locator(".pw-note__meta").first).to_contain_text(cast.ana.name)  # the fact and metadata remain


# 5. Accessibility --------------------------------------------------------------------------------------------------


def _notes_of_every_kind(cast: Cast, network: str) -> dict[str, str]:
    """Notes of several kinds through the API: edited, replied to, acknowledged, redacted, urgent, long words."""
    today = date.today()
    long_ago = (today - timedelta(days=60)).isoformat()
    made = {
        "edited": api_note(cast, cast.ana, network, "Late four times this month.", observed_on=long_ago),
        "replied": api_note(
            cast,
            cast.ana,
            network,
            "Said there is no food at home at weekends.",
            category="hunger_nutrition",
            level="concern",
            audience={"kind": "organisations", "organisation_ids": [cast.ben.organisation_id]},
            basis={"kind": "without_consent", "reason": "risk_to_child", "justification": "Dad would stop her coming."},
        ),
        "urgent": api_note(
            cast,
            cast.ana,
            network,
            "Mark on her neck; would not say how.",
            category="injury",
            level="urgent",
            audience={"kind": "lead"},
            referral_route_acknowledged=True,
        ),
        "redacted": api_note(cast, cast.ana, network, "Wrong child, sorry.", category="other"),
        "long": api_note(
            cast,
            cast.ana,
            network,
            "Mum asked us to write to safeguarding.team@northgate-community-health-trust.example.org about "
            "https://eastshire.example.gov.uk/services/children-and-families/early-help/request-for-support-form",
            audience={"kind": "people", "user_ids": [cast.ben.id]},
        ),
    }
    cast.api.call("POST", f"/notes/{made['edited']}/revisions", token=cast.ana.token, body={"body": "Late 5 times."})
    cast.api.call("POST", f"/notes/{made['replied']}/replies", token=cast.ben.token, body={"body": "Same at club."})
    cast.api.call("POST", f"/notes/{made['urgent']}/acknowledgements", token=cast.ben.token)
    cast.api.call("POST", f"/notes/{made['redacted']}/redaction", token=cast.ana.token, body={"reason": "Wrong child"})
    return made


def _open_all_details(page: Page) -> None:
    """Open every <details> (earlier versions, reply boxes) so axe checks what is inside them too."""
    page.locator("details").evaluate_all("all => all.forEach(d => { d.open = true; })")


def test_notes_pages_are_accessible(as_person: Callable[..., Page], cast: Cast) -> None:
    network = make_network(cast, cast.ana, cast.ben, cast.cai, lead=cast.ben)
    made = _notes_of_every_kind(cast, network)
    found: list[str] = []

    ana = as_person(cast.ana)
    ana.goto(f"/networks/{network}/notes")
    expect(ana.locator("#notes > article")).to_have_count(len(made))
    _open_all_details(ana)
    found += axe_violations(ana, "feed as the author")
    ben = as_person(cast.ben)
    ben.goto(f"/networks/{network}/notes")
    expect(ben.locator("#notes > article")).to_have_count(len(made))
    found += axe_violations(ben, "feed as the lead, reply boxes closed")
    _open_all_details(ben)
    found += axe_violations(ben, "feed as the lead, everything open")

    # The post form: empty, with errors, the check step, and urgent refused with the referral route.
    ana.goto(f"/networks/{network}/notes/new")
    found += axe_violations(ana, "post form")
    ana.get_by_role("group", name="Who in the network can see it?").get_by_label("People I choose").check()
    ana.get_by_role("group", name="Do you have consent to share this?").get_by_label("No, I am sharing").check()
    ana.get_by_role("button", name="Continue").click()
    expect(ana.locator(".govuk-error-summary")).to_be_visible()
    found += axe_violations(ana, "post form with errors")
    fill_note(ana, NoteDraft("Urgent: says she is not safe at home.", category="Other", level="Urgent"))
    ana.get_by_role("button", name="Continue").click()
    expect(ana.locator("#referral_route_acknowledged-error")).to_be_visible()
    found += axe_violations(ana, "post form: urgent without the referral route confirmed")
    ana.get_by_label("I have followed the referral route, or will now").check()
    ana.get_by_role("button", name="Continue").click()
    check_preview(ana, "3 people in 3 organisations; not the family")
    found += axe_violations(ana, "post form: check before posting")

    # The chronology, with and without filters (and with a filter it cannot read).
    ana.goto(f"/networks/{network}/chronology")
    expect(ana.locator("#chronology tbody tr")).to_have_count(len(made))
    found += axe_violations(ana, "chronology")
    ana.get_by_text("Filter the chronology").click()
    group(ana, "Level").get_by_label("Concern").check()
    group(ana, "Level").get_by_label("Observation").check()
    week_ago = date.today() - timedelta(days=7)
    observed_from = group(ana, "Observed from")
    observed_from.get_by_label("Day").fill(str(week_ago.day))
    observed_from.get_by_label("Month").fill(str(week_ago.month))
    observed_from.get_by_label("Year").fill(str(week_ago.year))
    ana.get_by_role("button", name="Apply filters").click()
    expect(ana.locator("#chronology caption")).to_have_text("3 notes matching the filters")
    found += axe_violations(ana, "chronology with filters")
    ana.goto(f"/networks/{network}/chronology?from=last+week")
    expect(ana.locator(".govuk-error-summary")).to_be_visible()
    found += axe_violations(ana, "chronology with a bad filter")

    # One note, and the revise and redact pages (empty and refused).
    ana.goto(f"/notes/{made['replied']}")
    _open_all_details(ana)
    found += axe_violations(ana, "one note")
    ana.goto(f"/notes/{made['edited']}/revise")
    found += axe_violations(ana, "revise")
    ana.get_by_label("Note", exact=True).fill("")
    ana.get_by_role("button", name="Save revision").click()
    expect(ana.locator(".govuk-error-summary")).to_be_visible()
    found += axe_violations(ana, "revise with errors")
    ana.goto(f"/notes/{made['long']}/redact")
    found += axe_violations(ana, "redact")
    ana.get_by_role("button", name="Redact note").click()
    expect(ana.locator(".govuk-error-summary")).to_be_visible()
    found += axe_violations(ana, "redact with errors")
    report(found)


def test_notes_on_a_phone(as_person: Callable[..., Page], cast: Cast) -> None:
    network = make_network(cast, cast.ana, cast.ben, cast.cai, lead=cast.ben)
    made = _notes_of_every_kind(cast, network)
    found: list[str] = []
    for person in (cast.ana, cast.ben):
        page = as_person(person, phone=True)
        page.goto(f"/networks/{network}/notes")
        expect(page.locator("#notes > article")).to_have_count(len(made))
        _open_all_details(page)
        assert_no_horizontal_scroll(page)
        found += axe_violations(page, f"feed as {person.name}")

    page.goto(f"/networks/{network}/notes/new")
    assert_no_horizontal_scroll(page)
    found += axe_violations(page, "post form")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    assert_no_horizontal_scroll(page)
    found += axe_violations(page, "post form with errors")
    fill_note(
        page,
        NoteDraft("Says she is not safe at home.", category="Other", level="Urgent", referral_route_acknowledged=True),
    )
    page.get_by_role("button", name="Continue").click()
    check_preview(page, "3 people in 3 organisations; not the family")
    assert_no_horizontal_scroll(page)
    found += axe_violations(page, "post form: check before posting")
    report(found)


# 6. Keyboard -------------------------------------------------------------------------------------------------------


def tab_to(page: Page, target: Locator, *, limit: int = 80) -> None:
    """Press Tab until the target has focus (and fail if it never does)."""
    for _ in range(limit):
        if target.evaluate("element => element === document.activeElement"):
            return
        page.keyboard.press("Tab")
    expect(target).to_be_focused()


def test_post_a_note_with_the_keyboard_only(as_person: Callable[..., Page], cast: Cast) -> None:
    network = make_network(cast, cast.ana, cast.ben, cast.cai, lead=cast.ben)
    page = as_person(cast.ana)
    page.goto(f"/networks/{network}/notes")
    post = page.get_by_role("button", name="Post a note")  # a link that looks like a button
    tab_to(page, post)
    page.keyboard.press("Enter")
    expect(page).to_have_url(at_path(f"/networks/{network}/notes/new"))

    body = page.get_by_label("What did you notice?")
    tab_to(page, body)
    page.keyboard.type("Fell asleep in class twice today.")
    # The category is a select: Tab lands on it and typing picks an option, as on any form.
    tab_to(page, page.locator("#category"))
    page.keyboard.type("Behaviour")
    expect(page.locator("#category")).to_have_value("behaviour_wellbeing")
    # A radio group is one stop: Tab lands on its first radio, the arrow keys move the choice.
    page.keyboard.press("Tab")
    expect(page.locator("#level")).to_be_focused()
    page.keyboard.press("ArrowRight")
    expect(group(page, "How worried are you?").get_by_label("Concern", exact=True)).to_be_checked()
    # Lead only is already chosen; Ana picks Ben and Cai by name instead.
    audience = group(page, "Who in the network can see it?")
    tab_to(page, audience.get_by_label("Lead professionals only"))
    page.keyboard.press("ArrowDown")
    expect(audience.get_by_label("People I choose")).to_be_checked()
    for person in (cast.ben, cast.cai):
        box = group(page, "Which people?").get_by_label(person.choice)
        tab_to(page, box)
        page.keyboard.press("Space")
        expect(box).to_be_checked()
    tab_to(page, group(page, "Do you have consent to share this?").get_by_label("Yes, I have consent"))
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Who gave consent?")).to_be_focused()
    page.keyboard.type("Jo Smith (mother)")
    today = date.today()
    for text in (str(today.day), str(today.month), str(today.year)):
        page.keyboard.press("Tab")
        page.keyboard.type(text)
    expect(group(page, "When was consent given?").get_by_label("Year")).to_have_value(str(today.year))
    tab_to(page, page.get_by_role("button", name="Continue"))
    page.keyboard.press("Enter")

    check_preview(page, "3 people in 3 organisations; not the family")
    tab_to(page, page.get_by_role("button", name="Post note"), limit=120)
    page.keyboard.press("Enter")
    note = posted(page, network, "Fell asleep in class twice today.")
    expect(fact(note_on(page, note), "Who can see it")).to_have_text(f"Only {cast.ben.name}, {cast.cai.name}")
