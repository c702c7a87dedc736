"""What each person has seen of their notifications, and how they want to hear of new ones.

Notifications themselves are not stored: they are read from the networks' outbox, through the policy, when asked for.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel


class NotificationMark(SQLModel, table=True):
    """How far one person has read (`seen_seq`) and been e-mailed about (`mailed_seq`) one network's events."""

    __tablename__ = "notification_mark"

    account_id: str = Field(foreign_key="account.id", primary_key=True, max_length=36)
    network_id: str = Field(foreign_key="network.id", primary_key=True, max_length=36)
    seen_seq: int = 0
    mailed_seq: int = 0


class NotificationPreference(SQLModel, table=True):
    """A person's e-mail choice (on unless switched off) and when the last digest was sent to them."""

    __tablename__ = "notification_preference"

    account_id: str = Field(foreign_key="account.id", primary_key=True, max_length=36)
    email: bool = True
    last_emailed_at: datetime | None = None
