"""The audit trail: append-only events chained by a keyed hash, and the one-row head that serialises appends."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Index, Text, event
from sqlmodel import Field, SQLModel

from patchwork.clock import utcnow
from patchwork.models.accounts import new_id

HEAD_ID = 1
GENESIS_HASH = "0" * 64


class AuditEvent(SQLModel, table=True):
    """One thing someone did. Never updated or deleted; `hash` chains it to the event before."""

    __tablename__ = "audit_event"
    __table_args__ = (
        # Search rate limits count one actor's recent events of one kind: this index answers that alone.
        Index("ix_audit_event_actor_action_at", "actor_id", "action", "at"),
        # One network's trail newest first (the access log, an admin's filter): read backwards, stop after a page.
        Index("ix_audit_event_network_seq", "network_id", "seq"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    seq: int = Field(sa_type=BigInteger, unique=True)
    at: datetime = Field(default_factory=utcnow)
    actor_id: str | None = Field(default=None, max_length=36)
    action: str = Field(max_length=64)
    network_id: str | None = Field(default=None, max_length=36)
    target_type: str | None = Field(default=None, max_length=32)
    target_id: str | None = Field(default=None, max_length=64)
    details: str = Field(default="{}", sa_type=Text)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)
    # The id of the audit key that sealed `hash`; None for events written before keys had ids (migration 0013),
    # which were sealed with the key derived from PATCHWORK_SECRET_KEY.
    key_id: str | None = Field(default=None, max_length=12)


class AuditHead(SQLModel, table=True):
    """The chain's last sequence number and hash; appenders lock this row so the chain never forks."""

    __tablename__ = "audit_head"
    __table_args__ = (CheckConstraint("id = 1", name="ck_audit_head_single_row"),)

    id: int = Field(default=HEAD_ID, primary_key=True, sa_column_kwargs={"autoincrement": False})
    seq: int = Field(sa_type=BigInteger)
    hash: str = Field(max_length=64)


def _refuse_change(_mapper: Any, _connection: Any, target: AuditEvent) -> None:
    raise RuntimeError(f"audit event {target.seq} is append-only: it cannot be updated or deleted")


# The ORM guard catches a mistake in our own code; tampering outside it is what `verify` is for.
event.listen(AuditEvent, "before_update", _refuse_change)
event.listen(AuditEvent, "before_delete", _refuse_change)
