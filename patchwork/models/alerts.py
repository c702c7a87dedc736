"""Alerts: signals joined up for a network's leads (and, for escalation and no lead, organisation admins)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from patchwork import limits
from patchwork.clock import utcnow
from patchwork.crypto import sealed_length
from patchwork.models.accounts import new_id


class AlertKind(StrEnum):
    accumulation = "accumulation"
    urgent = "urgent"
    escalation = "escalation"
    no_lead = "no_lead"


class AlertState(StrEnum):
    open = "open"
    acknowledged = "acknowledged"
    resolved = "resolved"


class AlertOutcome(StrEnum):
    no_further_action = "no_further_action"
    discussed_with_network = "discussed_with_network"
    referred_to_social_care = "referred_to_social_care"
    other = "other"


class Alert(SQLModel, table=True):
    """One alert. `dedupe_key` is unique: `urgent:<note>` and `escalation:<note>` for ever (each note raises each
    once), `accumulation:<network>` and `no_lead:<network>` until resolved (one open of each kind per network).
    Raising is an insert that does nothing on a clash, so several processes raise an alert exactly once."""

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    network_id: str = Field(foreign_key="network.id", max_length=36, index=True)
    kind: str = Field(max_length=16)
    state: str = Field(default=AlertState.open, max_length=16)
    dedupe_key: str | None = Field(default=None, max_length=64, unique=True)
    note_id: str | None = Field(default=None, foreign_key="note.id", max_length=36)  # urgent and escalation
    raised_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    acknowledged_at: datetime | None = None
    acknowledged_by_id: str | None = Field(default=None, foreign_key="account.id", max_length=36)
    resolved_at: datetime | None = None
    resolved_by_id: str | None = Field(default=None, foreign_key="account.id", max_length=36)
    outcome: str | None = Field(default=None, max_length=32)
    outcome_text_sealed: str | None = Field(default=None, max_length=sealed_length(limits.ALERT_OUTCOME))


class AlertNote(SQLModel, table=True):
    """The notes an accumulation alert was raised (or last updated) on; each viewer is shown those they may see."""

    __tablename__ = "alert_note"

    alert_id: str = Field(foreign_key="alert.id", primary_key=True, max_length=36)
    note_id: str = Field(foreign_key="note.id", primary_key=True, max_length=36, index=True)
