"""Exports of a network's record, as JSON: a lead's (what that lead may see) and a subject access export.

A subject access export is how a system admin answers a subject access request: everything held about the child,
given the request's reference. It is the only way an admin ever reads notes, it is audited with the reference
(`subject_access.exported`) and it appears in the family's access log. What it holds, and why:

- the child's identifiers, and those of any duplicate network merged into this one;
- every involvement, sensitive and ended ones included: the request is for everything held, and deciding what to
  withhold (a refuge worker's identity, say) is the data protection officer's judgement, not the software's;
- every note with its whole history: every revision, every reply, the sharing basis, acknowledgements, who it was
  shared with in the family, and for a redacted note the redaction (who, when, why) *and the body*. A redaction hides
  the body from views, but the text is still held, so it is part of what the request is about; the export marks it
  so the reviewer can decide whether an exemption applies before anything is disclosed;
- family memberships, history openings (with their reasons), alerts (none are held yet) and every audit event
  about the network, this export's own event included.

A lead's export (`network.exported`) holds what the lead may see through the app: the child's identifiers, the
active involvements, the family members, and the notes the lead may see, shaped as the API shows them.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar

from sqlmodel import Session, col, select

from patchwork import policy
from patchwork.clock import isoformat, utcnow
from patchwork.crypto import Keyring
from patchwork.errors import Invalid, NotFound
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
from patchwork.services import access_log, audit, children, networks, notes, sealed_facts
from patchwork.services.access_log import current_network, lineage
from patchwork.services.accounts import actor_of
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
from patchwork.services.visibility import visible

MAX_REFERENCE = 100
CHUNK = 500  # ids per IN (...) list, well under SQLite's limit on bound parameters

Row = TypeVar("Row")


@dataclass(frozen=True)
class FamilyMember:
    account_id: str
    name: str
    relationship: str


@dataclass(frozen=True)
class LeadExport:
    exported_at: datetime
    view: networks.NetworkView
    family_members: list[FamilyMember]
    notes: list[notes.NoteView]
    access_log: list[access_log.Entry]  # as the family and the leads see it, newest first


def export(
    *, session: Session, keys: Keyring, account: Account, network_id: str, reference: object = None
) -> LeadExport | SubjectAccessExport:
    """A system admin's subject access export (which needs `reference`), or a lead's export; 404 for anyone else."""
    if policy.subject_access_export(actor_of(account)):
        return subject_access_export(
            session=session, keys=keys, account=account, network_id=network_id, reference=reference
        )
    return lead_export(session=session, keys=keys, account=account, network_id=network_id)


def lead_export(*, session: Session, keys: Keyring, account: Account, network_id: str) -> LeadExport:
    actor = actor_of(account)
    network = current_network(session, network_id)
    if not policy.export_network(actor, networks.facts(session, network)):
        raise NotFound("No such network")
    view = networks.view_network(session=session, keys=keys, actor=actor, network_id=network.id, audited=False)
    place = notes.standing(session=session, account=account, network_id=network.id)
    rows = session.exec(
        select(Note)
        .where(Note.network_id == network.id, visible(place.viewer, history_rule=network.history_rule))
        .order_by(col(Note.created_at), col(Note.id))
    ).all()
    shown: list[notes.NoteView] = []
    for chunk in _batches(rows):
        shown += notes.views(session=session, keys=keys, place=place, notes=chunk)
    family = session.exec(
        select(FamilyMembership, Account)
        .join(Account, col(Account.id) == col(FamilyMembership.account_id))
        .where(FamilyMembership.network_id == network.id, FamilyMembership.active == True)  # noqa: E712
        .order_by(col(FamilyMembership.joined_at))
    ).all()
    log = access_log.every_entry(session=session, network=network)
    audit.record(
        session=session,
        key=keys.audit,
        action="network.exported",
        actor_id=account.id,
        network_id=network.id,
        details={"notes": len(shown)},
    )
    return LeadExport(
        exported_at=utcnow(),
        view=view,
        family_members=[FamilyMember(a.id, a.name, sealed_facts.relationship(keys.cipher, m)) for m, a in family],
        notes=shown,
        access_log=log,
    )


def clean_reference(value: object) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        problem = "Enter the reference of the subject access request"
    elif len(text) > MAX_REFERENCE:
        problem = f"The reference must be {MAX_REFERENCE} characters or fewer"
    elif not text.isprintable():
        problem = "The reference must be plain text on one line"
    else:
        return text
    raise Invalid({"reference": problem}, "A subject access export needs the request's reference")


def subject_access_export(
    *, session: Session, keys: Keyring, account: Account, network_id: str, reference: object
) -> SubjectAccessExport:
    if not policy.subject_access_export(actor_of(account)):
        raise NotFound("No such network")
    ref = clean_reference(reference)
    network = current_network(session, network_id)
    ids = lineage(session, network)
    audit.record(
        session=session,
        key=keys.audit,
        action="subject_access.exported",
        actor_id=account.id,
        network_id=network.id,
        details={"reference": ref},
    )
    return _Gather(session, keys, ids).document(network, ref, account)


def _batches(items: Sequence[Row], size: int = CHUNK) -> Iterator[list[Row]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def _chunked(ids: Iterable[str], query: Callable[[list[str]], Sequence[Row]]) -> list[Row]:
    found: list[Row] = []
    for chunk in _batches(sorted(set(ids))):
        found += query(chunk)
    return found


def _at(moment: datetime | None) -> str | None:
    return isoformat(moment) if moment is not None else None


def _day(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


class _Gather:
    """Reads everything held under a set of network ids, in a fixed number of queries per kind of record."""

    def __init__(self, session: Session, keys: Keyring, ids: list[str]) -> None:
        self.session, self.keys, self.ids = session, keys, ids
        self.people: dict[str, PersonRef] = {}
        self.organisations: dict[str, OrganisationRef] = {}

    def document(self, network: Network, reference: str, account: Account) -> SubjectAccessExport:
        s = self.session
        networks_held = list(s.exec(select(Network).where(col(Network.id).in_(self.ids))).all())
        involvements = list(
            s.exec(
                select(Involvement)
                .where(col(Involvement.network_id).in_(self.ids))
                .order_by(col(Involvement.started_at))
            ).all()
        )
        family = list(
            s.exec(
                select(FamilyMembership)
                .where(col(FamilyMembership.network_id).in_(self.ids))
                .order_by(col(FamilyMembership.joined_at))
            ).all()
        )
        held_notes = list(
            s.exec(
                select(Note).where(col(Note.network_id).in_(self.ids)).order_by(col(Note.created_at), col(Note.id))
            ).all()
        )
        openings = list(
            s.exec(
                select(HistoryOpening)
                .where(col(HistoryOpening.network_id).in_(self.ids))
                .order_by(col(HistoryOpening.at))
            ).all()
        )
        events = list(
            s.exec(
                select(AuditEvent).where(col(AuditEvent.network_id).in_(self.ids)).order_by(col(AuditEvent.seq))
            ).all()
        )
        note_parts = _NoteParts.load(s, [n.id for n in held_notes])
        self._load_people(
            [account.id]
            + [n.created_by_id for n in networks_held]
            + [i.account_id for i in involvements]
            + [i.ended_by_id for i in involvements if i.ended_by_id]
            + [m.account_id for m in family]
            + [n.author_id for n in held_notes]
            + [n.redacted_by_id for n in held_notes if n.redacted_by_id]
            + note_parts.people()
            + [o.account_id for o in openings]
            + [o.opened_by_id for o in openings]
            + [e.actor_id for e in events if e.actor_id]
        )
        self._load_organisations(
            [i.organisation_id for i in involvements]
            + [n.author_organisation_id for n in held_notes if n.author_organisation_id]
            + note_parts.organisation_ids()
        )
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
                for n in networks_held
                if n.merged_into_id
            ],
            involvements=[self.involvement(i) for i in involvements],
            family_members=[
                FamilyMemberRecord(
                    id=m.id,
                    network_id=m.network_id,
                    person=self.people[m.account_id],
                    relationship=sealed_facts.relationship(self.keys.cipher, m),
                    active=m.active,
                    joined_at=isoformat(m.joined_at),
                )
                for m in family
            ],
            notes=[self.note(n, note_parts) for n in held_notes],
            history_openings=[
                HistoryOpeningRecord(
                    id=o.id,
                    network_id=o.network_id,
                    person=self.person(o.account_id),
                    opened_by=self.person(o.opened_by_id),
                    reason=self.keys.cipher.decrypt(o.reason_sealed, context=f"history-opening:{o.id}"),
                    at=isoformat(o.at),
                )
                for o in openings
            ],
            alerts=[],
            audit_events=[self.event(e) for e in events],
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
        basis = (
            notes.Basis.from_json(decrypt(note.basis_sealed, context=f"basis:{note.id}")) if note.basis_sealed else None
        )
        redaction = None
        if note.redacted_at is not None:
            reason = decrypt(note.redaction_sealed, context=f"redaction:{note.id}") if note.redaction_sealed else None
            redaction = RedactionRecord(
                at=isoformat(note.redacted_at), by=self.person(note.redacted_by_id), reason=reason
            )
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
            basis=BasisRecord(
                kind=basis.kind,
                consent_from=basis.consent_from,
                consented_on=_day(basis.consented_on),
                reason=basis.reason,
                justification=basis.justification,
            )
            if basis
            else None,
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
            redaction=redaction,
        )

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
