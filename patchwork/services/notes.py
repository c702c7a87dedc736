"""Notes: post, read (feed, chronology, one note), revise, redact, reply, acknowledge, open history."""

from __future__ import annotations

import base64
import binascii
import json
import unicodedata
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from sqlalchemy import and_, bindparam, func, or_
from sqlmodel import Session, col, select

from patchwork import limits, policy
from patchwork.clock import utcnow
from patchwork.crypto import Keyring
from patchwork.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from patchwork.models import Account, Organisation
from patchwork.models.networks import Child, Involvement, InvolvementStatus, Network, NetworkStatus
from patchwork.models.notes import (
    CATEGORY_LABELS,
    REASON_LABELS,
    Acknowledgement,
    AudienceKind,
    BasisKind,
    FamilyMembership,
    HistoryOpening,
    Level,
    Note,
    NoteAudienceOrganisation,
    NoteAudiencePerson,
    NoteFamilyShare,
    NoteKind,
    NoteReply,
    NoteRevision,
)
from patchwork.services import alerts, audit, changes, children, rows, sealed_facts
from patchwork.services.note_queries import facts_of, member_viewer, standing_in, viewer_in, visible
from patchwork.services.validation import refused_character

MAX_BODY = limits.NOTE_BODY
DEFAULT_THRESHOLDS = policy.AlertThresholds()
FEED_PAGE = 20
MAX_PAGE = 100
CHRONOLOGY_LIMIT = 5000
SENSITIVE_AUTHOR = "A practitioner in the network"


class ReferralRouteNotAcknowledged(DomainError):
    status = 422
    code = "referral_route_not_acknowledged"


@dataclass(frozen=True)
class NoteInput:
    """What a form or the API sends, unchecked."""

    body: object
    category: object = None
    level: object = None
    observed_on: object = None
    audience: object = "network"
    organisation_ids: Sequence[object] = ()
    user_ids: Sequence[object] = ()
    family_user_ids: Sequence[object] = ()
    basis: object = None
    consent_from: object = None
    consented_on: object = None
    reason: object = None
    justification: object = None
    referral_route_acknowledged: bool = False


@dataclass(frozen=True)
class Basis:
    kind: str
    consent_from: str | None = None
    consented_on: date | None = None
    reason: str | None = None
    justification: str | None = None

    def to_json(self) -> str:
        return json.dumps(
            {
                "kind": self.kind,
                "consent_from": self.consent_from,
                "consented_on": self.consented_on.isoformat() if self.consented_on else None,
                "reason": self.reason,
                "justification": self.justification,
            },
            ensure_ascii=False,  # as written: an escape would take up to 12 characters for one (see BASIS_SEALED)
        )

    @classmethod
    def from_json(cls, raw: str) -> Basis:
        data = json.loads(raw)
        consented = data.get("consented_on")
        return cls(
            kind=data["kind"],
            consent_from=data.get("consent_from"),
            consented_on=date.fromisoformat(consented) if consented else None,
            reason=data.get("reason"),
            justification=data.get("justification"),
        )

    @property
    def words(self) -> str:
        if self.kind == BasisKind.consent:
            when = f" on {self.consented_on.strftime('%-d %B %Y')}" if self.consented_on else ""
            return f"Shared with consent from {self.consent_from}{when}"
        reason = REASON_LABELS.get(self.reason or "", self.reason or "")
        return f"Shared without consent: {reason.lower()}. {self.justification}"


@dataclass(frozen=True)
class Draft:
    body: str
    category: str
    level: str
    observed_on: date
    audience: str
    organisation_ids: frozenset[str]
    user_ids: frozenset[str]
    family_user_ids: frozenset[str]
    basis: Basis


def _text(fields: dict[str, str], key: str, value: object, label: str, max_length: int, required: bool = True) -> str:
    if value is None or value == "":
        if required:
            fields[key] = f"Enter {label}"
        return ""
    if not isinstance(value, str):
        fields[key] = f"{label[0].upper()}{label[1:]} must be text"
        return ""
    cleaned = unicodedata.normalize("NFC", value.replace("\r\n", "\n").strip())
    if required and not cleaned:
        fields[key] = f"Enter {label}"
    elif len(cleaned) > max_length:
        fields[key] = f"{label[0].upper()}{label[1:]} must be {max_length:,} characters or fewer"
    elif (refused := refused_character(cleaned, multiline=True)) is not None:
        fields[key] = f"{label[0].upper()}{label[1:]} must not contain {refused}"
    return cleaned


def _date(fields: dict[str, str], key: str, value: object, label: str, today: date) -> date | None:
    if isinstance(value, date):
        parsed: date | None = value
    elif isinstance(value, str) and value:
        try:
            parsed = date.fromisoformat(value)
        except ValueError:
            fields[key] = f"{label} must be a real date"
            return None
    else:
        fields[key] = f"Enter {label.lower()}"
        return None
    if parsed is not None and parsed > today:
        fields[key] = f"{label} must be today or in the past"
        return None
    return parsed


def _ids(fields: dict[str, str], key: str, values: Sequence[object], message: str) -> frozenset[str]:
    if not all(isinstance(v, str) and 0 < len(v) <= 36 for v in values):
        fields[key] = message
        return frozenset()
    return frozenset(str(v) for v in values)


def clean_body(value: object, label: str = "the note") -> str:
    fields: dict[str, str] = {}
    body = _text(fields, "body", value, label, MAX_BODY)
    if fields:
        raise Invalid(fields)
    return body


def check_observed_on(*, session: Session, keys: Keyring, network: Network, observed_on: date) -> None:
    """A note is observed no earlier than the child was born (and, by clean_draft, not in the future)."""
    child = session.get(Child, network.child_id)
    assert child is not None
    born = children.open_identity(keys.cipher, child).date_of_birth
    if observed_on < born:
        raise Invalid({"observed_on": "Date observed must be on or after the date the child was born"})


def clean_draft(raw: NoteInput, *, today: date) -> Draft:
    fields: dict[str, str] = {}
    body = _text(fields, "body", raw.body, "the note", MAX_BODY)
    category = raw.category if isinstance(raw.category, str) and raw.category in CATEGORY_LABELS else ""
    if not category:
        fields["category"] = "Choose what the note is about"
    level = raw.level if raw.level in (Level.observation, Level.concern, Level.urgent) else ""
    if not level:
        fields["level"] = "Choose how worried you are"
    observed = _date(fields, "observed_on", raw.observed_on, "Date observed", today)
    audience = raw.audience if raw.audience in tuple(AudienceKind) else ""
    if not audience:
        fields["audience"] = "Choose who can see the note"
    organisation_ids = _ids(fields, "organisation_ids", raw.organisation_ids, "Choose organisations in this network")
    user_ids = _ids(fields, "user_ids", raw.user_ids, "Choose people in this network")
    family_ids = _ids(fields, "family_user_ids", raw.family_user_ids, "Choose family members of this network")
    if audience == AudienceKind.organisations and not organisation_ids and "organisation_ids" not in fields:
        fields["organisation_ids"] = "Choose at least one organisation"
    if audience == AudienceKind.people and not user_ids and "user_ids" not in fields:
        fields["user_ids"] = "Choose at least one person"
    basis = _basis(fields, raw, today)
    if fields:
        raise Invalid(fields)
    assert observed is not None and basis is not None
    return Draft(
        body=body,
        category=category,
        level=str(level),
        observed_on=observed,
        audience=str(audience),
        organisation_ids=organisation_ids if audience == AudienceKind.organisations else frozenset(),
        user_ids=user_ids if audience == AudienceKind.people else frozenset(),
        family_user_ids=family_ids,
        basis=basis,
    )


def _basis(fields: dict[str, str], raw: NoteInput, today: date) -> Basis | None:
    if raw.basis == BasisKind.consent:
        consent_from = _text(fields, "consent_from", raw.consent_from, "who gave consent", limits.CONSENT_FROM)
        consented_on = _date(fields, "consented_on", raw.consented_on, "Date consent was given", today)
        return Basis(kind=BasisKind.consent, consent_from=consent_from, consented_on=consented_on)
    if raw.basis == BasisKind.without_consent:
        reason = raw.reason if isinstance(raw.reason, str) and raw.reason in REASON_LABELS else None
        if reason is None:
            fields["reason"] = "Choose the reason for sharing without consent"
        justification = _text(
            fields, "justification", raw.justification, "why you are sharing without consent", limits.JUSTIFICATION
        )
        return Basis(kind=BasisKind.without_consent, reason=reason, justification=justification)
    fields["basis"] = "Choose whether you have consent to share"
    return None


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

    @property
    def redacted(self) -> bool:
        return self.note.redacted_at is not None

    @property
    def edited(self) -> bool:
        return self.note.revision_count > 1

    @property
    def category_label(self) -> str:
        return CATEGORY_LABELS.get(self.note.category, self.note.category)


@dataclass(frozen=True)
class NotePage:
    notes: list[NoteView]
    next_cursor: str | None


@dataclass(frozen=True)
class ChronologyFilters:
    categories: frozenset[str] = frozenset()
    levels: frozenset[str] = frozenset()
    organisation_ids: frozenset[str] = frozenset()
    observed_from: date | None = None
    observed_to: date | None = None


@dataclass(frozen=True)
class Standing:
    account: Account
    network: Network
    viewer: policy.NoteViewer
    involvement: Involvement | None = None  # the viewer's, when they are a practitioner member


def _network_for(session: Session, account: Account, network_id: str) -> Standing:
    network = session.get(Network, network_id) if len(network_id) == 36 else None
    while network is not None and network.merged_into_id:
        network = session.get(Network, network.merged_into_id)
    if network is None:
        raise NotFound("No such network")
    viewer, involvement = standing_in(session, account, network)
    if not (viewer.member or viewer.family_member):
        raise NotFound("No such network")
    return Standing(account=account, network=network, viewer=viewer, involvement=involvement)


def standing(*, session: Session, account: Account, network_id: str) -> Standing:
    return _network_for(session, account, network_id)


def _members(session: Session, network_id: str) -> list[tuple[Involvement, Account]]:
    return list(
        session.exec(
            select(Involvement, Account)
            .join(Account, col(Account.id) == Involvement.account_id)
            .where(Involvement.network_id == network_id, Involvement.status == InvolvementStatus.active)
        ).all()
    )


def _family(session: Session, network_id: str) -> list[tuple[FamilyMembership, Account]]:
    return list(
        session.exec(
            select(FamilyMembership, Account)
            .join(Account, col(Account.id) == FamilyMembership.account_id)
            .where(FamilyMembership.network_id == network_id, FamilyMembership.active == True)  # noqa: E712
        ).all()
    )


def _check_audience(session: Session, network: Network, draft: Draft) -> None:
    """Only members may be chosen: asks about the chosen ones alone, so a large network costs nothing extra."""
    fields: dict[str, str] = {}
    if not (draft.organisation_ids or draft.user_ids or draft.family_user_ids):
        return
    active = (Involvement.network_id == network.id, Involvement.status == InvolvementStatus.active)
    if draft.organisation_ids:
        found = session.exec(
            select(Involvement.organisation_id).where(
                *active, col(Involvement.organisation_id).in_(draft.organisation_ids)
            )
        ).all()
        if set(found) != draft.organisation_ids:
            fields["organisation_ids"] = "Choose only organisations that are involved in this network"
    if draft.user_ids:
        found = session.exec(
            select(Involvement.account_id).where(*active, col(Involvement.account_id).in_(draft.user_ids))
        ).all()
        if set(found) != draft.user_ids:
            fields["user_ids"] = "Choose only people who are members of this network"
    if draft.family_user_ids:
        found = session.exec(
            select(FamilyMembership.account_id).where(
                FamilyMembership.network_id == network.id,
                FamilyMembership.active == True,  # noqa: E712
                col(FamilyMembership.account_id).in_(draft.family_user_ids),
            )
        ).all()
        if set(found) != draft.family_user_ids:
            fields["family_user_ids"] = "Choose only family members of this network"
    if fields:
        raise Invalid(fields)


REFERRAL_ROUTE_UNCONFIRMED = "Confirm that you have followed the referral route, or will now"


def referral_route_unconfirmed(draft: Draft, *, acknowledged: bool) -> bool:
    """An urgent note waits until its author confirms the referral route; a form can say so at any step."""
    return draft.level == Level.urgent and not acknowledged


def check_audience(*, session: Session, account: Account, network_id: str, draft: Draft) -> None:
    """The audience check post_note makes, for a form's check-before-posting step."""
    place = _network_for(session, account, network_id)
    _check_audience(session, place.network, draft)


def family_choices(*, session: Session, keys: Keyring, account: Account, network_id: str) -> list[tuple[str, str]]:
    """The network's family members a note can be shared with: (account id, "Name (relationship)")."""
    place = _network_for(session, account, network_id)
    if place.viewer.kind != "practitioner":
        return []
    return sorted(
        (
            (a.id, f"{a.name} ({sealed_facts.relationship(keys.cipher, m)})")
            for m, a in _family(session, place.network.id)
        ),
        key=lambda pair: pair[1],
    )


def network_of_note(*, session: Session, account: Account, note_id: str) -> str:
    """The network of a note the viewer may see (404 otherwise, like any other path)."""
    return _visible_note(session, account, note_id).note.network_id


@dataclass(frozen=True)
class Posted:
    """A note just written, with its author's standing and its facts: its author's answer is made from these,
    not read back."""

    note: Note
    place: Standing
    facts: policy.NoteFacts


def post_note(
    *,
    session: Session,
    keys: Keyring,
    account: Account,
    network_id: str,
    draft: Draft,
    referral_route: str,
    referral_route_acknowledged: bool,
    thresholds: policy.AlertThresholds = DEFAULT_THRESHOLDS,
) -> Posted:
    place = _network_for(session, account, network_id)
    if place.viewer.kind != "practitioner":
        raise NotFound("No such network")
    decision = policy.post_note(place.viewer, network_status=place.network.status)
    if not decision:
        raise Conflict("This network is closed; notes cannot be added", code="network_closed")
    _check_audience(session, place.network, draft)
    check_observed_on(session=session, keys=keys, network=place.network, observed_on=draft.observed_on)
    if referral_route_unconfirmed(draft, acknowledged=referral_route_acknowledged):
        raise ReferralRouteNotAcknowledged(
            "An urgent note does not replace a referral. " + referral_route + " Confirm that you have followed "
            "the referral route, or will, to post this note."
        )
    involvement = place.involvement
    if involvement is None:  # not a practitioner member (the policy has said so already)
        raise NotFound("No such network")
    now = utcnow()
    note = Note(
        network_id=place.network.id,
        author_id=account.id,
        author_organisation_id=involvement.organisation_id,
        author_sensitive=involvement.sensitive,
        kind=NoteKind.practitioner,
        category=draft.category,
        level=draft.level,
        observed_on=draft.observed_on,
        audience=draft.audience,
        basis=draft.basis.kind,
        body_sealed="",
        created_at=now,
        updated_at=now,
    )
    note.body_sealed = keys.cipher.encrypt(draft.body, context=f"note:{note.id}")
    note.basis_sealed = keys.cipher.encrypt(draft.basis.to_json(), context=f"basis:{note.id}")
    rows.add(session, note)
    _first_revision(session, keys, note, draft.body, account.id)
    rows.add_all(
        session, (NoteAudienceOrganisation(note_id=note.id, organisation_id=i) for i in draft.organisation_ids)
    )
    rows.add_all(session, (NoteAudiencePerson(note_id=note.id, account_id=u) for u in draft.user_ids))
    rows.add_all(session, (NoteFamilyShare(note_id=note.id, account_id=f) for f in draft.family_user_ids))
    _touch(session, place.network)
    facts = policy.NoteFacts(
        author_id=account.id,
        kind=note.kind,
        audience=note.audience,
        audience_organisations=draft.organisation_ids,
        audience_people=draft.user_ids,
        family_shares=draft.family_user_ids,
        created_at=note.created_at,
    )
    changes.record(
        session=session,
        keys=keys,
        action="note.created",
        event="note.created",
        actor_id=account.id,
        network_id=place.network.id,
        target_type="note",
        target_id=note.id,
        details={"level": draft.level, "audience": draft.audience},
        note=facts,
        note_id=note.id,
    )
    alerts.evaluate(
        session=session,
        keys=keys,
        network_id=place.network.id,
        thresholds=thresholds,
        actor_id=account.id,
        network=place.network,
        changed_levels=(note.level,),
    )
    return Posted(note=note, place=place, facts=facts)


def post_family_voice(*, session: Session, keys: Keyring, account: Account, network_id: str, body: object) -> Posted:
    place = _network_for(session, account, network_id)
    if place.viewer.kind != "family":
        raise NotFound("No such network")
    if not policy.post_note(place.viewer, network_status=place.network.status):
        raise Conflict("This network is closed; nothing can be added", code="network_closed")
    text = clean_body(body, "your account")
    now = utcnow()
    note = Note(
        network_id=place.network.id,
        author_id=account.id,
        kind=NoteKind.family_voice,
        category="other",
        level=Level.observation,
        observed_on=now.date(),
        audience=AudienceKind.network,
        body_sealed="",
        created_at=now,
        updated_at=now,
    )
    note.body_sealed = keys.cipher.encrypt(text, context=f"note:{note.id}")
    rows.add(session, note)
    _first_revision(session, keys, note, text, account.id)
    _touch(session, place.network)
    facts = policy.NoteFacts(
        author_id=account.id,
        kind=note.kind,
        audience=note.audience,
        audience_organisations=frozenset(),
        audience_people=frozenset(),
        family_shares=frozenset(),
        created_at=note.created_at,
    )
    changes.record(
        session=session,
        keys=keys,
        action="note.created",
        event="note.created",
        actor_id=account.id,
        network_id=place.network.id,
        target_type="note",
        target_id=note.id,
        details={"kind": "family_voice"},
        note=facts,
        note_id=note.id,
    )
    return Posted(note=note, place=place, facts=facts)


def _first_revision(session: Session, keys: Keyring, note: Note, body: str, author_id: str) -> None:
    revision = NoteRevision(note_id=note.id, number=1, body_sealed="", author_id=author_id, created_at=note.created_at)
    revision.body_sealed = keys.cipher.encrypt(body, context=f"revision:{revision.id}")
    rows.add_all(session, [revision])


def _touch(session: Session, network: Network) -> None:
    rows.touch(session, network, utcnow())


@dataclass(frozen=True)
class Visible:
    note: Note
    place: Standing
    facts: policy.NoteFacts


def _visible_note(session: Session, account: Account, note_id: str) -> Visible:
    """The single-note path: the policy itself decides, and a note the viewer may not see does not exist."""
    note = session.get(Note, note_id) if isinstance(note_id, str) and len(note_id) == 36 else None
    if note is None:
        raise NotFound("No such note")
    network = session.get(Network, note.network_id)
    if network is None:
        raise NotFound("No such note")
    viewer = viewer_in(session, account, network)
    facts = facts_of(session, note)
    if not policy.see_note(viewer, facts, history_rule=network.history_rule):
        raise NotFound("No such note")
    return Visible(note=note, place=Standing(account=account, network=network, viewer=viewer), facts=facts)


def revise(
    *,
    session: Session,
    keys: Keyring,
    account: Account,
    note_id: str,
    body: object,
    level: object = None,
    thresholds: policy.AlertThresholds = DEFAULT_THRESHOLDS,
) -> Note:
    """A new text (and, if given, a new level) for a note by its author; alerts are judged again."""
    found = _visible_note(session, account, note_id)
    note = found.note
    if not policy.revise_note(found.place.viewer, found.facts):
        raise Forbidden("Only the author can revise a note", code="not_author")
    if note.redacted_at is not None:
        raise Conflict("A redacted note cannot be revised", code="note_redacted")
    if level is not None and (note.kind != NoteKind.practitioner or level not in tuple(Level)):
        raise Invalid({"level": "Choose how worried you are"})
    text = clean_body(body)
    previous_level = note.level
    if level is not None:
        note.level = str(level)
    number = note.revision_count + 1
    revision = NoteRevision(note_id=note.id, number=number, body_sealed="", author_id=account.id)
    revision.body_sealed = keys.cipher.encrypt(text, context=f"revision:{revision.id}")
    session.add(revision)
    note.body_sealed = keys.cipher.encrypt(text, context=f"note:{note.id}")
    note.revision_count = number
    note.updated_at = utcnow()
    session.add(note)
    _touch(session, found.place.network)
    changes.record(
        session=session,
        keys=keys,
        action="note.revised",
        event="note.revised",
        note=found.facts,
        actor_id=account.id,
        network_id=note.network_id,
        target_type="note",
        target_id=note.id,
        details={"revision": number} | ({"level": note.level} if note.level != previous_level else {}),
        note_id=note.id,
    )
    alerts.evaluate(
        session=session,
        keys=keys,
        network_id=note.network_id,
        thresholds=thresholds,
        actor_id=account.id,
        network=found.place.network,
        changed_levels=(previous_level, note.level),
    )
    return note


def redact(
    *,
    session: Session,
    keys: Keyring,
    account: Account,
    note_id: str,
    reason: object,
    thresholds: policy.AlertThresholds = DEFAULT_THRESHOLDS,
) -> Note:
    found = _visible_note(session, account, note_id)
    note = found.note
    if not policy.redact_note(found.place.viewer, found.facts):
        raise Forbidden("Only the author or a lead professional can redact a note", code="not_permitted")
    if note.redacted_at is not None:
        raise Conflict("This note has already been redacted", code="already_redacted")
    fields: dict[str, str] = {}
    why = _text(fields, "reason", reason, "the reason for redacting", limits.REDACTION_REASON)
    if fields:
        raise Invalid(fields)
    note.redacted_at = utcnow()
    note.redacted_by_id = account.id
    note.redaction_sealed = keys.cipher.encrypt(why, context=f"redaction:{note.id}")
    note.updated_at = note.redacted_at
    session.add(note)
    _touch(session, found.place.network)
    changes.record(
        session=session,
        keys=keys,
        action="note.redacted",
        event="note.redacted",
        note=found.facts,
        actor_id=account.id,
        network_id=note.network_id,
        target_type="note",
        target_id=note.id,
        note_id=note.id,
    )
    alerts.evaluate(
        session=session,
        keys=keys,
        network_id=note.network_id,
        thresholds=thresholds,
        actor_id=account.id,
        network=found.place.network,
        changed_levels=(note.level,),
    )
    return note


def reply(*, session: Session, keys: Keyring, account: Account, note_id: str, body: object) -> NoteReply:
    found = _visible_note(session, account, note_id)
    if not policy.reply_to_note(found.place.viewer, found.facts):
        raise Forbidden("Only practitioner members can reply", code="not_permitted")
    if found.note.redacted_at is not None:
        raise Conflict("A redacted note cannot be replied to", code="note_redacted")
    if found.place.network.status != NetworkStatus.open:
        raise Conflict("This network is closed; nothing can be added", code="network_closed")
    text = clean_body(body, "your reply")
    answer = NoteReply(
        note_id=found.note.id,
        author_id=account.id,
        author_organisation_id=found.place.viewer.organisation_id,
        body_sealed="",
    )
    answer.body_sealed = keys.cipher.encrypt(text, context=f"reply:{answer.id}")
    session.add(answer)
    _touch(session, found.place.network)
    changes.record(
        session=session,
        keys=keys,
        action="note.replied",
        event="note.replied",
        note=found.facts,
        actor_id=account.id,
        network_id=found.note.network_id,
        target_type="note",
        target_id=found.note.id,
        note_id=found.note.id,
        reply_id=answer.id,
    )
    return answer


def acknowledge(*, session: Session, keys: Keyring, account: Account, note_id: str) -> Acknowledgement:
    found = _visible_note(session, account, note_id)
    decision = policy.acknowledge_note(found.place.viewer, found.facts)
    if not decision:
        raise Forbidden(f"You cannot acknowledge this note: {decision.reason}", code="not_permitted")
    if found.note.redacted_at is not None:
        raise Conflict("A redacted note cannot be acknowledged", code="note_redacted")
    already = session.exec(
        select(Acknowledgement).where(
            Acknowledgement.note_id == found.note.id, Acknowledgement.account_id == account.id
        )
    ).first()
    if already is not None:
        raise Conflict("You have already acknowledged this note", code="already_acknowledged")
    acknowledgement = Acknowledgement(note_id=found.note.id, account_id=account.id)
    session.add(acknowledgement)
    changes.record(
        session=session,
        keys=keys,
        action="note.acknowledged",
        event="note.acknowledged",
        note=found.facts,
        actor_id=account.id,
        network_id=found.note.network_id,
        target_type="note",
        target_id=found.note.id,
        note_id=found.note.id,
    )
    return acknowledgement


def open_history(
    *, session: Session, keys: Keyring, account: Account, network_id: str, user_id: object, reason: object
) -> HistoryOpening:
    place = _network_for(session, account, network_id)
    if not policy.open_history(place.viewer):
        raise Forbidden("Only a lead professional can open the history", code="not_lead")
    fields: dict[str, str] = {}
    why = _text(fields, "reason", reason, "the reason", limits.HISTORY_REASON)
    members = {i.account_id for i, _ in _members(session, place.network.id)}
    if not isinstance(user_id, str) or user_id not in members:
        fields["user_id"] = "Choose a member of this network"
    if fields:
        raise Invalid(fields)
    assert isinstance(user_id, str)
    opening = HistoryOpening(network_id=place.network.id, account_id=user_id, opened_by_id=account.id, reason_sealed="")
    opening.reason_sealed = keys.cipher.encrypt(why, context=f"history-opening:{opening.id}")
    session.add(opening)
    changes.record(
        session=session,
        keys=keys,
        action="history.opened",
        event="history.opened",  # a change of standing: live delivery must take it in order (see realtime)
        actor_id=account.id,
        network_id=place.network.id,
        target_type="account",
        target_id=user_id,
        user_id=user_id,
    )
    return opening


def encode_cursor(note: Note) -> str:
    return base64.urlsafe_b64encode(f"{note.created_at.isoformat()}|{note.id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, note_id = raw.split("|", 1)
        return datetime.fromisoformat(moment), note_id
    except (ValueError, binascii.Error, UnicodeDecodeError) as error:
        raise Invalid({"before": "The page cursor is not valid"}, "The page cursor is not valid") from error


def feed(
    *,
    session: Session,
    keys: Keyring,
    account: Account,
    network_id: str,
    before: str | None = None,
    limit: int = FEED_PAGE,
    known: Standing | None = None,
    audited: bool = False,
) -> NotePage:
    """Newest first, a page at a time, only what the viewer may see (`known`: a standing the caller already has)."""
    place = known or _network_for(session, account, network_id)
    if audited:
        _record_read(session, keys, place, "feed")
    limit = max(1, min(limit, MAX_PAGE))
    query = select(Note).where(
        Note.network_id == place.network.id, visible(place.viewer, history_rule=place.network.history_rule)
    )
    if before:
        moment, note_id = decode_cursor(before)
        query = query.where(
            or_(col(Note.created_at) < moment, and_(col(Note.created_at) == moment, col(Note.id) < note_id))
        )
    rows = list(session.exec(query.order_by(col(Note.created_at).desc(), col(Note.id).desc()).limit(limit + 1)).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return NotePage(
        notes=views(session=session, keys=keys, place=place, notes=rows),
        next_cursor=encode_cursor(rows[-1]) if more and rows else None,
    )


def chronology(
    *,
    session: Session,
    keys: Keyring,
    account: Account,
    network_id: str,
    filters: ChronologyFilters,
    known: Standing | None = None,
    audited: bool = False,
) -> list[NoteView]:
    """By date observed, oldest first, filtered, only what the viewer may see.

    Family members cannot filter by organisation: it could tell them who wrote a note whose author is hidden.
    """
    place = known or _network_for(session, account, network_id)
    if audited:
        _record_read(session, keys, place, "chronology")
    if place.viewer.kind != "practitioner":
        filters = replace(filters, organisation_ids=frozenset())
    query = select(Note).where(
        Note.network_id == place.network.id, visible(place.viewer, history_rule=place.network.history_rule)
    )
    if filters.categories:
        query = query.where(col(Note.category).in_(filters.categories))
    if filters.levels:
        query = query.where(col(Note.level).in_(filters.levels))
    if filters.organisation_ids:
        query = query.where(col(Note.author_organisation_id).in_(filters.organisation_ids))
    if filters.observed_from:
        query = query.where(col(Note.observed_on) >= filters.observed_from)
    if filters.observed_to:
        query = query.where(col(Note.observed_on) <= filters.observed_to)
    rows = session.exec(
        query.order_by(col(Note.observed_on), col(Note.created_at), col(Note.id)).limit(CHRONOLOGY_LIMIT)
    ).all()
    return views(session=session, keys=keys, place=place, notes=list(rows))


def one_note(*, session: Session, keys: Keyring, account: Account, note_id: str, audited: bool = False) -> NoteView:
    found = _visible_note(session, account, note_id)
    if audited:
        _record_read(session, keys, found.place, "note", note_id=found.note.id)
    return views(session=session, keys=keys, place=found.place, notes=[found.note])[0]


def _record_read(session: Session, keys: Keyring, place: Standing, view: str, *, note_id: str | None = None) -> None:
    """A person's read of notes, for the audit trail and the family's access log ("notes.viewed").

    Opt-in (`audited=True`): pages and API reads ask for it; showing back what someone has just written, or a live
    update to a page whose opening was already recorded, does not.
    """
    audit.record(
        session=session,
        key=keys.audit,
        action="notes.viewed",
        actor_id=place.account.id,
        network_id=place.network.id,
        target_type="note" if note_id else None,
        target_id=note_id,
        details={"view": view},
    )


def posted_view(*, session: Session, keys: Keyring, posted: Posted) -> NoteView:
    """What its author is shown of a note just posted, without reading back what was written."""
    return views(
        session=session, keys=keys, place=posted.place, notes=[posted.note], written={posted.note.id: posted.facts}
    )[0]


# Built once: every list of notes asks these.
_NAMES = select(Account.id, Account.name).where(col(Account.id).in_(bindparam("ids", expanding=True)))
_ORGANISATION_NAMES = select(Organisation.id, Organisation.name).where(
    col(Organisation.id).in_(bindparam("ids", expanding=True))
)


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
    written = written or {}
    ids = [n.id for n in notes if n.id not in written]
    viewer = place.viewer
    author_ids = {n.author_id for n in notes}
    replies_by_note: dict[str, list[NoteReply]] = defaultdict(list)
    revisions_by_note: dict[str, list[NoteRevision]] = defaultdict(list)
    acks_by_note: dict[str, list[Acknowledgement]] = defaultdict(list)
    audience_orgs: dict[str, set[str]] = defaultdict(set)
    audience_people: dict[str, set[str]] = defaultdict(set)
    family_shares: dict[str, set[str]] = defaultdict(set)
    for note_id, facts in written.items():
        audience_orgs[note_id] |= facts.audience_organisations
        audience_people[note_id] |= facts.audience_people
        family_shares[note_id] |= facts.family_shares
        author_ids |= facts.audience_people | facts.family_shares
    if ids:
        for row in session.exec(
            select(NoteReply).where(col(NoteReply.note_id).in_(ids)).order_by(col(NoteReply.created_at))
        ).all():
            replies_by_note[row.note_id].append(row)
            author_ids.add(row.author_id)
        revised = [n.id for n in notes if n.revision_count > 1]
        if revised:
            for revision in session.exec(
                select(NoteRevision).where(col(NoteRevision.note_id).in_(revised)).order_by(col(NoteRevision.number))
            ).all():
                revisions_by_note[revision.note_id].append(revision)
        for ack in session.exec(
            select(Acknowledgement).where(col(Acknowledgement.note_id).in_(ids)).order_by(col(Acknowledgement.at))
        ).all():
            acks_by_note[ack.note_id].append(ack)
            author_ids.add(ack.account_id)
        for note_id, organisation_id in session.exec(
            select(NoteAudienceOrganisation.note_id, NoteAudienceOrganisation.organisation_id).where(
                col(NoteAudienceOrganisation.note_id).in_(ids)
            )
        ).all():
            audience_orgs[note_id].add(organisation_id)
        for note_id, account_id in session.exec(
            select(NoteAudiencePerson.note_id, NoteAudiencePerson.account_id).where(
                col(NoteAudiencePerson.note_id).in_(ids)
            )
        ).all():
            audience_people[note_id].add(account_id)
            author_ids.add(account_id)
        for note_id, account_id in session.exec(
            select(NoteFamilyShare.note_id, NoteFamilyShare.account_id).where(col(NoteFamilyShare.note_id).in_(ids))
        ).all():
            family_shares[note_id].add(account_id)
            author_ids.add(account_id)
    names = (
        {place.account.id: place.account.name}
        if author_ids == {place.account.id}
        else dict(session.exec(_NAMES, params={"ids": list(author_ids)}).all())
    )
    organisation_ids = {n.author_organisation_id for n in notes if n.author_organisation_id}
    organisation_ids |= {
        r.author_organisation_id for rs in replies_by_note.values() for r in rs if r.author_organisation_id
    }
    organisation_ids |= {o for orgs in audience_orgs.values() for o in orgs}
    organisations = dict(session.exec(_ORGANISATION_NAMES, params={"ids": list(organisation_ids)}).all())
    relationships = (
        {
            m.account_id: sealed_facts.relationship(keys.cipher, m)
            for m in session.exec(select(FamilyMembership).where(FamilyMembership.network_id == place.network.id))
        }
        if any(family_shares.values())
        else {}
    )
    family_viewer = viewer.kind == "family"
    hidden_people = (
        _sensitive_people(session, place.network.id, replies_by_note, acks_by_note) if family_viewer else set()
    )
    result = []
    for note in notes:
        facts = policy.NoteFacts(
            author_id=note.author_id,
            kind=note.kind,
            audience=note.audience,
            audience_organisations=frozenset(audience_orgs[note.id]),
            audience_people=frozenset(audience_people[note.id]),
            family_shares=frozenset(family_shares[note.id]),
            created_at=note.created_at,
        )
        redacted = note.redacted_at is not None
        hidden_author = family_viewer and note.author_sensitive and note.author_id != viewer.account_id
        show_acks = bool(policy.see_acknowledgements(viewer, facts))
        acks = acks_by_note[note.id]
        result.append(
            NoteView(
                note=note,
                body=None if redacted else keys.cipher.decrypt(note.body_sealed, context=f"note:{note.id}"),
                author=SENSITIVE_AUTHOR if hidden_author else names.get(note.author_id, "Unknown"),
                organisation=None if hidden_author else organisations.get(note.author_organisation_id or ""),
                audience_words=_audience_words(
                    note, audience_orgs[note.id], audience_people[note.id], organisations, names
                )
                if not family_viewer or note.kind == NoteKind.family_voice
                else "",
                audience_shown=not family_viewer,
                family_words=_family_words(
                    family_shares[note.id], names, relationships, family_viewer, viewer.account_id
                ),
                basis=Basis.from_json(keys.cipher.decrypt(note.basis_sealed, context=f"basis:{note.id}"))
                if note.basis_sealed and not family_viewer
                else None,
                revisions=[
                    Revision(
                        number=r.number,
                        body=None if redacted else keys.cipher.decrypt(r.body_sealed, context=f"revision:{r.id}"),
                        at=r.created_at,
                    )
                    for r in revisions_by_note[note.id]
                ],
                replies=[
                    Reply(
                        id=r.id,
                        author=SENSITIVE_AUTHOR if r.author_id in hidden_people else names.get(r.author_id, "Unknown"),
                        organisation=None
                        if r.author_id in hidden_people
                        else organisations.get(r.author_organisation_id or ""),
                        body=None if redacted else keys.cipher.decrypt(r.body_sealed, context=f"reply:{r.id}"),
                        at=r.created_at,
                    )
                    for r in replies_by_note[note.id]
                ]
                if not family_viewer or note.author_id == viewer.account_id
                else [],
                acknowledged_by=[
                    SENSITIVE_AUTHOR if a.account_id in hidden_people else names.get(a.account_id, "Unknown")
                    for a in acks
                ]
                if show_acks
                else None,
                acknowledged_by_me=any(a.account_id == viewer.account_id for a in acks),
                can_revise=not redacted and bool(policy.revise_note(viewer, facts)),
                can_redact=not redacted and bool(policy.redact_note(viewer, facts)),
                can_reply=not redacted
                and place.network.status == NetworkStatus.open
                and bool(policy.reply_to_note(viewer, facts)),
                can_acknowledge=not redacted
                and bool(policy.acknowledge_note(viewer, facts))
                and not any(a.account_id == viewer.account_id for a in acks),
                organisation_ids=sorted(audience_orgs[note.id]) if not family_viewer else [],
                user_ids=sorted(audience_people[note.id]) if not family_viewer else [],
                family_user_ids=sorted(family_shares[note.id]) if not family_viewer else [],
            )
        )
    return result


def _sensitive_people(
    session: Session,
    network_id: str,
    replies: dict[str, list[NoteReply]],
    acks: dict[str, list[Acknowledgement]],
) -> set[str]:
    """Practitioners whose involvement here is sensitive, among those who replied or acknowledged: a family member
    sees no name of theirs, on a reply or an acknowledgement any more than on a note."""
    people = {r.author_id for rs in replies.values() for r in rs} | {a.account_id for rs in acks.values() for a in rs}
    if not people:
        return set()
    return set(
        session.exec(
            select(Involvement.account_id).where(
                Involvement.network_id == network_id,
                col(Involvement.account_id).in_(people),
                Involvement.sensitive == True,  # noqa: E712
            )
        ).all()
    )


def _audience_words(
    note: Note, orgs: set[str], people: set[str], organisations: dict[str, str], names: dict[str, str]
) -> str:
    if note.kind == NoteKind.family_voice:
        return "Every practitioner in the network"
    if note.audience == AudienceKind.lead:
        return "Lead professionals only"
    if note.audience == AudienceKind.organisations:
        return "Members from " + ", ".join(sorted(organisations.get(o, "an organisation") for o in orgs))
    if note.audience == AudienceKind.people:
        return "Only " + ", ".join(sorted(names.get(p, "a member") for p in people))
    return "Everyone in the network"


def _family_words(
    shares: set[str], names: dict[str, str], relationships: dict[str, str], family_viewer: bool, me: str
) -> str:
    if family_viewer:
        return "Shared with you" if me in shares else ""
    if not shares:
        return "Not shared with the family"
    described = [f"{names.get(s, 'a family member')} ({relationships.get(s, 'family')})" for s in sorted(shares)]
    return "Shared with " + ", ".join(described)


@dataclass(frozen=True)
class AudiencePreview:
    people: int
    organisations: int
    family: int

    @property
    def words(self) -> str:
        people = f"{self.people} {'person' if self.people == 1 else 'people'}"
        organisations = f"{self.organisations} {'organisation' if self.organisations == 1 else 'organisations'}"
        family = (
            "not the family"
            if not self.family
            else f"and {self.family} family {'member' if self.family == 1 else 'members'}"
        )
        return f"{people} in {organisations}; {family}"


def preview_audience(
    *,
    session: Session,
    account: Account,
    network_id: str,
    audience: str,
    organisation_ids: frozenset[str],
    user_ids: frozenset[str],
    family_user_ids: frozenset[str],
) -> AudiencePreview:
    """Who will be able to see a note like this, counted the way the policy will decide it."""
    place = _network_for(session, account, network_id)
    facts = policy.NoteFacts(
        author_id=account.id,
        kind=NoteKind.practitioner,
        audience=audience,
        audience_organisations=organisation_ids,
        audience_people=user_ids,
        family_shares=family_user_ids,
        created_at=utcnow(),
    )
    seeing: list[Involvement] = []
    for involvement, _ in _members(session, place.network.id):
        viewer = member_viewer(involvement, history_opened=False)
        if policy.see_note(viewer, facts, history_rule=place.network.history_rule):
            seeing.append(involvement)
    family = {m.account_id for m, _ in _family(session, place.network.id)} & family_user_ids
    return AudiencePreview(
        people=len(seeing), organisations=len({i.organisation_id for i in seeing}), family=len(family)
    )


def count_visible(*, session: Session, account: Account, network_id: str) -> int:
    place = _network_for(session, account, network_id)
    return session.exec(
        select(func.count()).where(
            Note.network_id == place.network.id, visible(place.viewer, history_rule=place.network.history_rule)
        )
    ).one()
