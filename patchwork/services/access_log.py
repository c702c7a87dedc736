"""The access log: who looked at, exported or found a child's record, and when, as the child's family sees it.

Read from the audit trail. Family members' own reads are left out, and so is every account that has (or had) a
sensitive involvement in the network: a refuge worker's visits must never show, not even as a search before they
joined. Practitioners' reads are recorded by the services that show the record (`network.viewed`, `notes.viewed`,
`chronology.exported`, `child.searched` when it matched, `network.exported`); a system admin appears only through a
subject access export (`subject_access.exported`). Reading the log is itself audited (`access_log.read`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from sqlmodel import Session, col, select

from patchwork import policy
from patchwork.crypto import Keyring
from patchwork.errors import Invalid, NotFound
from patchwork.models import Account, Organisation
from patchwork.models.audit import AuditEvent
from patchwork.models.networks import Network
from patchwork.models.notes import FamilyMembership
from patchwork.services import audit, networks
from patchwork.services.visibility import shown_to_family

PAGE = 50
MAX_PAGE = 200
MAX_MERGE_HOPS = 10

# The audit actions that are a practitioner's (or, for a subject access request, an admin's) look at the record.
WORDS: dict[str, str] = {
    "network.viewed": "looked at who is involved",
    "notes.viewed": "viewed the notes",
    "chronology.exported": "exported the chronology",
    "child.searched": "found the child by searching",
    "network.exported": "exported the record (the parts they may see)",
    "subject_access.exported": "exported the record for a subject access request",
}
# `notes.viewed` says which view was read. Opening one note reads as "viewed the notes" too: "viewed a note" would
# tell a family member with nothing shared that a note exists which they may not see.
VIEW_WORDS: dict[str, str] = {
    "feed": "viewed the notes",
    "chronology": "viewed the chronology",
    "note": "viewed the notes",
    "stream": "viewed the notes",
    "events": "viewed the notes",
}


@dataclass(frozen=True)
class Entry:
    at: datetime
    name: str
    organisation: str | None
    action: str  # the audit action, e.g. "notes.viewed"
    words: str  # what happened, in plain words: "viewed the notes"


@dataclass(frozen=True)
class Visits:
    """One person's reads of one kind on one day: "Tom Fletcher, Oakfield Primary School, viewed the notes 17 times
    on 2 December", rather than 17 rows."""

    day: date
    name: str
    organisation: str | None
    words: str
    times: int
    first: datetime
    last: datetime


def by_person_and_day(entries: list[Entry], zone: tzinfo | None) -> list[Visits]:
    """Entries (newest first) grouped by local day, person and what they did; the groups newest first."""
    groups: dict[tuple[date, str, str | None, str], list[Entry]] = {}
    for entry in entries:
        local = entry.at.astimezone(zone) if zone is not None else entry.at
        groups.setdefault((local.date(), entry.name, entry.organisation, entry.words), []).append(entry)
    found = [
        Visits(day, name, organisation, words, len(group), group[-1].at, group[0].at)
        for (day, name, organisation, words), group in groups.items()
    ]
    return sorted(found, key=lambda visits: visits.last, reverse=True)


@dataclass(frozen=True)
class AccessLog:
    network: Network
    entries: list[Entry]
    next_cursor: str | None


def current_network(session: Session, network_id: str) -> Network:
    """The network, following merges to the one that holds the record now; NotFound for anything else."""
    network = session.get(Network, network_id) if _is_uuid(network_id) else None
    hops = 0
    while network is not None and network.merged_into_id and hops < MAX_MERGE_HOPS:
        network = session.get(Network, network.merged_into_id)
        hops += 1
    if network is None or network.merged_into_id:
        raise NotFound("No such network")
    return network


def lineage(session: Session, network: Network) -> list[str]:
    """This network and every network merged into it: the trail about one child is kept under all their ids."""
    found = [network.id]
    frontier = [network.id]
    for _ in range(MAX_MERGE_HOPS):
        merged = list(session.exec(select(Network.id).where(col(Network.merged_into_id).in_(frontier))).all())
        merged = [m for m in merged if m not in found]
        if not merged:
            break
        found += merged
        frontier = merged
    return found


def _is_uuid(value: str) -> bool:
    return len(value) == 36 and value.count("-") == 4


def is_family_member(session: Session, account_id: str, network_id: str) -> bool:
    return (
        session.exec(
            select(FamilyMembership.id).where(
                FamilyMembership.network_id == network_id,
                FamilyMembership.account_id == account_id,
                FamilyMembership.active == True,  # noqa: E712
            )
        ).first()
        is not None
    )


def describe(action: str, details: str) -> str:
    if action == "notes.viewed":
        try:
            view = json.loads(details).get("view")
        except (ValueError, AttributeError):
            view = None
        return VIEW_WORDS.get(view if isinstance(view, str) else "", WORDS[action])
    return WORDS[action]


def access_log(
    *,
    session: Session,
    keys: Keyring,
    actor: policy.Actor,
    network_id: str,
    before: str | None = None,
    limit: int = PAGE,
) -> AccessLog:
    """Newest first, `limit` at a time; `before` is the `next_cursor` of the previous page.

    Readable by the network's family members and its leads (who see exactly what the family sees); everyone else,
    system admins included, is told there is no such network. Admins read the whole trail at /admin/audit.
    """
    network = current_network(session, network_id)
    family = is_family_member(session, actor.account_id, network.id)
    if not policy.read_access_log(actor, networks.facts(session, network), family_member=family):
        raise NotFound("No such network")
    limit = max(1, min(limit, MAX_PAGE))
    ids = lineage(session, network)
    rows = _rows(session, ids, before_seq=_cursor_seq(session, before, ids) if before else None, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    entries = [_entry(event, name, organisation) for event, name, organisation in rows]
    audit.record(
        session=session,
        key=keys.audit,
        action="access_log.read",
        actor_id=actor.account_id,
        network_id=network.id,
        details={"returned": len(entries)},
    )
    return AccessLog(network=network, entries=entries, next_cursor=rows[-1][0].id if more and rows else None)


def every_entry(*, session: Session, network: Network) -> list[Entry]:
    """The whole access log as the family (and so the leads) see it, newest first: for a lead's export, which is
    audited as an export rather than as a read of the log."""
    return [
        _entry(event, name, organisation) for event, name, organisation in _rows(session, lineage(session, network))
    ]


def _rows(
    session: Session, ids: list[str], *, before_seq: int | None = None, limit: int | None = None
) -> list[tuple[AuditEvent, str, str | None]]:
    """The reads and exports by practitioners and admins, without any by a sensitive involvement in the network."""
    query = (
        select(AuditEvent, Account.name, Organisation.name)
        .join(Account, col(Account.id) == col(AuditEvent.actor_id))
        .outerjoin(Organisation, col(Organisation.id) == col(Account.organisation_id))
        .where(
            col(AuditEvent.network_id).in_(ids),
            col(AuditEvent.action).in_(WORDS),
            shown_to_family(ids),
        )
    )
    if before_seq is not None:
        query = query.where(col(AuditEvent.seq) < before_seq)
    query = query.order_by(col(AuditEvent.seq).desc())
    if limit is not None:
        query = query.limit(limit)
    return list(session.exec(query).all())


def _entry(event: AuditEvent, name: str, organisation: str | None) -> Entry:
    return Entry(
        at=event.at,
        name=name,
        organisation=organisation,
        action=event.action,
        words=describe(event.action, event.details),
    )


def _cursor_seq(session: Session, cursor: str, ids: list[str]) -> int:
    """The cursor is the id of the last event on the previous page: opaque, and only good for this network."""
    seq = (
        session.exec(select(AuditEvent.seq).where(AuditEvent.id == cursor, col(AuditEvent.network_id).in_(ids))).first()
        if _is_uuid(cursor)
        else None
    )
    if seq is None:
        raise Invalid({"before": "The page cursor is not valid"}, "The page cursor is not valid")
    return seq
