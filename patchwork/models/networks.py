"""Children, their networks of concern, and the practitioners involved."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, text
from sqlmodel import Field, SQLModel

from patchwork import limits
from patchwork.clock import utcnow
from patchwork.crypto import sealed_length
from patchwork.models.accounts import new_id

ROLE_LABEL_LIMIT = limits.ROLE_LABEL
REASON_LIMIT = limits.INVOLVEMENT_REASON
CONTACT_LIMIT = limits.CONTACT


class NetworkStatus(StrEnum):
    open = "open"
    closed = "closed"
    merged = "merged"


class HistoryRule(StrEnum):
    from_joining = "from_joining"
    full = "full"


class InvolvementStatus(StrEnum):
    active = "active"
    ended = "ended"


class Child(SQLModel, table=True):
    """Identifiers are encrypted at rest; search and duplicate checks use keyed blind indexes."""

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    sealed_identity: str = Field(max_length=2000)
    dob_index: str = Field(max_length=64, index=True)
    nhs_index: str | None = Field(default=None, max_length=64, index=True)
    postcode_family_index: str | None = Field(default=None, max_length=64, index=True)
    created_at: datetime = Field(default_factory=utcnow)


class ChildSearchKey(SQLModel, table=True):
    """One exact-match key per way of naming the child (given name, known-as name, NHS number)."""

    __tablename__ = "child_search_key"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    child_id: str = Field(foreign_key="child.id", max_length=36, index=True)
    kind: str = Field(max_length=16)
    key: str = Field(max_length=64, index=True)


class Network(SQLModel, table=True):
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    child_id: str = Field(foreign_key="child.id", max_length=36, unique=True)
    status: str = Field(default=NetworkStatus.open, max_length=16)
    history_rule: str = Field(default=HistoryRule.from_joining, max_length=16)
    created_at: datetime = Field(default_factory=utcnow)
    created_by_id: str = Field(foreign_key="account.id", max_length=36)
    last_activity_at: datetime = Field(default_factory=utcnow)
    status_changed_at: datetime | None = None
    # The audit event that closed or reopened it: who, when and why are read from the trail, where they cannot change.
    status_event_id: str | None = Field(default=None, max_length=36)
    merged_into_id: str | None = Field(default=None, foreign_key="network.id", max_length=36)


class Involvement(SQLModel, table=True):
    __table_args__ = (
        Index(
            "ux_involvement_active_member",
            "network_id",
            "account_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    network_id: str = Field(foreign_key="network.id", max_length=36, index=True)
    account_id: str = Field(foreign_key="account.id", max_length=36, index=True)
    organisation_id: str = Field(foreign_key="organisation.id", max_length=36)
    # Encrypted with the data key (services.sealed_facts); the limits are on the plain text, checked before sealing.
    role_label_sealed: str = Field(max_length=sealed_length(ROLE_LABEL_LIMIT))
    reason_sealed: str = Field(max_length=sealed_length(REASON_LIMIT))
    contact_sealed: str = Field(max_length=sealed_length(CONTACT_LIMIT))
    sensitive: bool = False
    status: str = Field(default=InvolvementStatus.active, max_length=16)
    is_lead: bool = False
    lead_since: datetime | None = None
    started_at: datetime = Field(default_factory=utcnow)
    ended_at: datetime | None = None
    ended_by_id: str | None = Field(default=None, max_length=36)
    ended_event_id: str | None = Field(default=None, max_length=36)  # the audit event, which holds the reason


class NetworkLink(SQLModel, table=True):
    """A network started for a child with details like another's (twins), declared a different child: the
    two are linked so their leads see it. What tells them apart and why are sealed."""

    __tablename__ = "network_link"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    network_id: str = Field(foreign_key="network.id", max_length=36, index=True)
    linked_network_id: str = Field(foreign_key="network.id", max_length=36, index=True)
    detail_sealed: str = Field(max_length=sealed_length(limits.DIFFERENT_CHILD_DETAIL))
    reason_sealed: str = Field(max_length=sealed_length(limits.DIFFERENT_CHILD_REASON))
    created_by_id: str = Field(foreign_key="account.id", max_length=36)
    created_at: datetime = Field(default_factory=utcnow)
