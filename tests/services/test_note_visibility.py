"""The model-based leak test: for generated networks, people and notes, every path shows exactly what policy allows.

Paths checked for every viewer: the feed (all pages), the chronology, CSV and PDF exports, the notes API (list and
single note), the single-note service, and notifications (in-app, the API's list and the e-mail digest); a note the
viewer may not see answers exactly like one that does not exist.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta

import pypdf
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlmodel import col, select
from starlette.testclient import TestClient

from patchwork import outbox, policy
from patchwork.app import create_app
from patchwork.auth.sessions import Timeouts, issue_api_token, start_web_session
from patchwork.clock import utcnow
from patchwork.crypto import Keyring
from patchwork.db import Database
from patchwork.errors import NotFound
from patchwork.events import MEMBER_EVENTS, Announced, Batch, SharedNotes, announcement, announcement_message
from patchwork.models import Account, Organisation
from patchwork.models.alerts import Alert, AlertNote
from patchwork.models.events import NetworkEvent
from patchwork.models.networks import Network
from patchwork.models.notes import (
    HistoryOpening,
    Note,
    NoteAudienceOrganisation,
    NoteAudiencePerson,
    NoteFamilyShare,
    NoteRevision,
)
from patchwork.realtime import Carry, Followers, Subscriber, announced_batch
from patchwork.runtime import keyring_for
from patchwork.services import (
    access_log,
    activity,
    alerts,
    children,
    dashboard,
    delivery,
    email_digest,
    exports,
    family,
    insights,
    notes,
    notifications,
    sealed_facts,
    stream,
    subject_access,
)
from patchwork.services.accounts import actor_of
from patchwork.services.notes import carried
from patchwork.services.visibility import Standings, facts_of_many, seen_across
from patchwork.web.api.convert import note_out
from patchwork.web.ws import ApiSubscriber, carried_frame
from tests.conftest import _empty, make_settings

# CI runs 200 examples on SQLite (about 2 minutes: each checks every path for every viewer) and 20 more on
# PostgreSQL; a local run takes fewer unless asked (PATCHWORK_LEAK_EXAMPLES).
EXAMPLES = int(os.environ.get("PATCHWORK_LEAK_EXAMPLES", "200" if os.environ.get("CI") else "100"))
POSTGRES_EXAMPLES = max(1, EXAMPLES // 10)
PRACTITIONERS = 5
FAMILY = 2
ORGANISATIONS = 3
BASE = utcnow() - timedelta(days=1)


@dataclass(frozen=True)
class Membership:
    organisation: int
    state: str  # none | active | ended
    joined: int
    is_lead: bool
    opened: bool
    sensitive: bool  # hidden from the family everywhere, the access log included


@dataclass(frozen=True)
class GeneratedNote:
    author: str  # "p3" or "f1"
    at: int
    audience: str
    organisations: frozenset[int]
    people: frozenset[int]
    family: frozenset[int]
    redacted: bool  # by its author: its text, earlier versions and reason are then shown to nobody


@dataclass(frozen=True)
class World:
    history_rule: str
    members: tuple[Membership, ...]
    family: tuple[bool, ...]
    notes: tuple[GeneratedNote, ...]


memberships = st.builds(
    Membership,
    organisation=st.integers(0, ORGANISATIONS - 1),
    state=st.sampled_from(["none", "active", "active", "ended"]),
    joined=st.integers(0, 100),
    is_lead=st.booleans(),
    opened=st.booleans(),
    sensitive=st.booleans(),
)


@st.composite
def worlds(draw: st.DrawFn) -> World:
    members = tuple(draw(memberships) for _ in range(PRACTITIONERS))
    family = tuple(draw(st.booleans()) for _ in range(FAMILY))
    authors = [f"p{i}" for i, m in enumerate(members) if m.state != "none"]
    authors += [f"f{i}" for i, present in enumerate(family) if present]
    generated: list[GeneratedNote] = []
    if authors:
        for _ in range(draw(st.integers(0, 7))):
            generated.append(
                GeneratedNote(
                    author=draw(st.sampled_from(authors)),
                    at=draw(st.integers(0, 100)),
                    audience=draw(st.sampled_from(["network", "lead", "organisations", "people"])),
                    organisations=draw(st.frozensets(st.integers(0, ORGANISATIONS - 1), min_size=1)),
                    people=draw(st.frozensets(st.integers(0, PRACTITIONERS - 1), min_size=1)),
                    family=draw(st.frozensets(st.integers(0, FAMILY - 1))),
                    redacted=draw(st.sampled_from([False, False, False, True])),
                )
            )
    return World(
        history_rule=draw(st.sampled_from(["from_joining", "full"])),
        members=members,
        family=family,
        notes=tuple(generated),
    )


@dataclass
class Built:
    network_id: str
    accounts: dict[str, Account]
    note_ids: list[str]
    bodies: dict[str, str]
    viewers: dict[str, policy.NoteViewer]
    facts: dict[str, policy.NoteFacts]
    redacted: set[str]
    reasons: list[str]  # why each redacted note was redacted: for the audit trail only, never shown

    def readable(self, expected: set[str]) -> set[str]:
        """Of the notes a viewer may see, those whose text they are shown: the ones not redacted."""
        return expected - self.redacted

    @property
    def secrets(self) -> list[str]:
        """What no list, notification, alert or insight shows anyone: every body and every redaction reason."""
        return [*self.bodies.values(), *self.reasons]


def _at(minutes: int) -> object:
    return BASE + timedelta(minutes=minutes)


def build(db: Database, keys: Keyring, world: World) -> Built:
    with db.transaction() as session:
        organisations = [Organisation(name=f"Org {i}", type="school") for i in range(ORGANISATIONS)]
        session.add_all(organisations)
        session.flush()
        accounts: dict[str, Account] = {}
        for i, member in enumerate(world.members):
            accounts[f"p{i}"] = Account(
                email=f"p{i}@example.org",
                name=f"Practitioner {i}",
                kind="practitioner",
                organisation_id=organisations[member.organisation].id,
                status="active",
                password_hash="x",
            )
        for i in range(FAMILY):
            accounts[f"f{i}"] = Account(
                email=f"f{i}@example.org", name=f"Family {i}", kind="family", status="active", password_hash="x"
            )
        accounts["admin"] = Account(
            email="a@example.org", name="Admin", kind="admin", status="active", password_hash="x"
        )
        accounts["outsider"] = Account(  # an organisation admin of Org 0 who belongs to no network
            email="o@example.org",
            name="Outsider",
            kind="practitioner",
            is_org_admin=True,
            organisation_id=organisations[0].id,
            status="active",
            password_hash="x",
        )
        session.add_all(accounts.values())
        session.flush()
        child = children.seal(
            session=session,
            cipher=keys.cipher,
            index=keys.index,
            identity=children.ChildIdentity("Leak", "Test", date(2015, 5, 5)),
        )
        network = Network(child_id=child.id, created_by_id=accounts["p0"].id, history_rule=world.history_rule)
        session.add(network)
        session.flush()
        viewers: dict[str, policy.NoteViewer] = {}
        for i, member in enumerate(world.members):
            key = f"p{i}"
            if member.state != "none":
                involvement = sealed_facts.new_involvement(
                    keys.cipher,
                    network_id=network.id,
                    account_id=accounts[key].id,
                    organisation_id=organisations[member.organisation].id,
                    sensitive=member.sensitive,
                    text=sealed_facts.InvolvementText(f"Role of p{i}", "Reason", ""),
                )
                involvement.status = member.state
                involvement.is_lead = member.is_lead and member.state == "active"
                involvement.started_at = _at(member.joined)
                involvement.ended_at = _at(member.joined + 1) if member.state == "ended" else None
                session.add(involvement)
                if member.opened:
                    session.add(
                        HistoryOpening(
                            network_id=network.id,
                            account_id=accounts[key].id,
                            opened_by_id=accounts[key].id,
                            reason_sealed="x",
                        )
                    )
            active = member.state == "active"
            viewers[key] = policy.NoteViewer(
                account_id=accounts[key].id,
                kind="practitioner",
                member=active,
                organisation_id=organisations[member.organisation].id if active else None,
                joined_at=_at(member.joined) if active else None,  # type: ignore[arg-type]
                is_lead=active and member.is_lead,
                history_opened=active and member.opened,
                family_member=False,
            )
        for i, present in enumerate(world.family):
            key = f"f{i}"
            if present:
                session.add(
                    sealed_facts.new_membership(
                        keys.cipher,
                        network_id=network.id,
                        account_id=accounts[key].id,
                        joined_at=utcnow(),
                        relationship="Parent",
                    )
                )
            viewers[key] = policy.NoteViewer(
                account_id=accounts[key].id,
                kind="family",
                member=False,
                organisation_id=None,
                joined_at=None,
                is_lead=False,
                history_opened=False,
                family_member=present,
            )
        for key in ("admin", "outsider"):
            viewers[key] = policy.NoteViewer(
                account_id=accounts[key].id,
                kind=accounts[key].kind,
                member=False,
                organisation_id=None,
                joined_at=None,
                is_lead=False,
                history_opened=False,
                family_member=False,
            )
        note_ids: list[str] = []
        bodies: dict[str, str] = {}
        facts: dict[str, policy.NoteFacts] = {}
        redacted: set[str] = set()
        reasons: list[str] = []
        for n, generated in enumerate(world.notes):
            author = accounts[generated.author]
            family_voice = generated.author.startswith("f")
            note = Note(
                network_id=network.id,
                author_id=author.id,
                author_organisation_id=None if family_voice else author.organisation_id,
                author_sensitive=not family_voice and world.members[int(generated.author[1:])].sensitive,
                kind="family_voice" if family_voice else "practitioner",
                category="other",
                level="urgent" if n % 4 == 3 else "concern",
                observed_on=date(2026, 1, 1) + timedelta(days=n),
                audience="network" if family_voice else generated.audience,
                body_sealed="",
                created_at=_at(generated.at),  # type: ignore[arg-type]
            )
            body = f"secret-body-{n}-{uuid.uuid4().hex[:6]}"
            note.body_sealed = keys.cipher.encrypt(body, context=f"note:{note.id}")
            session.add(note)
            session.flush()
            revision = NoteRevision(note_id=note.id, number=1, body_sealed="", author_id=author.id)
            revision.body_sealed = keys.cipher.encrypt(body, context=f"revision:{revision.id}")
            session.add(revision)
            if generated.redacted:
                reason = f"secret-reason-{n}-{uuid.uuid4().hex[:6]}"
                note.redacted_at = _at(generated.at + 1)  # type: ignore[assignment]
                note.redacted_by_id = author.id
                note.redaction_sealed = keys.cipher.encrypt(reason, context=f"redaction:{note.id}")
                session.add(note)
                redacted.add(note.id)
                reasons.append(reason)
            organisation_ids = frozenset(organisations[o].id for o in generated.organisations)
            people_ids = frozenset(accounts[f"p{p}"].id for p in generated.people)
            family_ids = frozenset(accounts[f"f{f}"].id for f in generated.family) if not family_voice else frozenset()
            if note.audience == "organisations":
                session.add_all(NoteAudienceOrganisation(note_id=note.id, organisation_id=o) for o in organisation_ids)
            if note.audience == "people":
                session.add_all(NoteAudiencePerson(note_id=note.id, account_id=p) for p in people_ids)
            session.add_all(NoteFamilyShare(note_id=note.id, account_id=f) for f in family_ids)
            outbox.append(session=session, network_id=network.id, type="note.created", note_id=note.id)
            note_ids.append(note.id)
            bodies[note.id] = body
            facts[note.id] = policy.NoteFacts(
                author_id=author.id,
                kind=note.kind,
                audience=note.audience,
                audience_organisations=organisation_ids if note.audience == "organisations" else frozenset(),
                audience_people=people_ids if note.audience == "people" else frozenset(),
                family_shares=family_ids,
                created_at=note.created_at,
            )
        return Built(
            network_id=network.id,
            accounts=accounts,
            note_ids=note_ids,
            bodies=bodies,
            viewers=viewers,
            facts=facts,
            redacted=redacted,
            reasons=reasons,
        )


@pytest.fixture
def sqlite_client(sqlite_url: str) -> Iterator[tuple[str, TestClient]]:
    with TestClient(create_app(make_settings(sqlite_url))) as client:
        yield sqlite_url, client


@pytest.fixture
def postgres_client(postgres_url: str) -> Iterator[tuple[str, TestClient]]:
    with TestClient(create_app(make_settings(postgres_url))) as client:
        yield postgres_url, client


SLOW_OK = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large]
VIEWER_INDEX = st.integers(0, PRACTITIONERS + FAMILY - 1)
# The whole search, not one example: CI's 200 worlds on a busy 2-core machine outgrow the suite's 300 s.
WHOLE_SEARCH_SECONDS = 1500


@pytest.mark.timeout(WHOLE_SEARCH_SECONDS)
@hsettings(max_examples=EXAMPLES, deadline=None, suppress_health_check=SLOW_OK)
@given(world=worlds(), pdf_viewer=VIEWER_INDEX)
def test_every_path_shows_exactly_what_policy_allows_sqlite(
    sqlite_client: tuple[str, TestClient], world: World, pdf_viewer: int
) -> None:
    check_world(*sqlite_client, world, pdf_viewer)


@pytest.mark.postgres
@pytest.mark.timeout(WHOLE_SEARCH_SECONDS)
@hsettings(max_examples=POSTGRES_EXAMPLES, deadline=None, suppress_health_check=SLOW_OK)
@given(world=worlds(), pdf_viewer=VIEWER_INDEX)
def test_every_path_shows_exactly_what_policy_allows_postgres(
    postgres_client: tuple[str, TestClient], world: World, pdf_viewer: int
) -> None:
    check_world(*postgres_client, world, pdf_viewer)


def check_world(database_url: str, client: TestClient, world: World, pdf_viewer: int) -> None:
    """Every viewer is checked on every path; the slow ones (the PDF, and the API's single-note answers) are checked
    for one viewer per example, and hypothesis varies which."""
    _empty(database_url)
    db = Database(database_url)
    keys = keyring_for(make_settings(database_url))
    try:
        built = build(db, keys, world)
        missing_id = str(uuid.uuid4())
        _check_live_stream(db, keys, built, world)
        _check_last_activity(db, built, world)
        _check_family_view_and_access_log(db, keys, built, world)
        _check_family_never_reaches_a_sensitive_practitioner(db, client, built, world)
        _check_alerts_dashboard_and_insights(db, keys, built, world)
        for position, (key, viewer) in enumerate(built.viewers.items()):
            account = built.accounts[key]
            expected = {
                note_id
                for note_id in built.note_ids
                if policy.see_note(viewer, built.facts[note_id], history_rule=world.history_rule)
            }
            in_network = viewer.member or viewer.family_member
            _check_lead_export(db, keys, built, account, expected, lead=viewer.member and viewer.is_lead)
            _check_services(db, keys, built, account, expected, in_network, missing_id, pdf=position == pdf_viewer)
            _check_notifications(db, keys, built, account, expected)
            _check_api(db, client, built, account, expected, in_network, missing_id, each_note=position == pdf_viewer)
    finally:
        db.dispose()


def _check_alerts_dashboard_and_insights(db: Database, keys: Keyring, built: Built, world: World) -> None:
    """Alerts raised by the rule over every note; each viewer is shown exactly those the rule gives them over the
    notes they may see (a lead), or that the admin rule gives them (the outsider, Org 0's admin), with exactly
    those notes; a lead's dashboard agrees, and so does the SQL form of the rule across networks; insights hold
    nothing about the child."""
    thresholds = policy.AlertThresholds()
    with db.transaction() as session:
        alerts.evaluate(session=session, keys=keys, network_id=built.network_id, thresholds=thresholds, actor_id=None)
        alerts.escalate_overdue(
            session=session, keys=keys, now=utcnow() + timedelta(days=2), minutes=240, thresholds=thresholds
        )
    with db.transaction() as session:
        network = session.get(Network, built.network_id)
        assert network is not None
        stored = list(session.exec(select(Alert)).all())
        held = {
            a.id: set(session.exec(select(AlertNote.note_id).where(AlertNote.alert_id == a.id)).all()) for a in stored
        }
        rows = {n.id: n for n in session.exec(select(Note)).all()}
        own_members = sum(1 for m in world.members if m.state == "active" and m.organisation == 0)
        for key, viewer in built.viewers.items():
            account = session.get(Account, built.accounts[key].id)
            assert account is not None
            visible = {
                n for n in built.note_ids if policy.see_note(viewer, built.facts[n], history_rule=world.history_rule)
            }
            expected: dict[str, set[str]] = {}
            for alert in stored:
                signals = [
                    policy.Signal(n, rows[n].author_organisation_id, rows[n].level, rows[n].observed_on)
                    for n in held[alert.id]
                    if n in visible and rows[n].kind == "practitioner"
                ]
                shown = policy.alert_shown_to_lead(viewer, kind=alert.kind, visible=signals, thresholds=thresholds)
                if shown:
                    expected[alert.id] = {s.note_id for s in shown}
                elif key == "outsider" and policy.see_alert_as_admin(
                    policy.Actor(account.id, account.kind, account.organisation_id, True),
                    kind=alert.kind,
                    own_members=own_members,
                ):
                    expected[alert.id] = set()
            views = alerts.for_person(session=session, keys=keys, account=account, thresholds=thresholds)
            got = {view.alert.id: set(view.note_ids) for view in views}
            assert got == expected, (key, viewer, got, expected)
            for view in views:
                if view.alert.kind == "accumulation":
                    assert view.reason.startswith(f"{len(view.note_ids)} concerns"), view.reason
                assert "Leak" not in view.reason and not any(b in view.reason for b in built.secrets)
            if viewer.kind == "practitioner" and viewer.member and viewer.is_lead:
                board = dashboard.for_lead(
                    session=session, keys=keys, account=account, thresholds=thresholds, today=utcnow().date()
                )
                unresolved = {a.id for a in stored if a.state != "resolved" and a.id in expected}
                assert {view.alert.id for view in board.alerts} == unresolved
                awaiting = {
                    n
                    for n in visible
                    if rows[n].kind == "practitioner"
                    and rows[n].author_id != account.id
                    and rows[n].level != "observation"
                    and n not in built.redacted  # a redacted note cannot be acknowledged
                }
                assert {item.note_id for item in board.awaiting} == awaiting
                seen = set(
                    session.exec(
                        select(Note.id).where(
                            seen_across(Standings(account.id, {network.id: (network, viewer)}), [network.id])
                        )
                    ).all()
                )
                assert seen == visible, "the SQL form of the rule across networks is the rule"
        admin = session.get(Account, built.accounts["admin"].id)
        assert admin is not None
        found = insights.for_admin(session=session, actor=actor_of(admin), since=date(2025, 1, 1))
        text = repr(found)
        assert "Leak" not in text and not any(secret in text for secret in built.secrets)
        assert all(
            count is None or count >= insights.SMALLEST
            for t in found
            for count in (t.networks_open, t.networks_closed, t.alerts_raised, *t.alerts_resolved.values())
        )


def _check_family_view_and_access_log(db: Database, keys: Keyring, built: Built, world: World) -> None:
    """What a family member sees of the people and of the record's readers: never a sensitive involvement.
    Every active practitioner reads the notes first, so the access log has something to leave out."""
    sensitive = {f"Practitioner {i}" for i, m in enumerate(world.members) if m.state != "none" and m.sensitive}
    shown = {f"Practitioner {i}" for i, m in enumerate(world.members) if m.state == "active" and not m.sensitive}
    with db.transaction() as session:
        for i, member in enumerate(world.members):
            if member.state == "active":
                account = built.accounts[f"p{i}"]
                notes.feed(session=session, keys=keys, account=account, network_id=built.network_id, audited=True)
    with db.transaction() as session:
        for key, viewer in built.viewers.items():
            if viewer.kind != "family":
                continue
            account = built.accounts[key]
            if not viewer.family_member:
                with pytest.raises(NotFound):
                    family.family_view(session=session, keys=keys, account=account, network_id=built.network_id)
                with pytest.raises(NotFound):
                    access_log.access_log(
                        session=session, keys=keys, actor=actor_of(account), network_id=built.network_id
                    )
                continue
            expected = {
                note_id
                for note_id in built.note_ids
                if policy.see_note(viewer, built.facts[note_id], history_rule=world.history_rule)
            }
            view = family.family_view(
                session=session, keys=keys, account=account, network_id=built.network_id, audited=False
            )
            assert {v.note.id for v in view.page.notes} == expected
            assert {v.note.id for v in view.page.notes if v.body is not None} == built.readable(expected)
            assert {person.name for person in view.involved} == shown, "who is involved, without sensitive ones"
            for item in view.page.notes:
                assert item.author not in sensitive, "a sensitive author is never named to the family"
            log = access_log.access_log(
                session=session, keys=keys, actor=actor_of(account), network_id=built.network_id
            )
            readers = {entry.name for entry in log.entries}
            assert readers == shown, "every practitioner's read is in the access log, and no sensitive one's"


def _sensitive_marks(built: Built, world: World) -> set[str]:
    """Everything that would tell a family member of a sensitive practitioner: their id, name and role, and their
    organisation's name and id where no practitioner who is not sensitive belongs to it."""
    organisations = {i: built.accounts[f"p{i}"].organisation_id for i in range(PRACTITIONERS)}
    names = {m.organisation: f"Org {m.organisation}" for m in world.members}
    sensitive = [i for i, m in enumerate(world.members) if m.state != "none" and m.sensitive]
    open_orgs = {m.organisation for m in world.members if m.state != "none" and not m.sensitive}
    marks: set[str] = set()
    for i in sensitive:
        marks |= {built.accounts[f"p{i}"].id, f"Practitioner {i}", f"Role of p{i}"}
        organisation = world.members[i].organisation
        if organisation not in open_orgs:
            marks |= {names[organisation], str(organisations[i])}
    return marks


def _check_family_never_reaches_a_sensitive_practitioner(
    db: Database, client: TestClient, built: Built, world: World
) -> None:
    """Every path a family member can reach, through the API and the pages, names no sensitive practitioner and
    shows no practitioner audience at all: only that a note is shared with them."""
    marks = _sensitive_marks(built, world)
    present = [key for key, viewer in built.viewers.items() if viewer.kind == "family" and viewer.family_member]
    for position, key in enumerate(present):
        account = built.accounts[key]
        with db.transaction() as session:
            token, _ = issue_api_token(session=session, account_id=account.id, lifetime=timedelta(minutes=5))
        headers = {"Authorization": f"Bearer {token}"}
        network = f"/api/v1/networks/{built.network_id}"
        listed = client.get(f"{network}/notes?limit=100", headers=headers)
        assert listed.status_code == 200
        assert all(note["audience"] is None for note in listed.json()["notes"]), "no practitioner audience detail"
        answers = [listed]
        answers += [client.get(path, headers=headers) for path in ("/api/v1/networks", network, f"{network}/events")]
        answers += [
            client.get(f"{network}/access-log", headers=headers),
            client.get("/api/v1/notifications", headers=headers),
        ]
        answers += [client.get(f"/api/v1/notes/{note['id']}", headers=headers) for note in listed.json()["notes"]]
        if position == 0:
            answers += _family_pages(db, client, built, account, [note["id"] for note in listed.json()["notes"]])
        for answer in answers:
            assert answer.status_code == 200, (answer.url, answer.status_code)
            found = {mark for mark in marks if mark in answer.text}
            assert not found, (str(answer.url), found)


def _family_pages(db: Database, client: TestClient, built: Built, account: Account, note_ids: list[str]) -> list:  # type: ignore[type-arg]
    paths = [f"/family/networks/{built.network_id}", "/family", "/notifications"]
    paths += [f"/networks/{built.network_id}/access-log", *(f"/notes/{note_id}" for note_id in note_ids)]
    with _signed_in(db, client, account):
        return [client.get(path, follow_redirects=False) for path in paths]


@contextmanager
def _signed_in(db: Database, client: TestClient, account: Account) -> Iterator[None]:
    """The client as this person in a browser, with a real session cookie."""
    with db.transaction() as session:
        token = start_web_session(
            session=session,
            account_id=account.id,
            timeouts=Timeouts(idle=timedelta(minutes=5), absolute=timedelta(minutes=5)),
        )
    client.cookies.clear()
    client.cookies.set("patchwork_session", token)
    try:
        yield
    finally:
        client.cookies.clear()


def _check_lead_export(
    db: Database, keys: Keyring, built: Built, account: Account, expected: set[str], *, lead: bool
) -> None:
    """A lead's JSON export holds exactly the notes the lead may see; anyone else is told there is no network."""
    with db.transaction() as session:
        if not lead:
            with pytest.raises(NotFound):
                subject_access.lead_export(session=session, keys=keys, account=account, network_id=built.network_id)
            return
        export = subject_access.lead_export(session=session, keys=keys, account=account, network_id=built.network_id)
    assert {view.note.id for view in export.notes} == expected


def _check_live_stream(db: Database, keys: Keyring, built: Built, world: World) -> None:
    """The websocket stream's path: one read for every follower at once, then the policy per recipient, exactly as
    the hub does it. Every viewer gets exactly the visible notes' events, in order; outsiders stop following."""
    with db.transaction() as session:
        batch = delivery.read(
            session=session,
            cursors=keys.cursors,
            network_id=built.network_id,
            after=0,
            account_ids=frozenset(account.id for account in built.accounts.values()),
        )
    assert not batch.more
    for key, subscriber in _offered(db, keys, built, world, batch, position=0).items():
        viewer = built.viewers[key]
        if batch.facts and not (viewer.member or viewer.family_member):
            assert built.network_id not in subscriber.positions, "an outsider's connection stops following"
    _check_announced_path(db, keys, built, world, batch)


def _offered(
    db: Database, keys: Keyring, built: Built, world: World, batch: Batch, *, position: int
) -> dict[str, Subscriber]:
    """Offer the batch to a stream subscriber for each viewer, following from `position`: each queues exactly the
    events of the notes the policy lets its viewer see, in order, each carrying its note as GET gives it to them."""

    facts = {str(f.data["note_id"]): f.note for f in batch.facts}
    with db.transaction() as session:
        shown = carried.load(session=session, keys=keys, network_id=built.network_id, notes=facts)
    batch.notes = SharedNotes(built.network_id, shown) if facts else None
    subscribers = {}
    for key, viewer in built.viewers.items():
        subscriber = ApiSubscriber(built.accounts[key].id)
        subscriber.positions[built.network_id] = position
        assert subscriber.offer(batch)
        items = [subscriber.queue.get_nowait() for _ in range(subscriber.queue.qsize())]
        texts = [carried_frame(item, shown) if isinstance(item, Carry) else str(item) for item in items]
        frames = [json.loads(text) for text in texts if text is not None]
        expected = [
            note_id
            for note_id in built.note_ids
            if policy.see_note(viewer, built.facts[note_id], history_rule=world.history_rule)
        ]
        assert [frame["data"]["note_id"] for frame in frames] == expected, key
        if frames:
            with db.transaction() as session:
                as_read = {
                    note_id: note_out(
                        notes.one_note(session=session, keys=keys, account=built.accounts[key], note_id=note_id)
                    ).model_dump(mode="json")
                    for note_id in expected
                }
            for frame in frames:
                assert frame["data"]["note"] == as_read[frame["data"]["note_id"]], key
            sent = json.dumps(frames, ensure_ascii=False)
            assert not any(reason in sent for reason in built.reasons), key
            assert {n for n, body in built.bodies.items() if body in sent} == built.readable(set(expected)), key
        subscribers[key] = subscriber
    return subscribers


def _check_last_activity(db: Database, built: Built, world: World) -> None:
    """A network's last activity as each viewer is told it (services.activity, the policy as SQL): the newest of
    the notes the policy lets them see, the member events if they are a practitioner member, and its creation."""
    with db.transaction() as session:
        network = session.get(Network, built.network_id)
        assert network is not None
        updated = dict(session.exec(select(Note.id, Note.updated_at).where(Note.network_id == network.id)).all())
        member_times = list(
            session.exec(
                select(NetworkEvent.at).where(
                    NetworkEvent.network_id == network.id, col(NetworkEvent.type).in_(MEMBER_EVENTS)
                )
            ).all()
        )
        for key, viewer in built.viewers.items():
            told = activity.as_seen_by(session, {network.id: (network, viewer)})[network.id]
            seen = [
                updated[note_id]
                for note_id in built.note_ids
                if policy.see_note(viewer, built.facts[note_id], history_rule=world.history_rule)
            ]
            assert told == max([network.created_at, *seen, *(member_times if viewer.member else [])]), key


def _check_announced_path(db: Database, keys: Keyring, built: Built, world: World, read: Batch) -> None:
    """The hub's other way: the same events as the commits announce them through the broker (the stored facts,
    JSON there and back), judged with the standing held from its last read. The same notes for every viewer."""
    with db.transaction() as session:
        stored = facts_of_many(session, set(built.note_ids))
    sent = [announcement(fact.seq, fact.type, fact.data, stored[str(fact.data["note_id"])]) for fact in read.facts]
    announced = Announced.decode(announcement_message(built.network_id, sent))
    assert announced is not None
    held = Followers(read.history_rule, read.viewers, frozenset(read.viewers), until=float("inf"))
    batch = announced_batch(announced, held, keys.cursors.seal)
    if not read.facts:
        assert batch is None
        return
    assert batch is not None
    _offered(db, keys, built, world, batch, position=batch.after)


def _check_services(
    db: Database,
    keys: Keyring,
    built: Built,
    account: Account,
    expected: set[str],
    in_network: bool,
    missing_id: str,
    *,
    pdf: bool,
) -> None:
    with db.transaction() as session:
        if not in_network:
            with pytest.raises(NotFound):
                notes.feed(session=session, keys=keys, account=account, network_id=built.network_id)
            with pytest.raises(NotFound):
                stream.catch_up(session=session, keys=keys, account=account, network_id=built.network_id, after=None)
            with pytest.raises(NotFound):
                notes.chronology(
                    session=session,
                    keys=keys,
                    account=account,
                    network_id=built.network_id,
                    filters=notes.ChronologyFilters(),
                )
        else:
            seen: list[str] = []
            cursor = None
            while True:
                page = notes.feed(
                    session=session, keys=keys, account=account, network_id=built.network_id, before=cursor, limit=3
                )
                seen += [v.note.id for v in page.notes]
                assert all(
                    v.body == (None if v.note.id in built.redacted else built.bodies[v.note.id]) for v in page.notes
                )
                assert all(r.body is None for v in page.notes if v.note.id in built.redacted for r in v.revisions)
                cursor = page.next_cursor
                if cursor is None:
                    break
            assert len(seen) == len(set(seen)), "a note appeared on two pages"
            assert set(seen) == expected
            chronology = notes.chronology(
                session=session,
                keys=keys,
                account=account,
                network_id=built.network_id,
                filters=notes.ChronologyFilters(),
            )
            assert {v.note.id for v in chronology} == expected
            assert notes.count_visible(session=session, account=account, network_id=built.network_id) == len(expected)
            caught_up = stream.catch_up(
                session=session, keys=keys, account=account, network_id=built.network_id, after=None
            )
            assert [e.data["note_id"] for e in caught_up.events if e.type == "note.created"] == [
                note_id for note_id in built.note_ids if note_id in expected
            ], "the catch-up endpoint shows exactly the visible notes' events, in order"
            for event in caught_up.events:
                if event.type.startswith("note."):
                    carried_note = event.note
                    assert carried_note is not None, "a note event carries its note"
                    note_id = str(event.data["note_id"])
                    own_read = notes.one_note(session=session, keys=keys, account=account, note_id=note_id)
                    assert note_out(carried_note) == note_out(own_read), "carried as the viewer's own read"
            shown_alerts = {
                view.alert.id
                for view in alerts.for_person(
                    session=session, keys=keys, account=account, thresholds=policy.AlertThresholds()
                )
            }
            raised = {e.data["alert_id"] for e in caught_up.events if e.type == "alert.raised"}
            assert raised <= shown_alerts, "an alert's event reaches only those shown the alert"
            assert all(set(e.data) == {"alert_id"} for e in caught_up.events if e.type.startswith("alert."))
            for fmt in ("csv", "pdf") if pdf else ("csv",):
                export = exports.export_chronology(
                    session=session,
                    keys=keys,
                    account=account,
                    network_id=built.network_id,
                    filters=notes.ChronologyFilters(),
                    fmt=fmt,
                )
                text = _export_text(export)
                shown = {note_id for note_id, body in built.bodies.items() if body in text}
                assert shown == built.readable(expected), fmt
                assert not any(reason in text for reason in built.reasons), fmt
        with pytest.raises(NotFound) as absent:
            notes.one_note(session=session, keys=keys, account=account, note_id=missing_id)
        for note_id in built.note_ids:
            if note_id in expected:
                assert notes.one_note(session=session, keys=keys, account=account, note_id=note_id).note.id == note_id
            else:
                with pytest.raises(NotFound) as hidden:
                    notes.one_note(session=session, keys=keys, account=account, note_id=note_id)
                assert str(hidden.value) == str(absent.value)


def _others(built: Built, account: Account, expected: set[str]) -> set[str]:
    """The visible notes someone else wrote: exactly what a person is notified of (every note here was posted after
    each member joined, as far as the outbox is concerned)."""
    return {note_id for note_id in expected if built.facts[note_id].author_id != account.id}


def _check_notifications(db: Database, keys: Keyring, built: Built, account: Account, expected: set[str]) -> None:
    """In-app notifications of new notes are exactly the visible notes by others, never a body; the e-mail digest is
    due exactly when there are some, and says nothing but the fixed words."""
    wanted = _others(built, account, expected)
    with db.transaction() as session:
        page = notifications.for_person(session=session, keys=keys, account=account, limit=100)
        found = notifications.places(session=session, keys=keys, account=account)
        due = notifications.has_new(session=session, account=account, found=found)
    notified = [item.note_id for item in page.items if item.type == "note.created"]
    assert len(notified) == len(set(notified)) and set(notified) == wanted
    assert page.unread == len(wanted)
    assert all(item.href == f"/notes/{item.note_id}" for item in page.items)
    words = " ".join(f"{item.text} {item.where}" for item in page.items)
    assert not any(secret in words for secret in built.secrets)
    assert due is bool(wanted)
    mail = email_digest.message(make_settings("sqlite://"), account.email).as_string()
    for secret in (*built.secrets, "Leak", "Org ", "Practitioner ", "Family "):
        assert secret not in mail


def _export_text(export: exports.Export) -> str:
    if export.media_type.startswith("text/csv"):
        return " ".join(" ".join(row) for row in csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    reader = pypdf.PdfReader(io.BytesIO(export.content))
    return " ".join(page.extract_text() for page in reader.pages).replace("\n", "")


def _check_api(
    db: Database,
    client: TestClient,
    built: Built,
    account: Account,
    expected: set[str],
    in_network: bool,
    missing_id: str,
    *,
    each_note: bool,
) -> None:
    with db.transaction() as session:
        token, _ = issue_api_token(session=session, account_id=account.id, lifetime=timedelta(minutes=5))
    headers = {"Authorization": f"Bearer {token}"}
    listed = client.get(f"/api/v1/networks/{built.network_id}/notes?limit=100", headers=headers)
    if not in_network:
        assert listed.status_code == 404
    else:
        assert listed.status_code == 200
        assert {n["id"] for n in listed.json()["notes"]} == expected
        for note in listed.json()["notes"]:
            assert note["body"] == (None if note["id"] in built.redacted else built.bodies[note["id"]])
        assert not any(reason in listed.text for reason in built.reasons)
        assert listed.json()["next"] is None
    notified = client.get("/api/v1/notifications", headers=headers).json()["notifications"]
    assert {n["note_id"] for n in notified if n["type"] == "note.created"} == _others(built, account, expected)
    if not each_note:
        return
    _check_pages(db, client, built, account, expected, in_network, missing_id)
    absent = client.get(f"/api/v1/notes/{missing_id}", headers=headers)
    assert absent.status_code == 404
    for note_id in built.note_ids:
        response = client.get(f"/api/v1/notes/{note_id}", headers=headers)
        if note_id in expected:
            answer = response.json()
            assert response.status_code == 200, answer
            if note_id in built.redacted:
                assert answer["body"] is None and answer["redacted"] and answer["redaction"]["at"]
                assert all(r["body"] is None for r in answer["revisions"])
                assert not any(reason in response.text for reason in built.reasons)
            else:
                assert answer["body"] == built.bodies[note_id] and answer["redaction"] is None
        else:
            assert (response.status_code, response.json()) == (absent.status_code, absent.json())


NOTE_ARTICLE = re.compile(r'<article[^>]* id="note-([0-9a-f-]{36})"')
NOTIFIED = re.compile(r'href="/notes/([0-9a-f-]{36})"')


def _check_pages(
    db: Database,
    client: TestClient,
    built: Built,
    account: Account,
    expected: set[str],
    in_network: bool,
    missing_id: str,
) -> None:
    """The HTML feed and one-note pages, signed in with a real session cookie."""
    with _signed_in(db, client, account):
        feed = client.get(f"/networks/{built.network_id}/notes", follow_redirects=False)
        if not in_network:
            assert feed.status_code == 404
        else:
            assert feed.status_code == 200
            assert set(NOTE_ARTICLE.findall(feed.text)) == expected
            for note_id, body in built.bodies.items():
                assert (body in feed.text) is (note_id in built.readable(expected))
            assert not any(reason in feed.text for reason in built.reasons)
        absent = client.get(f"/notes/{missing_id}", follow_redirects=False)
        assert absent.status_code == 404
        listed = client.get("/notifications", follow_redirects=False)
        assert listed.status_code == 200
        assert set(NOTIFIED.findall(listed.text)) == _others(built, account, expected)
        assert not any(secret in listed.text for secret in built.secrets)
        for note_id in built.note_ids:
            page = client.get(f"/notes/{note_id}", follow_redirects=False)
            if note_id in expected:
                assert page.status_code == 200
                assert (built.bodies[note_id] in page.text) is (note_id not in built.redacted)
                assert not any(reason in page.text for reason in built.reasons)
            else:
                assert page.status_code == 404
                assert _main(page.text) == _main(absent.text), "a hidden note must look exactly like a missing one"


def _main(html: str) -> str:
    return html.split("<main", 1)[1].split("</main>", 1)[0]
