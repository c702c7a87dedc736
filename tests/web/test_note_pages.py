"""The notes pages: posting with a check of who will see it, the feed, the chronology, one note and its actions."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from markupsafe import escape
from sqlmodel import col, func, select
from starlette.testclient import TestClient

from patchwork.app import create_app
from patchwork.models import AccountKind
from patchwork.models.notes import Acknowledgement, Note, NoteReply
from patchwork.services.networks import today
from patchwork.settings import Settings
from tests.conftest import PASSWORD, World
from tests.helpers import api_token, bearer, post_form, sign_in

CHILD = {"given_name": "Maya", "family_name": "Thompson", "date_of_birth": "2017-03-27"}
TITLE = re.compile(r"<title>(.*?)</title>", re.S)
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>")
CSRF_INPUT = re.compile(r'name="csrf_token" value="[^"]+"')
HX_HEADERS = re.compile(r"hx-headers='[^']*'")


@dataclass
class Site:
    """A network: Helen (health, lead) started it; Tom (school) and Joe (police) joined; Sarah is Maya's mother."""

    world: World
    network_id: str
    ids: dict[str, str]
    organisations: dict[str, str]
    browsers: dict[str, TestClient]

    def __getitem__(self, who: str) -> TestClient:
        return self.browsers[who]

    @property
    def feed(self) -> str:
        return f"/networks/{self.network_id}/notes"

    @property
    def new(self) -> str:
        return f"/networks/{self.network_id}/notes/new"

    @property
    def chronology(self) -> str:
        return f"/networks/{self.network_id}/chronology"

    def notes(self) -> list[Note]:
        with self.world.db.transaction() as session:
            return list(session.exec(select(Note).order_by(col(Note.created_at))).all())

    def count(self, model: Any) -> int:
        with self.world.db.transaction() as session:
            return int(session.exec(select(func.count()).select_from(model)).one())


@pytest.fixture
def site(settings: Settings, world: World) -> Iterator[Site]:
    school = world.organisation("Oakfield Primary", "school")
    health = world.organisation("Northgate Health", "health")
    police = world.organisation("Eastshire Police", "police")
    housing = world.organisation("Riverside Housing", "housing")
    world.account("nurse@health.example.org", organisation=health, name="Helen Morgan")
    world.account("teacher@school.example.org", organisation=school, name="Tom Fletcher")
    world.account("officer@police.example.org", organisation=police, name="Joe Bennett")
    world.account("officer2@police.example.org", organisation=police, name="Priya Shah")
    outsider = world.account("housing@housing.example.org", organisation=housing, name="Ann Lee")
    mother = world.account("sarah@example.net", kind=AccountKind.family, name="Sarah Thompson")
    app = create_app(settings)
    with ExitStack() as stack:
        setup = stack.enter_context(TestClient(app))
        tokens = {
            who: api_token(setup, email, PASSWORD)
            for who, email in (
                ("nurse", "nurse@health.example.org"),
                ("teacher", "teacher@school.example.org"),
                ("officer", "officer@police.example.org"),
            )
        }
        start = {"child": CHILD, "role_label": "School nurse", "reason": "Weekly drop-in"}
        network = setup.post("/api/v1/networks", json=start, headers=bearer(tokens["nurse"])).json()
        url = f"/api/v1/networks/{network['id']}"
        nurse_id = network["involvements"][0]["user_id"]
        assert setup.post(f"{url}/leads", json={"user_id": nurse_id}, headers=bearer(tokens["nurse"])).is_success
        ids = {"nurse": nurse_id, "outsider": outsider.id, "mother": mother.id}
        for who, role in (("teacher", "Class teacher"), ("officer", "Neighbourhood officer")):
            joined = setup.post(
                f"{url}/involvements", json={"role_label": role, "reason": "Knows Maya"}, headers=bearer(tokens[who])
            )
            assert joined.status_code == 201, joined.text
            ids[who] = joined.json()["user_id"]
        world.family_member(network["id"], mother.id, "Mother")
        browsers = {}
        for who, email in (
            ("nurse", "nurse@health.example.org"),
            ("teacher", "teacher@school.example.org"),
            ("officer", "officer@police.example.org"),
            ("outsider", "housing@housing.example.org"),
            ("mother", "sarah@example.net"),
        ):
            browser = stack.enter_context(TestClient(app))
            assert sign_in(browser, email, PASSWORD).status_code == 303
            browsers[who] = browser
        yield Site(
            world=world,
            network_id=network["id"],
            ids=ids,
            organisations={"school": school.id, "health": health.id, "police": police.id, "housing": housing.id},
            browsers=browsers,
        )


def note_form(**overrides: Any) -> dict[str, Any]:
    day = today()
    form: dict[str, Any] = {
        "body": "Came to school without a coat again, in the rain",
        "category": "presentation_hygiene",
        "level": "observation",
        "observed_day": str(day.day),
        "observed_month": str(day.month),
        "observed_year": str(day.year),
        "audience": "network",
        "basis": "consent",
        "consent_from": "Sarah Thompson (mother)",
        "consented_day": str(day.day),
        "consented_month": str(day.month),
        "consented_year": str(day.year),
        "action": "post",
    }
    form.update(overrides)
    return form


def post_note(site: Site, who: str = "nurse", **overrides: Any) -> str:
    """Posts through the form and answers the new note's id."""
    before = {n.id for n in site.notes()}
    response = post_form(site[who], site.new, note_form(**overrides))
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"{site.feed}?notice=note-posted"
    (created,) = [n for n in site.notes() if n.id not in before]
    return created.id


def act(site: Site, who: str, path: str, data: dict[str, str] | None = None, **kwargs: Any) -> Any:
    return post_form(site[who], path, data or {}, token_from=site.feed if who != "outsider" else "/", **kwargs)


def title_of(page: str) -> str:
    match = TITLE.search(page)
    assert match, "page has no title"
    return match.group(1).strip()


def without_tokens(page: str) -> str:
    return HX_HEADERS.sub("", CSRF_INPUT.sub("", page))


def test_the_form_defaults_to_the_safest_choices(site: Site) -> None:
    page = site["nurse"].get(site.new)
    assert page.status_code == 200
    assert title_of(page.text) == "Post a note – Patchwork"
    assert re.search(r'value="lead"\s+checked', page.text), "lead professionals only is chosen to start with"
    assert not re.search(r'value="(network|people|organisations)"\s+checked', page.text)
    assert "Helen Morgan" in page.text, "the hint names the lead professionals"
    mother = site.ids["mother"]
    assert f'value="{mother}"' in page.text and not re.search(f'value="{mother}"\\s+checked', page.text)
    assert "Only those you tick will see it." in page.text, "the family sees nothing unless chosen"
    reveals = re.findall(r'<div class="govuk-radios__conditional[^"]*" id="conditional-([a-z0-9_-]+)"', page.text)
    assert set(reveals) == {"level-3", "audience-2", "audience-3", "basis", "basis-2"}, reveals
    day = today()
    assert f'name="observed_day" type="text" value="{day.day}"' in page.text
    assert f'name="observed_year" type="text" value="{day.year}"' in page.text
    assert "Sarah Thompson (Mother)" in page.text
    assert 'data-maxlength="4000"' in page.text, "the body has a character count"
    for option in ("Tom Fletcher", "Joe Bennett", "Oakfield Primary", "Eastshire Police"):
        assert option in page.text
    assert "Priya Shah" not in page.text, "only members are offered"
    assert "Riverside Housing" not in page.text, "only organisations involved are offered"
    assert str(escape(site.world.settings.referral_route)) in page.text, "the urgent choice reveals the route"


def test_posting_each_audience_and_who_then_sees_it(site: Site) -> None:
    to_all = post_note(site, body="NOTE-ALL seen by everyone", family_user_ids=[site.ids["mother"]])
    to_lead = post_note(site, body="NOTE-LEAD for the lead", audience="lead")
    to_school = post_note(
        site,
        body="NOTE-SCHOOL for the school",
        audience="organisations",
        organisation_ids=[site.organisations["school"]],
    )
    to_joe = post_note(site, body="NOTE-JOE for Joe", audience="people", user_ids=[site.ids["officer"]])
    bodies = {
        to_all: "NOTE-ALL",
        to_lead: "NOTE-LEAD",
        to_school: "NOTE-SCHOOL",
        to_joe: "NOTE-JOE",
    }
    expected = {
        "nurse": {to_all, to_lead, to_school, to_joe},
        "teacher": {to_all, to_school},
        "officer": {to_all, to_joe},
        "mother": {to_all},
    }
    for who, visible in expected.items():
        feed = site[who].get(site.feed)
        chronology = site[who].get(site.chronology)
        assert feed.status_code == 200 and chronology.status_code == 200, who
        for note_id, marker in bodies.items():
            shown = note_id in visible
            assert (marker in feed.text) is shown, (who, marker, "feed")
            assert (marker in chronology.text) is shown, (who, marker, "chronology")
            single = site[who].get(f"/notes/{note_id}")
            assert single.status_code == (200 if shown else 404), (who, marker)

    nurse_feed = site["nurse"].get(f"{site.feed}?notice=note-posted").text
    assert "Your note has been posted" in nurse_feed
    for words in (
        "Everyone in the network",
        "Lead professionals only",
        "Members from Oakfield Primary",
        "Only Joe Bennett",
        "Shared with Sarah Thompson (Mother)",
        "Not shared with the family",
        "Shared with consent from Sarah Thompson (mother)",
    ):
        assert words in nurse_feed, words
    assert nurse_feed.index("NOTE-JOE") < nurse_feed.index("NOTE-ALL"), "newest first"
    assert "Shared with you" in site["mother"].get(site.feed).text

    missing = site["officer"].get(f"/notes/{uuid.uuid4()}")
    hidden = site["officer"].get(f"/notes/{to_lead}")
    assert hidden.status_code == missing.status_code == 404
    assert without_tokens(hidden.text) == without_tokens(missing.text), "a hidden note answers like a missing one"
    assert "NOTE-LEAD" not in hidden.text

    for path in (site.feed, site.chronology, site.new, f"/notes/{to_all}"):
        assert site["outsider"].get(path).status_code == 404, path


def test_the_check_before_posting_counts_who_will_see_it(site: Site) -> None:
    nurse = site["nurse"]
    school_and_police = "Joe Bennett (Eastshire Police), Tom Fletcher (Oakfield Primary) and you"
    cases = [
        ({"audience": "lead"}, "1 person in 1 organisation; not the family", "you"),
        ({"audience": "network"}, "3 people in 3 organisations; not the family", school_and_police),
        (
            {"audience": "network", "family_user_ids": [site.ids["mother"]]},
            "3 people in 3 organisations; and 1 family member",
            "Joe Bennett (Eastshire Police), Tom Fletcher (Oakfield Primary), you and Sarah Thompson (family)",
        ),
        (
            {"audience": "organisations", "organisation_ids": [site.organisations["school"]]},
            "2 people in 2 organisations; not the family",
            "Tom Fletcher (Oakfield Primary) and you",
        ),
        (
            {"audience": "people", "user_ids": [site.ids["officer"]]},
            "2 people in 2 organisations; not the family",
            "Joe Bennett (Eastshire Police) and you",
        ),
    ]
    for fields, words, names in cases:
        checked = post_form(nurse, site.new, note_form(action="preview", body="Kept while checking", **fields))
        assert checked.status_code == 200, checked.text
        assert "Check before posting" in checked.text
        assert f'<span class="pw-check__words">{words}</span>' in checked.text, (fields, words)
        assert f'<strong class="pw-check__names">{escape(names)}</strong>' in checked.text, (fields, names)
        assert "Kept while checking" in checked.text
        assert 'value="post"' in checked.text, "the check offers to post"
        for chosen in [
            *fields.get("user_ids", []),
            *fields.get("organisation_ids", []),
            *fields.get("family_user_ids", []),
        ]:
            assert re.search(f'value="{chosen}"\\s+checked', checked.text), chosen
    assert site.count(Note) == 0, "checking writes nothing"

    first = post_form(nurse, site.new, note_form(action="preview", audience="lead"))
    checked_audience = re.search(r'name="checked_audience" value="([^"]*)"', first.text)
    assert checked_audience
    widened = post_form(
        nurse, site.new, note_form(audience="network", checked_audience=html.unescape(checked_audience.group(1)))
    )
    assert widened.status_code == 200 and "3 people in 3 organisations" in widened.text, "changed: check again"
    assert site.count(Note) == 0
    posted = post_form(
        nurse, site.new, note_form(audience="lead", checked_audience=html.unescape(checked_audience.group(1)))
    )
    assert posted.status_code == 303 and site.count(Note) == 1


def test_an_urgent_note_needs_the_referral_route_confirmed(site: Site) -> None:
    route = str(escape(site.world.settings.referral_route))
    refused = post_form(site["nurse"], site.new, note_form(level="urgent", body="Bruise on the cheek, said dad did it"))
    assert refused.status_code == 422
    assert route in refused.text
    assert 'href="#referral_route_acknowledged"' in refused.text
    assert 'id="referral_route_acknowledged-error"' in refused.text
    assert "Confirm that you have followed the referral route" in refused.text
    assert "Bruise on the cheek, said dad did it" in refused.text, "what was typed is kept"
    assert re.search(r'value="urgent"\s+checked', refused.text)
    assert site.count(Note) == 0

    note_id = post_note(site, level="urgent", body="Bruise on the cheek", referral_route_acknowledged="yes")
    feed = site["teacher"].get(site.feed).text
    assert "Bruise on the cheek" in feed and "govuk-tag--red" in feed and note_id in feed


def test_bad_input_is_shown_beside_its_field_and_nothing_is_written(site: Site) -> None:
    tomorrow = today() + timedelta(days=1)
    cases: list[tuple[dict[str, Any], dict[str, str]]] = [
        ({"body": ""}, {"body": "Enter the note"}),
        ({"body": "   "}, {"body": "Enter the note"}),
        ({"body": "x" * 4001}, {"body": "The note must be 4,000 characters or fewer"}),
        ({"category": "gossip"}, {"category": "Choose what the note is about"}),
        ({"category": ""}, {"category": "Choose what the note is about"}),
        ({"level": "panic"}, {"level": "Choose how worried you are"}),
        (
            {
                "observed_day": str(tomorrow.day),
                "observed_month": str(tomorrow.month),
                "observed_year": str(tomorrow.year),
            },
            {"observed_on": "Date observed must be today or in the past"},
        ),
        (
            {"observed_day": "31", "observed_month": "2", "observed_year": "2024"},
            {"observed_on": "must be a real date"},
        ),
        ({"observed_day": "", "observed_month": "", "observed_year": ""}, {"observed_on": "Enter date observed"}),
        (
            {"observed_day": "1", "observed_month": "1", "observed_year": "1990"},
            {"observed_on": "Date observed must be on or after the date the child was born"},
        ),
        ({"body": "Hungry \u202e again"}, {"body": "The note must not contain hidden formatting characters"}),
        ({"audience": "everyone"}, {"audience": "Choose who can see the note"}),
        ({"audience": "people"}, {"user_ids": "Choose at least one person"}),
        (
            {"audience": "people", "user_ids": [site.ids["outsider"]]},
            {"user_ids": "Choose only people who are members of this network"},
        ),
        (
            {"audience": "organisations", "organisation_ids": [site.organisations["housing"]]},
            {"organisation_ids": "Choose only organisations that are involved in this network"},
        ),
        (
            {"family_user_ids": [site.ids["teacher"]]},
            {"family_user_ids": "Choose only family members of this network"},
        ),
        ({"basis": ""}, {"basis": "Choose whether you have consent to share"}),
        ({"consent_from": ""}, {"consent_from": "Enter who gave consent"}),
        (
            {"basis": "without_consent"},
            {
                "reason": "Choose the reason for sharing without consent",
                "justification": "Enter why you are sharing without consent",
            },
        ),
        (
            {"basis": "without_consent", "reason": "because", "justification": "They asked me not to tell"},
            {"reason": "Choose the reason for sharing without consent"},
        ),
    ]
    for action in ("post", "preview"):
        for fields, expected in cases:
            typed = fields.get("body", "Typed text that must survive 42")
            response = post_form(site["nurse"], site.new, note_form(action=action, **{"body": typed, **fields}))
            assert response.status_code == 422, (fields, response.status_code)
            assert title_of(response.text) == "Error: Post a note – Patchwork"
            for field, message in expected.items():
                assert f'href="#{field}"' in response.text, (fields, field)
                assert response.text.count(message) >= 2, (fields, message, "in the summary and beside the field")
                assert f'id="{field}"' in response.text, (fields, field, "the summary's link has a target")
            if typed.strip():
                assert typed in response.text, (fields, "what was typed is kept")
            assert "Check before posting" not in response.text
    assert site.count(Note) == 0


def test_revise_redact_reply_and_acknowledge(site: Site) -> None:
    note_id = post_note(site, body="Original text")
    note_path = f"/notes/{note_id}"

    assert "Revise" not in site["teacher"].get(site.feed).text.split(note_id, 1)[1].split("</article>")[0]
    refused = site["teacher"].get(f"{note_path}/revise")
    assert refused.status_code == 403 and "Only the author can revise this note" in refused.text
    refused = act(site, "teacher", f"{note_path}/revise", {"body": "Hacked"})
    assert refused.status_code == 403 and "Only the author can revise a note" in refused.text
    assert "Hacked" not in site["nurse"].get(note_path).text

    form = site["nurse"].get(f"{note_path}/revise?return_to=feed")
    assert (
        form.status_code == 200 and "Original text" in form.text and title_of(form.text) == "Revise a note – Patchwork"
    )
    empty = act(site, "nurse", f"{note_path}/revise", {"body": "", "return_to": "feed"})
    assert empty.status_code == 422 and "Enter the note" in empty.text and 'href="#body"' in empty.text
    long = act(site, "nurse", f"{note_path}/revise", {"body": "y" * 4001, "return_to": "feed"})
    assert long.status_code == 422 and "4,000 characters or fewer" in long.text
    revised = act(site, "nurse", f"{note_path}/revise", {"body": "Revised text", "return_to": "feed"})
    assert (
        revised.status_code == 303 and revised.headers["location"] == f"{site.feed}?notice=note-revised#note-{note_id}"
    )
    feed = site["teacher"].get(site.feed).text
    assert "Revised text" in feed and "Edited" in feed and "Earlier versions" in feed
    assert "Original text" in feed, "the earlier version stays in the history"

    no_body = act(site, "teacher", f"{note_path}/replies", {"body": "  ", "return_to": "feed"})
    assert no_body.status_code == 422 and "Enter your reply" in no_body.text
    assert f'href="#reply-{note_id}"' in no_body.text and f'id="reply-{note_id}"' in no_body.text
    replied = act(site, "teacher", f"{note_path}/replies", {"body": "Seen him cold too", "return_to": "note"})
    assert (
        replied.status_code == 303 and replied.headers["location"] == f"{note_path}?notice=reply-posted#note-{note_id}"
    )
    assert "Seen him cold too" in site["officer"].get(site.feed).text

    acknowledged = act(site, "teacher", f"{note_path}/acknowledgements", {"return_to": "note"})
    assert (
        acknowledged.status_code == 303
        and acknowledged.headers["location"] == f"{note_path}?notice=note-acknowledged#note-{note_id}"
    )
    mine = site["teacher"].get(acknowledged.headers["location"]).text
    assert "You have acknowledged the note." in mine and "you acknowledged it" in mine
    assert f'action="{note_path}/acknowledgements"' not in mine
    assert "Acknowledged by Tom Fletcher" in site["nurse"].get(site.feed).text, "the author sees who"
    assert "Acknowledged by" not in site["officer"].get(site.feed).text, "other members do not"
    twice = act(site, "teacher", f"{note_path}/acknowledgements", {"return_to": "feed"})
    assert twice.status_code == 409 and "You have already acknowledged this note" in twice.text
    assert f'href="#note-{note_id}"' in twice.text
    assert site.count(Acknowledgement) == 1
    own = act(site, "nurse", f"{note_path}/acknowledgements", {"return_to": "feed"})
    assert own.status_code == 403 and site.count(Acknowledgement) == 1

    assert site["teacher"].get(f"{note_path}/redact").status_code == 403
    assert act(site, "teacher", f"{note_path}/redact", {"reason": "I do not like it"}).status_code == 403
    form = site["nurse"].get(f"{note_path}/redact")
    assert form.status_code == 200 and "Revised text" in form.text
    no_reason = act(site, "nurse", f"{note_path}/redact", {"reason": ""})
    assert no_reason.status_code == 422 and "Enter the reason for redacting" in no_reason.text
    redacted = act(site, "nurse", f"{note_path}/redact", {"reason": "Posted to the wrong network"})
    assert (
        redacted.status_code == 303
        and redacted.headers["location"] == f"{site.feed}?notice=note-redacted#note-{note_id}"
    )
    for who in ("nurse", "teacher"):
        feed = site[who].get(site.feed).text
        assert "This note was redacted by Helen Morgan on" in feed and "Posted to the wrong network" not in feed
        for text in ("Revised text", "Original text", "Seen him cold too"):
            assert text not in feed, (who, text)

    late = act(site, "teacher", f"{note_path}/replies", {"body": "Another thought"})
    assert late.status_code == 409 and "A redacted note cannot be replied to" in late.text
    assert site.count(NoteReply) == 1
    again = site["nurse"].get(f"{note_path}/revise")
    assert again.status_code == 409 and "This note has been redacted" in again.text
    assert act(site, "nurse", f"{note_path}/redact", {"reason": "Twice"}).status_code == 409


def test_the_chronology_filters_and_links_its_downloads(site: Site) -> None:
    day = today()

    def on(days_ago: int) -> dict[str, str]:
        when = day - timedelta(days=days_ago)
        return {"observed_day": str(when.day), "observed_month": str(when.month), "observed_year": str(when.year)}

    post_note(site, body="CHRONO-B posted first, seen later", category="injury", level="concern", **on(5))
    post_note(site, body="CHRONO-A seen first", category="attendance", **on(10))
    post_note(site, "teacher", body="CHRONO-C the teacher", category="attendance", level="concern", **on(0))
    nurse = site["nurse"]

    page = nurse.get(site.chronology)
    assert page.status_code == 200 and title_of(page.text) == "Chronology – Patchwork"
    assert page.text.index("CHRONO-A") < page.text.index("CHRONO-B") < page.text.index("CHRONO-C")
    assert f'href="/networks/{site.network_id}/chronology.csv"' in page.text
    assert f'href="/networks/{site.network_id}/chronology.pdf"' in page.text

    def shown(query: str) -> set[str]:
        response = nurse.get(f"{site.chronology}?{query}")
        assert response.status_code == 200, response.text
        return {m for m in ("CHRONO-A", "CHRONO-B", "CHRONO-C") if m in response.text}

    assert shown("category=attendance") == {"CHRONO-A", "CHRONO-C"}
    assert shown("level=concern") == {"CHRONO-B", "CHRONO-C"}
    assert shown("category=attendance&level=concern") == {"CHRONO-C"}
    assert shown(f"organisation={site.organisations['school']}") == {"CHRONO-C"}
    assert shown(f"from={(day - timedelta(days=6)).isoformat()}") == {"CHRONO-B", "CHRONO-C"}
    assert shown(f"to={(day - timedelta(days=6)).isoformat()}") == {"CHRONO-A"}
    filtered = nurse.get(f"{site.chronology}?category=attendance")
    assert f'href="/networks/{site.network_id}/chronology.csv?category=attendance"' in filtered.text
    assert f'href="/networks/{site.network_id}/chronology.pdf?category=attendance"' in filtered.text
    assert re.search(r'value="attendance"\s+checked', filtered.text), "the filters keep their choices"

    bad = nurse.get(f"{site.chronology}?from=2024-02-30")
    assert bad.status_code == 422 and 'href="#from"' in bad.text and "must be a real date" in bad.text
    assert "CHRONO-A" not in bad.text
    backwards = nurse.get(f"{site.chronology}?from=2024-03-01&to=2024-02-01")
    assert backwards.status_code == 422 and 'href="#to"' in backwards.text


def test_a_lead_can_let_a_newcomer_see_earlier_notes(site: Site) -> None:
    post_note(site, body="BEFORE the newcomer")
    token = api_token(site["teacher"], "officer2@police.example.org", PASSWORD)
    joined = site["teacher"].post(
        f"/api/v1/networks/{site.network_id}/involvements",
        json={"role_label": "Safeguarding officer", "reason": "New to the case"},
        headers=bearer(token),
    )
    assert joined.status_code == 201, joined.text
    newcomer_id = joined.json()["user_id"]
    with TestClient(site["teacher"].app) as newcomer:
        sign_in(newcomer, "officer2@police.example.org", PASSWORD)
        assert "BEFORE the newcomer" not in newcomer.get(site.feed).text

        assert "Let a newcomer see earlier notes" not in site["teacher"].get(site.feed).text
        path = f"/networks/{site.network_id}/history-openings"
        refused = act(site, "teacher", path, {"user_id": newcomer_id, "reason": "Needs the background"})
        assert refused.status_code == 403 and "Only a lead professional can open the history" in refused.text

        assert "Let a newcomer see earlier notes" in site["nurse"].get(site.feed).text
        no_reason = act(site, "nurse", path, {"user_id": newcomer_id, "reason": ""})
        assert no_reason.status_code == 422 and 'href="#reason"' in no_reason.text
        nobody = act(site, "nurse", path, {"user_id": site.ids["outsider"], "reason": "Background"})
        assert nobody.status_code == 422 and "Choose a member of this network" in nobody.text
        opened = act(site, "nurse", path, {"user_id": newcomer_id, "reason": "Needs the background"})
        assert opened.status_code == 303 and opened.headers["location"] == f"{site.feed}?notice=history-opened"
        assert "BEFORE the newcomer" in newcomer.get(site.feed).text


def test_the_feed_pages_older_notes(site: Site) -> None:
    for number in range(22):
        post_note(site, body=f"PAGED-{number:02d}.")
    first = site["nurse"].get(site.feed).text
    assert "PAGED-21." in first and "PAGED-02." in first and "PAGED-01." not in first
    older = re.search(r'href="([^"]*\?before=[^"]+)"[^>]*>\s*<span[^>]*>Older notes', first)
    assert older, "an Older notes link"
    second = site["nurse"].get(html.unescape(older.group(1))).text
    assert "PAGED-01." in second and "PAGED-00." in second and "PAGED-02." not in second
    assert "Older notes" not in second and "Newest notes" in second
    assert site["nurse"].get(f"{site.feed}?before=not-a-cursor").status_code == 422


def test_titles_never_name_the_child_and_pages_carry_no_inline_code(site: Site) -> None:
    note_id = post_note(site, body="Looked tired", level="urgent", referral_route_acknowledged="yes")
    nurse = site["nurse"]
    pages = [
        nurse.get(site.feed),
        nurse.get(site.new),
        nurse.get(site.chronology),
        nurse.get(f"{site.chronology}?from=nonsense"),
        nurse.get(f"/notes/{note_id}"),
        nurse.get(f"/notes/{note_id}/revise"),
        nurse.get(f"/notes/{note_id}/redact"),
        post_form(nurse, site.new, note_form(action="preview")),
        post_form(nurse, site.new, note_form(body="")),
        site["mother"].get(site.feed),
    ]
    for response in pages:
        assert response.status_code in (200, 422), response.url
        title = title_of(response.text)
        assert "Maya" not in title and "Thompson" not in title, title
        assert "<style" not in response.text and " style=" not in response.text, response.url
        assert not INLINE_SCRIPT.search(response.text), response.url
        assert "Maya" not in str(response.url) and "Thompson" not in str(response.url)
    assert "Notes about Maya Thompson" in pages[0].text, "the heading may name the child"
    assert title_of(pages[0].text) == "Notes – Patchwork"
    network_page = nurse.get(f"/networks/{site.network_id}").text
    assert f'href="{site.feed}"' in network_page and f'href="{site.new}"' in network_page


def test_dates_are_checked_in_the_form_not_trusted(site: Site) -> None:
    on_leap_day = post_form(
        site["nurse"], site.new, note_form(observed_day="29", observed_month="2", observed_year="2024")
    )
    assert on_leap_day.status_code == 303
    assert site.notes()[0].observed_on == date(2024, 2, 29)
    two_digit_year = post_form(site["nurse"], site.new, note_form(observed_year="24"))
    assert two_digit_year.status_code == 422 and "must be a real date" in two_digit_year.text


def test_a_newcomer_is_told_why_earlier_notes_are_hidden_and_whom_to_ask(
    client: TestClient,
    world: World,
    net: dict,  # type: ignore[type-arg]
) -> None:
    from tests.web.test_notes_api import NOTE, late_comer

    client.post(f"/api/v1/networks/{net['id']}/notes", json=NOTE, headers=bearer(net["t"]["teacher"]))
    late_comer(client, world, net)
    sign_in(client, "late@school.example.org", PASSWORD)
    feed = client.get(f"/networks/{net['id']}/notes").text
    assert 'id="history-rule"' in feed and "members see only the notes posted after they joined" in feed
    assert "ask a lead professional: Helen Morgan" in feed
    client.cookies.clear()
    sign_in(client, "teacher@school.example.org", PASSWORD)
    assert 'id="history-rule"' in client.get(f"/networks/{net['id']}/notes").text, "the rule holds for every member"


def test_actions_answer_htmx_with_the_card_alone_and_plain_forms_with_the_note_s_place(site: Site) -> None:
    """With JavaScript, htmx swaps the card in place (the page keeps its scroll); without, the answer goes back to
    the note's anchor, on the page of the feed it was on."""
    from patchwork.models.audit import AuditEvent

    note_id = post_note(site, body="Came in without a coat", audience="network")
    note_path = f"/notes/{note_id}"
    htmx = {"HX-Request": "true"}

    def reads() -> int:
        with site.world.db.transaction() as session:
            return len(session.exec(select(AuditEvent).where(AuditEvent.action == "notes.viewed")).all())

    before_reads = reads()
    card = site["teacher"].get(f"{note_path}?return_to=feed", headers=htmx)
    assert card.status_code == 200 and card.text.lstrip().startswith("<article"), card.text[:200]
    assert "<html" not in card.text and "Came in without a coat" in card.text
    assert reads() == before_reads + 1, "a card fetched on its own is a read like any other"

    empty = act(site, "teacher", f"{note_path}/replies", {"body": " ", "return_to": "feed"}, headers=htmx)
    assert empty.status_code == 422 and empty.text.lstrip().startswith("<article")
    assert "Enter your reply" in empty.text and " open>" in empty.text, "the reply stays open with its error"
    assert site.count(NoteReply) == 0

    replied = act(
        site, "teacher", f"{note_path}/replies", {"body": "Same on Monday", "return_to": "feed"}, headers=htmx
    )
    assert replied.status_code == 200 and replied.text.lstrip().startswith("<article")
    assert "Your reply has been posted." in replied.text and "Same on Monday" in replied.text

    acknowledged = act(site, "teacher", f"{note_path}/acknowledgements", {"return_to": "feed"}, headers=htmx)
    assert acknowledged.status_code == 200 and "You have acknowledged the note." in acknowledged.text
    assert f'action="{note_path}/acknowledgements"' not in acknowledged.text
    twice = act(site, "teacher", f"{note_path}/acknowledgements", {"return_to": "feed"}, headers=htmx)
    assert twice.status_code == 409 and "You have already acknowledged this note" in twice.text
    assert twice.text.lstrip().startswith("<article") and site.count(Acknowledgement) == 1

    editing = site["nurse"].get(f"{note_path}/revise?return_to=feed", headers=htmx)
    assert editing.status_code == 200 and editing.text.lstrip().startswith("<article")
    assert f'hx-post="{note_path}/revise"' in editing.text and "Came in without a coat</textarea>" in editing.text
    blank = act(site, "nurse", f"{note_path}/revise", {"body": "", "return_to": "feed"}, headers=htmx)
    assert blank.status_code == 422 and "Enter the note" in blank.text and 'name="body"' in blank.text
    revised = act(
        site,
        "nurse",
        f"{note_path}/revise",
        {"body": "Came in without a coat, again", "return_to": "feed"},
        headers=htmx,
    )
    assert revised.status_code == 200 and "Your note has been revised." in revised.text

    redacting = site["nurse"].get(f"{note_path}/redact?return_to=feed", headers=htmx)
    assert redacting.status_code == 200 and f'hx-post="{note_path}/redact"' in redacting.text
    no_reason = act(site, "nurse", f"{note_path}/redact", {"reason": "", "return_to": "feed"}, headers=htmx)
    assert no_reason.status_code == 422 and "Enter the reason for redacting" in no_reason.text
    redacted = act(site, "nurse", f"{note_path}/redact", {"reason": "Wrong child", "return_to": "feed"}, headers=htmx)
    assert redacted.status_code == 200 and "The note has been redacted." in redacted.text
    assert "This note was redacted by Helen Morgan" in redacted.text

    other = post_note(site, body="On an older page")
    older = act(site, "teacher", f"/notes/{other}/acknowledgements", {"return_to": "feed", "before": "b2xkZXI"})
    assert older.headers["location"] == f"{site.feed}?before=b2xkZXI&notice=note-acknowledged#note-{other}"
    forged = act(site, "teacher", f"/notes/{other}/replies", {"body": "x", "return_to": "feed", "before": "a&b=c"})
    assert forged.headers["location"] == f"{site.feed}?notice=reply-posted#note-{other}", "a bad cursor is dropped"
