"""A note as one viewer is shown it: text, author, audience, basis, replies and acknowledgements, as allowed."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from patchwork import policy
from patchwork.crypto import Keyring
from patchwork.models import Account, Organisation
from patchwork.models.networks import NetworkStatus
from patchwork.models.notes import (
    CATEGORY_LABELS,
    Acknowledgement,
    FamilyMembership,
    Note,
    NoteAudienceOrganisation,
    NoteAudiencePerson,
    NoteFamilyShare,
    NoteReply,
    NoteRevision,
)
from patchwork.services import sealed_facts
from patchwork.services.notes.drafts import Basis
from patchwork.services.notes.standing import Standing
from patchwork.services.visibility import facts_from, sensitive_among

SENSITIVE_AUTHOR = "A practitioner in the network"


@dataclass(frozen=True)
class Revision:
    number: int
    body: str | None
    at: datetime


@dataclass(frozen=True)
class Reply:
    id: str
    author: str
    organisation: str | None
    body: str | None
    at: datetime


@dataclass(frozen=True)
class NoteView:
    note: Note
    body: str | None
    author: str
    organisation: str | None
    audience_words: str  # empty for a family member: they are told only that the note is shared with them
    family_words: str
    basis: Basis | None
    revisions: list[Revision]
    replies: list[Reply]
    acknowledged_by: list[str] | None
    acknowledged_by_me: bool
    can_revise: bool = False
    can_redact: bool = False
    can_reply: bool = False
    can_acknowledge: bool = False
    organisation_ids: list[str] = field(default_factory=list)
    user_ids: list[str] = field(default_factory=list)
    family_user_ids: list[str] = field(default_factory=list)
    audience_shown: bool = True  # a family member is shown no practitioner audience at all
    redacted_by: str | None = None  # who redacted it (a sensitive practitioner shown as one, to a family member)
    plain: bool = False  # a family member's card: who, when, what and "Shared with you"; no level, audience or basis

    @property
    def redacted(self) -> bool:
        return self.note.redacted_at is not None

    @property
    def edited(self) -> bool:
        return self.note.revision_count > 1

    @property
    def category_label(self) -> str:
        return CATEGORY_LABELS.get(self.note.category, self.note.category)


# Built once: every list of notes asks these.
_NAMES = select(Account.id, Account.name).where(col(Account.id).in_(bindparam("ids", expanding=True)))
_ORGANISATION_NAMES = select(Organisation.id, Organisation.name).where(
    col(Organisation.id).in_(bindparam("ids", expanding=True))
)


@dataclass
class Related:
    """What a list of notes shows besides the notes themselves, read in a fixed number of queries."""

    replies: dict[str, list[NoteReply]] = field(default_factory=lambda: defaultdict(list))
    revisions: dict[str, list[NoteRevision]] = field(default_factory=lambda: defaultdict(list))
    acks: dict[str, list[Acknowledgement]] = field(default_factory=lambda: defaultdict(list))
    audience_orgs: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    audience_people: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    family_shares: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    people: set[str] = field(default_factory=set)  # everyone named: authors, repliers, acknowledgers, audiences
    names: dict[str, str] = field(default_factory=dict)
    organisations: dict[str, str] = field(default_factory=dict)
    relationships: dict[str, str] = field(default_factory=dict)
    hidden_people: set[str] = field(default_factory=set)  # sensitive practitioners, for a viewer who may not see them

    def facts(self, note: Note) -> policy.NoteFacts:
        return facts_from(
            note,
            organisations=self.audience_orgs[note.id],
            people=self.audience_people[note.id],
            shares=self.family_shares[note.id],
        )


class Seeing(NamedTuple):
    """Everything a viewer's view of one note depends on besides the note itself: the policy's answers for this
    viewer and note. Two viewers with the same Seeing are shown the same thing, so a view is rendered once for
    them all (live delivery shares it between every connection that sees the note alike)."""

    parts: policy.NoteParts
    author_shown: bool
    sensitive_shown: bool  # a sensitive replier, acknowledger or redactor is named
    acknowledgements: bool
    acknowledged_by_me: bool
    shared_with_me: bool
    can_revise: bool
    can_redact: bool
    can_reply: bool
    can_acknowledge: bool


def views(
    *,
    session: Session,
    keys: Keyring,
    place: Standing,
    notes: list[Note],
    written: Mapping[str, policy.NoteFacts] | None = None,
) -> list[NoteView]:
    """Everything a list shows about its notes, in a fixed number of queries however many notes there are.
    Notes in `written` were posted in this transaction: they have no replies or acknowledgements yet, and their
    audience is in their facts, so none of that is read."""
    if not notes:
        return []
    sensitive_shown = bool(policy.sees_person(place.viewer, sensitive=True))
    related = gather(
        session, keys, place.network.id, notes, written=written, me=place.account, hidden=not sensitive_shown
    )
    network_open = place.network.status == NetworkStatus.open
    return [
        render(keys, note, related, seeing(place.viewer, note, related, network_open=network_open)) for note in notes
    ]


def gather(
    session: Session,
    keys: Keyring,
    network_id: str,
    notes: list[Note],
    *,
    written: Mapping[str, policy.NoteFacts] | None = None,
    audiences: Mapping[str, policy.NoteFacts] | None = None,
    me: Account | None = None,
    hidden: bool = True,
    organisations: Mapping[str, str] | None = None,
) -> Related:
    """What `render` needs of these notes besides the notes, for any viewer (`hidden`: also who of the people
    named is a sensitive practitioner, for viewers who may not see them; `me`: the viewer, when there is one;
    `organisations`: names the caller has read already, by id). A note's audience never changes once posted: for
    notes in `audiences` it is taken from their facts."""
    written = written or {}
    known = {**(audiences or {}), **written}
    related = Related(people={n.author_id for n in notes} | {n.redacted_by_id for n in notes if n.redacted_by_id})
    for note_id, facts in known.items():
        related.audience_orgs[note_id] |= facts.audience_organisations
        related.audience_people[note_id] |= facts.audience_people
        related.family_shares[note_id] |= facts.family_shares
        related.people |= facts.audience_people | facts.family_shares
    ids = [n.id for n in notes if n.id not in written]
    if ids:
        revised = [n.id for n in notes if n.revision_count > 1]
        unknown = [note_id for note_id in ids if note_id not in known]
        _read_related(session, related, ids, revised=revised, unknown_audience=unknown)
    _read_names(session, keys, network_id, notes, related, me=me, hidden=hidden, organisations=organisations or {})
    return related


def seeing(
    viewer: policy.NoteViewer,
    note: Note,
    related: Related,
    *,
    network_open: bool,
    facts: policy.NoteFacts | None = None,
) -> Seeing:
    facts = facts or related.facts(note)
    redacted = note.redacted_at is not None
    me = viewer.account_id
    acknowledged_by_me = any(a.account_id == me for a in related.acks[note.id])
    return Seeing(
        policy.note_parts(viewer, facts),
        bool(policy.sees_person(viewer, sensitive=note.author_sensitive, own=facts.author_id == me)),
        bool(policy.sees_person(viewer, sensitive=True)),
        bool(policy.see_acknowledgements(viewer, facts)),
        acknowledged_by_me,
        me in facts.family_shares,
        not redacted and bool(policy.revise_note(viewer, facts)),
        not redacted and bool(policy.redact_note(viewer, facts)),
        not redacted and network_open and bool(policy.reply_to_note(viewer, facts)),
        not redacted and not acknowledged_by_me and bool(policy.acknowledge_note(viewer, facts)),
    )


def render(keys: Keyring, note: Note, related: Related, seen: Seeing) -> NoteView:
    """The note as a viewer with this Seeing is shown it: nothing of the viewer is used but `seen`."""
    facts = related.facts(note)
    parts = seen.parts
    redacted = note.redacted_at is not None
    hidden = set() if seen.sensitive_shown else related.hidden_people
    return NoteView(
        note=note,
        body=None if redacted else keys.cipher.decrypt(note.body_sealed, context=f"note:{note.id}"),
        author=related.names.get(note.author_id, "Unknown") if seen.author_shown else SENSITIVE_AUTHOR,
        organisation=related.organisations.get(note.author_organisation_id or "") if seen.author_shown else None,
        audience_words=_audience_words(facts, related) if parts.audience_words else "",
        audience_shown=parts.audience_detail,
        plain=parts.plain,
        family_words=_family_words(related.family_shares[note.id], related, parts, shared_with_me=seen.shared_with_me),
        basis=Basis.from_json(keys.cipher.decrypt(note.basis_sealed, context=f"basis:{note.id}"))
        if note.basis_sealed and parts.basis
        else None,
        revisions=[
            Revision(
                number=r.number,
                body=None if redacted else keys.cipher.decrypt(r.body_sealed, context=f"revision:{r.id}"),
                at=r.created_at,
            )
            for r in related.revisions[note.id]
        ],
        replies=[_reply(keys, r, related, redacted, hidden) for r in related.replies[note.id]]
        if parts.others_replies
        else [],
        acknowledged_by=[_person(a.account_id, related, hidden) for a in related.acks[note.id]]
        if seen.acknowledgements
        else None,
        acknowledged_by_me=seen.acknowledged_by_me,
        can_revise=seen.can_revise,
        can_redact=seen.can_redact,
        can_reply=seen.can_reply,
        can_acknowledge=seen.can_acknowledge,
        redacted_by=_person(note.redacted_by_id, related, hidden) if redacted and note.redacted_by_id else None,
        organisation_ids=sorted(facts.audience_organisations) if parts.audience_detail else [],
        user_ids=sorted(facts.audience_people) if parts.audience_detail else [],
        family_user_ids=sorted(facts.family_shares) if parts.audience_detail else [],
    )


def _read_related(
    session: Session, related: Related, ids: list[str], *, revised: list[str], unknown_audience: list[str]
) -> None:
    for row in session.exec(
        select(NoteReply).where(col(NoteReply.note_id).in_(ids)).order_by(col(NoteReply.created_at))
    ).all():
        related.replies[row.note_id].append(row)
        related.people.add(row.author_id)
    if revised:
        for revision in session.exec(
            select(NoteRevision).where(col(NoteRevision.note_id).in_(revised)).order_by(col(NoteRevision.number))
        ).all():
            related.revisions[revision.note_id].append(revision)
    for ack in session.exec(
        select(Acknowledgement).where(col(Acknowledgement.note_id).in_(ids)).order_by(col(Acknowledgement.at))
    ).all():
        related.acks[ack.note_id].append(ack)
        related.people.add(ack.account_id)
    if not unknown_audience:
        return
    ids = unknown_audience
    for note_id, organisation_id in session.exec(
        select(NoteAudienceOrganisation.note_id, NoteAudienceOrganisation.organisation_id).where(
            col(NoteAudienceOrganisation.note_id).in_(ids)
        )
    ).all():
        related.audience_orgs[note_id].add(organisation_id)
    for note_id, account_id in session.exec(
        select(NoteAudiencePerson.note_id, NoteAudiencePerson.account_id).where(
            col(NoteAudiencePerson.note_id).in_(ids)
        )
    ).all():
        related.audience_people[note_id].add(account_id)
        related.people.add(account_id)
    for note_id, account_id in session.exec(
        select(NoteFamilyShare.note_id, NoteFamilyShare.account_id).where(col(NoteFamilyShare.note_id).in_(ids))
    ).all():
        related.family_shares[note_id].add(account_id)
        related.people.add(account_id)


def _read_names(
    session: Session,
    keys: Keyring,
    network_id: str,
    notes: list[Note],
    related: Related,
    *,
    me: Account | None,
    hidden: bool,
    organisations: Mapping[str, str],
) -> None:
    related.names = (
        {me.id: me.name}
        if me is not None and related.people == {me.id}
        else dict(session.exec(_NAMES, params={"ids": list(related.people)}).all())
    )
    organisation_ids = {n.author_organisation_id for n in notes if n.author_organisation_id}
    organisation_ids |= {
        r.author_organisation_id for rs in related.replies.values() for r in rs if r.author_organisation_id
    }
    organisation_ids |= {o for orgs in related.audience_orgs.values() for o in orgs}
    unknown = organisation_ids - organisations.keys()
    related.organisations = {o: organisations[o] for o in organisation_ids - unknown}
    if unknown:
        related.organisations |= dict(session.exec(_ORGANISATION_NAMES, params={"ids": list(unknown)}).all())
    if any(related.family_shares.values()):
        related.relationships = {
            m.account_id: sealed_facts.relationship(keys.cipher, m)
            for m in session.exec(select(FamilyMembership).where(FamilyMembership.network_id == network_id))
        }
    if hidden:
        repliers = {r.author_id for rs in related.replies.values() for r in rs}
        acknowledgers = {a.account_id for rs in related.acks.values() for a in rs}
        redactors = {n.redacted_by_id for n in notes if n.redacted_by_id}
        related.hidden_people = sensitive_among(session, network_id, repliers | acknowledgers | redactors)


def _person(account_id: str, related: Related, hidden: set[str]) -> str:
    return SENSITIVE_AUTHOR if account_id in hidden else related.names.get(account_id, "Unknown")


def _reply(keys: Keyring, reply: NoteReply, related: Related, redacted: bool, hidden: set[str]) -> Reply:
    return Reply(
        id=reply.id,
        author=_person(reply.author_id, related, hidden),
        organisation=None
        if reply.author_id in hidden
        else related.organisations.get(reply.author_organisation_id or ""),
        body=None if redacted else keys.cipher.decrypt(reply.body_sealed, context=f"reply:{reply.id}"),
        at=reply.created_at,
    )


def _audience_words(facts: policy.NoteFacts, related: Related) -> str:
    return policy.audience_words(
        kind=facts.kind,
        audience=facts.audience,
        organisations=(related.organisations.get(o, "an organisation") for o in facts.audience_organisations),
        people=(related.names.get(p, "a member") for p in facts.audience_people),
    )


def _family_words(shares: set[str], related: Related, parts: policy.NoteParts, *, shared_with_me: bool) -> str:
    if not parts.audience_detail:
        return "Shared with you" if shared_with_me else ""
    if not shares:
        return "Not shared with the family"
    described = [
        f"{related.names.get(s, 'a family member')} ({related.relationships.get(s, 'family')})" for s in sorted(shares)
    ]
    return "Shared with " + ", ".join(described)
