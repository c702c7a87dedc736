"""Drafting a note: what a form or the API sends, checked field by field before anything is written."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import bindparam, select
from sqlmodel import Session

from patchwork import limits, policy
from patchwork.crypto import Keyring
from patchwork.errors import DomainError, Invalid
from patchwork.models.networks import Child, Network
from patchwork.models.notes import (
    CATEGORY_LABELS,
    REASON_LABELS,
    AudienceKind,
    BasisKind,
    Level,
)
from patchwork.services import children
from patchwork.services.validation import refused_character
from patchwork.statements import Statement

MAX_BODY = limits.NOTE_BODY


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


_CHILDREN = Child.__table__  # type: ignore[attr-defined]
_SEALED_IDENTITY = Statement(select(_CHILDREN.c.sealed_identity).where(_CHILDREN.c.id == bindparam("child_id")))


def check_observed_on(
    *, session: Session, keys: Keyring, network: Network, observed_on: date, sealed_identity: str | None = None
) -> None:
    """A note is observed no earlier than the child was born (and, by clean_draft, not in the future). Every post
    asks, so the child's sealed identity alone is read (or given, read with the poster's standing), not the child
    through the session."""
    if sealed_identity is None:
        session.flush()  # a child new in this unit of work is read too
        found = _SEALED_IDENTITY.rows(session.connection(), {"child_id": network.child_id})
        assert found
        sealed_identity = found[0][0]
    child = Child.model_construct(id=network.child_id, sealed_identity=sealed_identity)
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
    names = policy.audience_names(str(audience))
    if names.organisations and not organisation_ids and "organisation_ids" not in fields:
        fields["organisation_ids"] = "Choose at least one organisation"
    if names.people and not user_ids and "user_ids" not in fields:
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
        organisation_ids=organisation_ids if names.organisations else frozenset(),
        user_ids=user_ids if names.people else frozenset(),
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


REFERRAL_ROUTE_UNCONFIRMED = "Confirm that you have followed the referral route, or will now"


def referral_route_unconfirmed(draft: Draft, *, acknowledged: bool) -> bool:
    """An urgent note waits until its author confirms the referral route; a form can say so at any step."""
    return draft.level == Level.urgent and not acknowledged
