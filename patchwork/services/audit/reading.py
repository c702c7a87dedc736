"""Reading the audit trail: a system admin's list of events, itself recorded in the trail."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import ColumnElement, exists, select
from sqlmodel import Session, col
from sqlmodel import select as select_models
from sqlmodel.sql.expression import SelectOfScalar

from patchwork import policy
from patchwork.errors import NotFound
from patchwork.models import AuditEvent
from patchwork.services.audit.chain import record

MAX_LIST_LIMIT = 500


def list_events(
    *,
    session: Session,
    key: bytes,
    actor: policy.Actor,
    network_id: str | None = None,
    actor_id: str | None = None,
    action: str | None = None,
    before_seq: int | None = None,
    limit: int = 100,
) -> list[AuditEvent]:
    """The newest events first, for a system admin; the reading is itself recorded in the trail."""
    if not actor.is_system_admin:
        raise NotFound()
    limit = max(1, min(limit, MAX_LIST_LIMIT))
    query = _filtered(select_models(AuditEvent), network_id, actor_id, action).order_by(col(AuditEvent.seq).desc())
    if before_seq is not None:
        query = query.where(col(AuditEvent.seq) < before_seq)
    events = list(session.exec(query.limit(limit)).all())
    filters = {"actor_id": actor_id, "action": action, "before_seq": before_seq, "limit": limit}
    _record_read(session, key, actor, network_id, filters, len(events))
    return events


@dataclass(frozen=True)
class EventPage:
    """One page of the trail, newest first, with the cursors to the pages either side (None at either end)."""

    events: list[AuditEvent]
    older: int | None  # pass as `before_seq` for the next older page
    newer: int | None  # pass as `after_seq` for the next newer page


def read_page(
    *,
    session: Session,
    key: bytes,
    actor: policy.Actor,
    network_id: str | None = None,
    actor_id: str | None = None,
    before_seq: int | None = None,
    after_seq: int | None = None,
    limit: int = 50,
) -> EventPage:
    """A page of events older than `before_seq` or else newer than `after_seq` (the newest page without either),
    for a system admin; recorded like any reading. A page walked to from either side holds the same events, so
    walking the pages one way sees every event once."""
    if not actor.is_system_admin:
        raise NotFound()
    limit = max(1, min(limit, MAX_LIST_LIMIT))
    query = _filtered(select_models(AuditEvent), network_id, actor_id, None)
    if after_seq is not None and before_seq is None:
        rows = list(
            session.exec(
                query.where(col(AuditEvent.seq) > after_seq).order_by(col(AuditEvent.seq)).limit(limit + 1)
            ).all()
        )
        newer_exists, events = len(rows) > limit, rows[:limit][::-1]
        older_exists = _any(session, network_id, actor_id, col(AuditEvent.seq) <= after_seq)
    else:
        if before_seq is not None:
            query = query.where(col(AuditEvent.seq) < before_seq)
        rows = list(session.exec(query.order_by(col(AuditEvent.seq).desc()).limit(limit + 1)).all())
        older_exists, events = len(rows) > limit, rows[:limit]
        newer_exists = before_seq is not None and _any(session, network_id, actor_id, col(AuditEvent.seq) >= before_seq)
    newest = events[0].seq if events else (before_seq - 1 if before_seq is not None else None)
    oldest = events[-1].seq if events else (after_seq + 1 if after_seq is not None else None)
    filters = {"actor_id": actor_id, "before_seq": before_seq, "after_seq": after_seq, "limit": limit}
    _record_read(session, key, actor, network_id, filters, len(events))
    return EventPage(
        events=events,
        older=oldest if older_exists else None,
        newer=newest if newer_exists else None,
    )


def _filtered(
    query: SelectOfScalar[AuditEvent], network_id: str | None, actor_id: str | None, action: str | None
) -> SelectOfScalar[AuditEvent]:
    if network_id is not None:
        query = query.where(col(AuditEvent.network_id) == network_id)
    if actor_id is not None:
        query = query.where(col(AuditEvent.actor_id) == actor_id)
    if action is not None:
        query = query.where(col(AuditEvent.action) == action)
    return query


def _any(session: Session, network_id: str | None, actor_id: str | None, condition: ColumnElement[bool]) -> bool:
    inner = _filtered(select_models(AuditEvent), network_id, actor_id, None).where(condition)
    return bool(session.execute(select(exists(inner))).scalar())


def _record_read(
    session: Session,
    key: bytes,
    actor: policy.Actor,
    network_id: str | None,
    filters: Mapping[str, object],
    returned: int,
) -> None:
    record(
        session=session,
        key=key,
        action="audit.read",
        actor_id=actor.account_id,
        network_id=network_id,
        details={"filters": {k: v for k, v in filters.items() if v is not None}, "returned": returned},
    )


def events_for_network(
    *,
    session: Session,
    key: bytes,
    actor: policy.Actor,
    network_id: str,
    before_seq: int | None = None,
    limit: int = 100,
) -> list[AuditEvent]:
    """One network's trail, newest first, for a system admin; audited like any other reading."""
    return list_events(session=session, key=key, actor=actor, network_id=network_id, before_seq=before_seq, limit=limit)
