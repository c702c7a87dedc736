"""Weak-signal notes: their audience, family sharing, revisions, replies and acknowledgements.

Every body is sealed (AES-GCM) before it reaches the database; the current body sits on the note
so a feed page needs no join to its history.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from patchwork import limits
from patchwork.clock import utcnow
from patchwork.crypto import sealed_length
from patchwork.models.accounts import new_id
from patchwork.models.family import RELATIONSHIP_LIMIT

# How long a sealed column must be for the longest text the services accept (4 UTF-8 bytes a character).
BODY_SEALED = sealed_length(limits.NOTE_BODY)
BASIS_SEALED = sealed_length(2 * (limits.CONSENT_FROM + limits.JUSTIFICATION) + 200)  # JSON: escapes, keys
REASON_SEALED = sealed_length(max(limits.REDACTION_REASON, limits.HISTORY_REASON))


class Category(StrEnum):
    attendance = "attendance"
    presentation_hygiene = "presentation_hygiene"
    hunger_nutrition = "hunger_nutrition"
    injury = "injury"
    behaviour_wellbeing = "behaviour_wellbeing"
    home_environment = "home_environment"
    adults_around_child = "adults_around_child"
    online = "online"
    health = "health"
    other = "other"


CATEGORY_LABELS: dict[str, str] = {
    "attendance": "Attendance",
    "presentation_hygiene": "Presentation and hygiene",
    "hunger_nutrition": "Hunger and nutrition",
    "injury": "Injury",
    "behaviour_wellbeing": "Behaviour and emotional wellbeing",
    "home_environment": "Home environment",
    "adults_around_child": "Adults around the child",
    "online": "Online",
    "health": "Health",
    "other": "Other",
}


class Level(StrEnum):
    observation = "observation"
    concern = "concern"
    urgent = "urgent"


class AudienceKind(StrEnum):
    network = "network"
    lead = "lead"
    organisations = "organisations"
    people = "people"


class NoteKind(StrEnum):
    practitioner = "practitioner"
    family_voice = "family_voice"


class BasisKind(StrEnum):
    consent = "consent"
    without_consent = "without_consent"


class WithoutConsentReason(StrEnum):
    risk_to_child = "risk_to_child"
    significant_harm = "significant_harm"
    legal_duty = "legal_duty"
    public_task = "public_task"


REASON_LABELS: dict[str, str] = {
    "risk_to_child": "Seeking consent would put the child at risk",
    "significant_harm": "The child is at risk of significant harm",
    "legal_duty": "A legal duty to share",
    "public_task": "Public task",
}


class FamilyMembership(SQLModel, table=True):
    """A parent, carer or the young person, in one network."""

    __tablename__ = "family_membership"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    network_id: str = Field(foreign_key="network.id", max_length=36, index=True)
    account_id: str = Field(foreign_key="account.id", max_length=36, index=True)
    relationship_sealed: str = Field(max_length=sealed_length(RELATIONSHIP_LIMIT))  # encrypted with the data key
    active: bool = True
    joined_at: datetime = Field(default_factory=utcnow)


class Note(SQLModel, table=True):
    __table_args__ = (
        Index("ix_note_network_created", "network_id", "created_at"),
        Index("ix_note_network_observed", "network_id", "observed_on"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    network_id: str = Field(foreign_key="network.id", max_length=36)
    author_id: str = Field(foreign_key="account.id", max_length=36, index=True)
    author_organisation_id: str | None = Field(default=None, foreign_key="organisation.id", max_length=36)
    author_sensitive: bool = False
    kind: str = Field(default=NoteKind.practitioner, max_length=16)
    category: str = Field(default=Category.other, max_length=32)
    level: str = Field(default=Level.observation, max_length=16)
    observed_on: date
    audience: str = Field(default=AudienceKind.network, max_length=16)
    basis: str | None = Field(default=None, max_length=16)
    basis_sealed: str | None = Field(default=None, max_length=BASIS_SEALED)
    body_sealed: str = Field(max_length=BODY_SEALED)
    revision_count: int = 1
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    redacted_at: datetime | None = None
    redacted_by_id: str | None = Field(default=None, max_length=36)
    redaction_sealed: str | None = Field(default=None, max_length=REASON_SEALED)


class NoteAudienceOrganisation(SQLModel, table=True):
    __tablename__ = "note_audience_organisation"

    note_id: str = Field(foreign_key="note.id", primary_key=True, max_length=36)
    organisation_id: str = Field(foreign_key="organisation.id", primary_key=True, max_length=36)


class NoteAudiencePerson(SQLModel, table=True):
    __tablename__ = "note_audience_person"

    note_id: str = Field(foreign_key="note.id", primary_key=True, max_length=36)
    account_id: str = Field(foreign_key="account.id", primary_key=True, max_length=36, index=True)


class NoteFamilyShare(SQLModel, table=True):
    __tablename__ = "note_family_share"

    note_id: str = Field(foreign_key="note.id", primary_key=True, max_length=36)
    account_id: str = Field(foreign_key="account.id", primary_key=True, max_length=36, index=True)


class NoteRevision(SQLModel, table=True):
    __tablename__ = "note_revision"
    __table_args__ = (UniqueConstraint("note_id", "number", name="uq_note_revision_number"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    note_id: str = Field(foreign_key="note.id", max_length=36, index=True)
    number: int
    body_sealed: str = Field(max_length=BODY_SEALED)
    author_id: str = Field(foreign_key="account.id", max_length=36)
    created_at: datetime = Field(default_factory=utcnow)


class NoteReply(SQLModel, table=True):
    __tablename__ = "note_reply"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    note_id: str = Field(foreign_key="note.id", max_length=36, index=True)
    author_id: str = Field(foreign_key="account.id", max_length=36)
    author_organisation_id: str | None = Field(default=None, foreign_key="organisation.id", max_length=36)
    body_sealed: str = Field(max_length=BODY_SEALED)
    created_at: datetime = Field(default_factory=utcnow)


class Acknowledgement(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("note_id", "account_id", name="uq_acknowledgement_note_account"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    note_id: str = Field(foreign_key="note.id", max_length=36, index=True)
    account_id: str = Field(foreign_key="account.id", max_length=36)
    at: datetime = Field(default_factory=utcnow)


class HistoryOpening(SQLModel, table=True):
    """A lead let one newcomer see the history posted before they joined."""

    __tablename__ = "history_opening"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    network_id: str = Field(foreign_key="network.id", max_length=36, index=True)
    account_id: str = Field(foreign_key="account.id", max_length=36)
    opened_by_id: str = Field(foreign_key="account.id", max_length=36)
    reason_sealed: str = Field(max_length=REASON_SEALED)
    at: datetime = Field(default_factory=utcnow)
