"""The system admin's audit page: a page of the trail with each event in words (services.audit_words), the people
and organisations it names looked up, and the filter by person resolved from what the admin typed."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from patchwork import policy
from patchwork.crypto import Keyring
from patchwork.errors import Invalid, NotFound
from patchwork.models import Account, AuditEvent, FamilyMembership, Involvement, Organisation
from patchwork.services import admin_search
from patchwork.services.admin_search import NetworkChoice
from patchwork.services.audit.reading import read_page
from patchwork.services.audit_words import Known, action_name, detail_pairs, network_reference, target_pair

PAGE_SIZE = 50
NOBODY = "Patchwork itself"  # an event with no actor: an alert raised by the rules, say
NETWORK = "network_"  # the prefix of the network look-up's fields in the filter form
NOT_FOUND = "No network matches these details exactly"


@dataclass(frozen=True)
class EventView:
    seq: int
    at: datetime
    action: str
    what: str
    actor_id: str | None
    who: str
    network_id: str | None
    network: str | None  # the network's reference
    details: list[tuple[str, str]]


@dataclass(frozen=True)
class Person:
    """The person the page is filtered by."""

    id: str
    name: str
    email: str | None


@dataclass(frozen=True)
class TrailPage:
    events: list[EventView]
    older: int | None
    newer: int | None
    person: Person | None
    network: str | None  # the reference of the network the page is filtered by


def trail_page(
    *,
    session: Session,
    key: bytes,
    actor: policy.Actor,
    network_id: str | None = None,
    actor_id: str | None = None,
    before_seq: int | None = None,
    after_seq: int | None = None,
    limit: int = PAGE_SIZE,
) -> TrailPage:
    """A page of events newest first, in words; the reading is recorded in the trail."""
    page = read_page(
        session=session,
        key=key,
        actor=actor,
        network_id=network_id,
        actor_id=actor_id,
        before_seq=before_seq,
        after_seq=after_seq,
        limit=limit,
    )
    known, who = _known(session, page.events, actor_id)
    events = [_view(event, known, who) for event in page.events]
    person = None
    if actor_id is not None:
        account = session.get(Account, actor_id)
        person = Person(actor_id, account.name, account.email) if account else Person(actor_id, actor_id, None)
    return TrailPage(
        events=events,
        older=page.older,
        newer=page.newer,
        person=person,
        network=network_reference(network_id) if network_id else None,
    )


@dataclass(frozen=True)
class Filters:
    """What the filter form asked for: ids to filter by, or several networks to choose from, or what is wrong."""

    actor_id: str | None = None
    network_id: str | None = None
    choices: list[NetworkChoice] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)


def resolve_filters(
    *, session: Session, keys: Keyring, actor: policy.Actor, form: Mapping[str, str], per_hour: int, today: date
) -> Filters:
    """The person by name or e-mail ("who", empty for anyone) and the network by a look-up (the NETWORK fields,
    empty for every network). The network in force ("network") is kept while its reference is left as shown,
    without looking it up again."""
    if not actor.is_system_admin:
        raise NotFound()
    errors: dict[str, str] = {}
    actor_id = None
    if form.get("who", "").strip():
        try:
            actor_id = find_person(session=session, actor=actor, typed=form.get("who"))
        except Invalid as problem:
            errors |= problem.fields
    lookup = {name.removeprefix(NETWORK): value for name, value in form.items() if name.startswith(NETWORK)}
    current = form.get("network", "")
    if current and {k: v.strip() for k, v in lookup.items() if v.strip()} == {"reference": network_reference(current)}:
        return Filters(actor_id=actor_id, network_id=current, errors=errors)
    if not admin_search.wanted(lookup):
        return Filters(actor_id=actor_id, errors=errors)
    try:
        found = admin_search.find_networks(
            session=session, keys=keys, actor=actor, raw=lookup, purpose="audit", per_hour=per_hour, today=today
        )
    except Invalid as problem:
        return Filters(errors=errors | {NETWORK + name: text for name, text in problem.fields.items()})
    if not found:
        errors[NETWORK + ("reference" if lookup.get("reference", "").strip() else "family_name")] = NOT_FOUND
    if errors or len(found) > 1:
        return Filters(actor_id=actor_id, choices=found if len(found) > 1 else [], errors=errors)
    return Filters(actor_id=actor_id, network_id=found[0].id)


def find_person(*, session: Session, actor: policy.Actor, typed: object) -> str:
    """The id of the one account with exactly this e-mail address or name (case aside); Invalid on "who" else."""
    if not actor.is_system_admin:
        raise NotFound()
    text = " ".join(typed.split()) if isinstance(typed, str) else ""
    if not text:
        raise Invalid({"who": "Enter the person's full name or e-mail address"})
    by_email = session.exec(select(Account.id).where(func.lower(Account.email) == text.lower())).first()
    if by_email is not None:
        return by_email
    named = list(session.exec(select(Account.id).where(func.lower(Account.name) == text.lower()).limit(2)).all())
    if len(named) > 1:
        raise Invalid({"who": f"More than one person is called {text}: enter their e-mail address"})
    if not named:
        raise Invalid({"who": "Nobody has exactly this name or e-mail address"})
    return named[0]


def _view(event: AuditEvent, known: Known, who: dict[str, str]) -> EventView:
    details = detail_pairs(event.details, known)
    about = target_pair(event.action, event.target_type, event.target_id, known)
    return EventView(
        seq=event.seq,
        at=event.at,
        action=event.action,
        what=action_name(event.action),
        actor_id=event.actor_id,
        who=who.get(event.actor_id, "An account no longer held") if event.actor_id else NOBODY,
        network_id=event.network_id,
        network=network_reference(event.network_id) if event.network_id else None,
        details=([about] if about else []) + details,
    )


def _known(session: Session, events: list[AuditEvent], actor_id: str | None) -> tuple[Known, dict[str, str]]:
    """The names behind the ids the events mention, in a few queries for the whole page."""
    account_ids = {e.actor_id for e in events if e.actor_id} | ({actor_id} if actor_id else set())
    organisation_ids: set[str] = set()
    involvement_ids: set[str] = set()
    membership_ids: set[str] = set()
    for event in events:
        target = event.target_id
        if target and event.target_type == "account":
            account_ids.add(target)
        elif target and event.target_type == "organisation":
            organisation_ids.add(target)
        elif target and event.target_type == "involvement":
            involvement_ids.add(target)
        elif target and event.target_type == "family_membership":
            membership_ids.add(target)
        account_ids |= set(_ids_in(event.details))
    holders: dict[str, str] = {}
    if involvement_ids:
        rows = session.exec(
            select(Involvement.id, Involvement.account_id).where(col(Involvement.id).in_(involvement_ids))
        ).all()
        holders |= dict(rows)
    if membership_ids:
        rows = session.exec(
            select(FamilyMembership.id, FamilyMembership.account_id).where(col(FamilyMembership.id).in_(membership_ids))
        ).all()
        holders |= dict(rows)
    account_ids |= set(holders.values())
    accounts = session.exec(
        select(Account.id, Account.name, Account.organisation_id).where(col(Account.id).in_(account_ids))
    ).all()
    organisation_ids |= {org for _, _, org in accounts if org}
    organisations = dict(
        session.exec(select(Organisation.id, Organisation.name).where(col(Organisation.id).in_(organisation_ids))).all()
    )
    names = {account_id: name for account_id, name, _ in accounts}
    who = {
        account_id: f"{name}, {organisations[org]}" if org in organisations else name
        for account_id, name, org in accounts
    }
    known = Known(
        accounts=names,
        organisations=organisations,
        holders={holding: names.get(holder, "an account no longer held") for holding, holder in holders.items()},
    )
    return known, who


def _ids_in(details: str) -> Iterable[str]:
    """Account ids inside an event's details (an audit reading's filter by person, say)."""
    try:
        data = json.loads(details)
    except ValueError:
        return []
    found: list[str] = []
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for name, value in item.items():
                if isinstance(value, str) and name.endswith("_id") and not name.endswith("network_id"):
                    found.append(value)
                else:
                    stack.append(value)
    return found
