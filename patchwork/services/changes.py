"""A change others should see: its event in the outbox and its entry in the audit trail, in one transaction."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlmodel import Session

from patchwork import outbox, policy
from patchwork.crypto import Keyring
from patchwork.services import audit


def record(
    *,
    session: Session,
    keys: Keyring,
    action: str,
    actor_id: str | None,
    network_id: str,
    event: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    details: Mapping[str, Any] | None = None,
    note: policy.NoteFacts | None = None,
    **facts: str | int | bool | None,
) -> audit.Recorded:
    """Audits `action`; when `event` is given, also tells the network's members (the facts, never text; for a
    note event, `note` is its note's facts, so live delivery need not read them back)."""
    if event is not None:
        outbox.append(session=session, network_id=network_id, type=event, note=note, **facts)
    return audit.record(
        session=session,
        key=keys.audit,
        action=action,
        actor_id=actor_id,
        network_id=network_id,
        target_type=target_type,
        target_id=target_id,
        details=details,
    )
