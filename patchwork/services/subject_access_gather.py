"""Gathering a subject access export: everything held under a network and any merged into it, read in a fixed
number of queries per kind of record, then shaped as the records of services/subject_access_records.py."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar

from sqlmodel import Session, col, select

from patchwork.clock import isoformat, utcnow
from patchwork.crypto import Keyring
from patchwork.models import Account, Organisation
from patchwork.models.audit import AuditEvent
from patchwork.models.networks import Child, Involvement, InvolvementStatus, Network
from patchwork.models.notes import (
    Acknowledgement,
    FamilyMembership,
    HistoryOpening,
    Note,
    NoteAudienceOrganisation,
    NoteAudiencePerson,
    NoteFamilyShare,
    NoteReply,
    NoteRevision,
)
from patchwork.services import children, notes, sealed_facts
from patchwork.services.subject_access_records import (
    AcknowledgementRecord,
    AudienceRecord,
    AuditRecord,
    BasisRecord,
    ChildRecord,
    FamilyMemberRecord,
    HistoryOpeningRecord,
    InvolvementRecord,
    MergedNetworkRecord,
    NetworkRecord,
    NoteRecord,
    OrganisationRef,
    PersonRef,
    RedactionRecord,
    ReplyRecord,
    RevisionRecord,
    SubjectAccessExport,
)

CHUNK = 500  # ids per IN (...) list, well under SQLite's limit on bound parameters

Row = TypeVar("Row")


def batches(items: Sequence[Row], size: int = CHUNK) -> Iterator[list[Row]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def _chunked(ids: Iterable[str], query: Callable[[list[str]], Sequence[Row]]) -> list[Row]:
    found: list[Row] = []
    for chunk in batches(sorted(set(ids))):
        found += query(chunk)
    return found


def _at(moment: datetime | None) -> str | None:
    return isoformat(moment) if moment is not None else None


def _day(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


class Gather:
    """Reads everything held under a set of network ids, in a fixed number of queries per kind of record."""

    def __init__(self, session: Session, keys: Keyring, ids: list[str]) -> None:
        self.session, self.keys, self.ids = session, keys, ids
        self.people: dict[str, PersonRef] = {}
        self.organisations: dict[str, OrganisationRef] = {}

    def document(self, network: Network, reference: str, account: Account) -> SubjectAccessExport:
        held = self._held()
        self._load_people([account.id, *held.people()])
        self._load_organisations(held.organisation_ids())
        return SubjectAccessExport(
            reference=reference,
            exported_at=isoformat(utcnow()),
            exported_by=self.people[account.id],
            network=NetworkRecord(
                id=network.id,
                status=network.status,
                history_rule=network.history_rule,
                created_at=isoformat(network.created_at),
                created_by=self.person(network.created_by_id),
                last_activity_at=isoformat(network.last_activity_at),
                status_changed_at=_at(network.status_changed_at),
            ),
            child=self.child(network),
            merged_networks=[
                MergedNetworkRecord(
                    id=n.id, merged_into_id=n.merged_into_id, merged_at=_at(n.status_changed_at), child=self.child(n)
                )
                for n in held.networks
                if n.merged_into_id
            ],
            involvements=[self.involvement(i) for i in held.involvements],
            family_members=[self.family_member(m) for m in held.family],
            notes=[self.note(n, held.parts) for n in held.notes],
            history_openings=[self.history_opening(o) for o in held.openings],
            alerts=[],
            audit_events=[self.event(e) for e in held.events],
        )

    def _held(self) -> _Held:
        s, ids = self.session, self.ids
        held_notes = list(
            s.exec(select(Note).where(col(Note.network_id).in_(ids)).order_by(col(Note.created_at), col(Note.id))).all()
        )
        return _Held(
            networks=list(s.exec(select(Network).where(col(Network.id).in_(ids))).all()),
            involvements=list(
                s.exec(
                    select(Involvement)
                    .where(col(Involvement.network_id).in_(ids))
                    .order_by(col(Involvement.started_at))
                ).all()
            ),
            family=list(
                s.exec(
                    select(FamilyMembership)
                    .where(col(FamilyMembership.network_id).in_(ids))
                    .order_by(col(FamilyMembership.joined_at))
                ).all()
            ),
            notes=held_notes,
            openings=list(
                s.exec(
                    select(HistoryOpening)
                    .where(col(HistoryOpening.network_id).in_(ids))
                    .order_by(col(HistoryOpening.at))
                ).all()
            ),
            events=list(
                s.exec(
                    select(AuditEvent).where(col(AuditEvent.network_id).in_(ids)).order_by(col(AuditEvent.seq))
                ).all()
            ),
            parts=_NoteParts.load(s, [n.id for n in held_notes]),
        )

    def family_member(self, m: FamilyMembership) -> FamilyMemberRecord:
        return FamilyMemberRecord(
            id=m.id,
            network_id=m.network_id,
            person=self.people[m.account_id],
            relationship=sealed_facts.relationship(self.keys.cipher, m),
            active=m.active,
            joined_at=isoformat(m.joined_at),
        )

    def history_opening(self, o: HistoryOpening) -> HistoryOpeningRecord:
        return HistoryOpeningRecord(
            id=o.id,
            network_id=o.network_id,
            person=self.person(o.account_id),
            opened_by=self.person(o.opened_by_id),
            reason=self.keys.cipher.decrypt(o.reason_sealed, context=f"history-opening:{o.id}"),
            at=isoformat(o.at),
        )

    def _load_people(self, ids: list[str]) -> None:
        rows = _chunked(ids, lambda chunk: self.session.exec(select(Account).where(col(Account.id).in_(chunk))).all())
        self.people = {a.id: PersonRef(id=a.id, name=a.name) for a in rows}

    def _load_organisations(self, ids: list[str]) -> None:
        rows = _chunked(
            ids, lambda chunk: self.session.exec(select(Organisation).where(col(Organisation.id).in_(chunk))).all()
        )
        self.organisations = {o.id: OrganisationRef(id=o.id, name=o.name, type=o.type) for o in rows}

    def person(self, account_id: str | None) -> PersonRef | None:
        return self.people.get(account_id) if account_id else None

    def organisation(self, organisation_id: str | None) -> OrganisationRef | None:
        return self.organisations.get(organisation_id) if organisation_id else None

    def child(self, network: Network) -> ChildRecord:
        row = self.session.get(Child, network.child_id)
        assert row is not None, "every network has its child"
        identity = children.open_identity(self.keys.cipher, row)
        return ChildRecord(
            given_name=identity.given_name,
            family_name=identity.family_name,
            date_of_birth=identity.date_of_birth.isoformat(),
            nhs_number=identity.nhs_number,
            postcode=identity.postcode,
            known_as=identity.known_as,
        )

    def involvement(self, i: Involvement) -> InvolvementRecord:
        text = sealed_facts.open_involvement(self.keys.cipher, i)
        return InvolvementRecord(
            id=i.id,
            network_id=i.network_id,
            person=self.people[i.account_id],
            organisation=self.organisation(i.organisation_id),
            role_label=text.role_label,
            reason=text.reason,
            contact=text.contact,
            sensitive=i.sensitive,
            status=i.status,
            is_lead=i.is_lead and i.status == InvolvementStatus.active,
            lead_since=_at(i.lead_since),
            started_at=isoformat(i.started_at),
            ended_at=_at(i.ended_at),
            ended_by=self.person(i.ended_by_id),
        )

    def note(self, note: Note, parts: _NoteParts) -> NoteRecord:
        decrypt = self.keys.cipher.decrypt
        return NoteRecord(
            id=note.id,
            network_id=note.network_id,
            kind=note.kind,
            category=note.category,
            level=note.level,
            observed_on=note.observed_on.isoformat(),
            author=self.person(note.author_id),
            author_organisation=self.organisation(note.author_organisation_id),
            author_sensitive=note.author_sensitive,
            audience=AudienceRecord(
                kind=note.audience,
                organisations=[o for o in map(self.organisation, sorted(parts.audience_orgs[note.id])) if o],
                people=[p for p in map(self.person, sorted(parts.audience_people[note.id])) if p],
            ),
            family_shares=[p for p in map(self.person, sorted(parts.shares[note.id])) if p],
            basis=self.basis(note),
            body=decrypt(note.body_sealed, context=f"note:{note.id}"),
            created_at=isoformat(note.created_at),
            updated_at=isoformat(note.updated_at),
            revisions=[
                RevisionRecord(
                    number=r.number,
                    body=decrypt(r.body_sealed, context=f"revision:{r.id}"),
                    author=self.person(r.author_id),
                    at=isoformat(r.created_at),
                )
                for r in parts.revisions[note.id]
            ],
            replies=[
                ReplyRecord(
                    id=r.id,
                    author=self.person(r.author_id),
                    organisation=self.organisation(r.author_organisation_id),
                    body=decrypt(r.body_sealed, context=f"reply:{r.id}"),
                    at=isoformat(r.created_at),
                )
                for r in parts.replies[note.id]
            ],
            acknowledgements=[
                AcknowledgementRecord(person=self.person(a.account_id), at=isoformat(a.at))
                for a in parts.acknowledgements[note.id]
            ],
            redaction=self.redaction(note),
        )

    def basis(self, note: Note) -> BasisRecord | None:
        if not note.basis_sealed:
            return None
        basis = notes.Basis.from_json(self.keys.cipher.decrypt(note.basis_sealed, context=f"basis:{note.id}"))
        return BasisRecord(
            kind=basis.kind,
            consent_from=basis.consent_from,
            consented_on=_day(basis.consented_on),
            reason=basis.reason,
            justification=basis.justification,
        )

    def redaction(self, note: Note) -> RedactionRecord | None:
        """Who redacted the note, when and why; the body stays in the export (see the module's docstring)."""
        if note.redacted_at is None:
            return None
        sealed = note.redaction_sealed
        reason = self.keys.cipher.decrypt(sealed, context=f"redaction:{note.id}") if sealed else None
        return RedactionRecord(at=isoformat(note.redacted_at), by=self.person(note.redacted_by_id), reason=reason)

    def event(self, e: AuditEvent) -> AuditRecord:
        try:
            details: Any = json.loads(e.details)
        except ValueError:
            details = {"unreadable": True}
        return AuditRecord(
            id=e.id,
            at=isoformat(e.at),
            actor=self.person(e.actor_id),
            action=e.action,
            network_id=e.network_id,
            target_type=e.target_type,
            target_id=e.target_id,
            details=details if isinstance(details, dict) else {"value": details},
        )


@dataclass(frozen=True)
class _Held:
    """The rows held under the network ids, each kind read in one query."""

    networks: list[Network]
    involvements: list[Involvement]
    family: list[FamilyMembership]
    notes: list[Note]
    openings: list[HistoryOpening]
    events: list[AuditEvent]
    parts: _NoteParts

    def people(self) -> list[str]:
        return (
            [n.created_by_id for n in self.networks]
            + [i.account_id for i in self.involvements]
            + [i.ended_by_id for i in self.involvements if i.ended_by_id]
            + [m.account_id for m in self.family]
            + [n.author_id for n in self.notes]
            + [n.redacted_by_id for n in self.notes if n.redacted_by_id]
            + self.parts.people()
            + [o.account_id for o in self.openings]
            + [o.opened_by_id for o in self.openings]
            + [e.actor_id for e in self.events if e.actor_id]
        )

    def organisation_ids(self) -> list[str]:
        return (
            [i.organisation_id for i in self.involvements]
            + [n.author_organisation_id for n in self.notes if n.author_organisation_id]
            + self.parts.organisation_ids()
        )


@dataclass
class _NoteParts:
    """Each note's revisions, replies, acknowledgements, audience and family shares, read for all notes at once."""

    revisions: defaultdict[str, list[NoteRevision]] = field(default_factory=lambda: defaultdict(list))
    replies: defaultdict[str, list[NoteReply]] = field(default_factory=lambda: defaultdict(list))
    acknowledgements: defaultdict[str, list[Acknowledgement]] = field(default_factory=lambda: defaultdict(list))
    audience_orgs: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    audience_people: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    shares: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    @classmethod
    def load(cls, session: Session, note_ids: list[str]) -> _NoteParts:
        parts = cls()

        def rows(model: Any, order: Any) -> list[Any]:
            return _chunked(
                note_ids,
                lambda chunk: session.exec(select(model).where(col(model.note_id).in_(chunk)).order_by(order)).all(),
            )

        for revision in rows(NoteRevision, col(NoteRevision.number)):
            parts.revisions[revision.note_id].append(revision)
        for reply in rows(NoteReply, col(NoteReply.created_at)):
            parts.replies[reply.note_id].append(reply)
        for ack in rows(Acknowledgement, col(Acknowledgement.at)):
            parts.acknowledgements[ack.note_id].append(ack)
        for org in rows(NoteAudienceOrganisation, col(NoteAudienceOrganisation.organisation_id)):
            parts.audience_orgs[org.note_id].add(org.organisation_id)
        for person in rows(NoteAudiencePerson, col(NoteAudiencePerson.account_id)):
            parts.audience_people[person.note_id].add(person.account_id)
        for share in rows(NoteFamilyShare, col(NoteFamilyShare.account_id)):
            parts.shares[share.note_id].add(share.account_id)
        return parts

    def people(self) -> list[str]:
        found = [r.author_id for rs in self.revisions.values() for r in rs]
        found += [r.author_id for rs in self.replies.values() for r in rs]
        found += [a.account_id for acks in self.acknowledgements.values() for a in acks]
        found += [p for ps in self.audience_people.values() for p in ps]
        found += [p for ps in self.shares.values() for p in ps]
        return found

    def organisation_ids(self) -> list[str]:
        found = [r.author_organisation_id for rs in self.replies.values() for r in rs if r.author_organisation_id]
        return found + [o for os in self.audience_orgs.values() for o in os]
