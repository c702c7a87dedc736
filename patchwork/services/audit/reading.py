"""Reading the audit trail: a system admin's list of events, itself recorded in the trail."""

from __future__ import annotations

from sqlmodel import Session, col
from sqlmodel import select as select_models

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
    query = select_models(AuditEvent).order_by(col(AuditEvent.seq).desc()).limit(limit)
    if network_id is not None:
        query = query.where(col(AuditEvent.network_id) == network_id)
    if actor_id is not None:
        query = query.where(col(AuditEvent.actor_id) == actor_id)
    if action is not None:
        query = query.where(col(AuditEvent.action) == action)
    if before_seq is not None:
        query = query.where(col(AuditEvent.seq) < before_seq)
    events = list(session.exec(query).all())
    filters = {"actor_id": actor_id, "action": action, "before_seq": before_seq, "limit": limit}
    record(
        session=session,
        key=key,
        action="audit.read",
        actor_id=actor.account_id,
        network_id=network_id,
        details={"filters": {k: v for k, v in filters.items() if v is not None}, "returned": len(events)},
    )
    return events


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
