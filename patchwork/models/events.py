"""The outbox: every change others should see, as a fact with a gapless per-network sequence number."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from patchwork.clock import utcnow
from patchwork.models.accounts import new_id


class NetworkEvent(SQLModel, table=True):
    __tablename__ = "network_event"
    __table_args__ = (
        UniqueConstraint("network_id", "seq", name="uq_network_event_seq"),
        Index("ix_network_event_network_type_at", "network_id", "type", "at"),  # services.activity
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    network_id: str = Field(foreign_key="network.id", max_length=36)
    seq: int
    type: str = Field(max_length=40)
    data: str = Field(default="{}", sa_type=Text)
    at: datetime = Field(default_factory=utcnow)


class EventCounter(SQLModel, table=True):
    """The last sequence number handed out for each network; appenders lock their network's row."""

    __tablename__ = "event_counter"

    network_id: str = Field(foreign_key="network.id", primary_key=True, max_length=36)
    seq: int = 0
