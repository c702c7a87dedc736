"""A network's events as one viewer may see them now: for the events endpoint and the stream's catch-up (see
patchwork/outbox.py for the log itself)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from patchwork import outbox, policy
from patchwork.events import ALERT_EVENTS, MEMBER_EVENTS, NOTE_EVENTS, alert_event_reaches, public
from patchwork.models.networks import Network
from patchwork.models.notes import Note
from patchwork.services.visibility import visible

PAGE = outbox.PAGE


@dataclass(frozen=True)
class Delivery:
    network_id: str
    seq: int
    type: str
    data: dict[str, Any]


def visible_after(
    *, session: Session, viewer: policy.NoteViewer, network: Network, after: int, limit: int = PAGE
) -> tuple[list[Delivery], int]:
    """The events after `after` that this viewer may see now, and the last sequence number looked at."""
    rows = outbox.rows_after(session, network.id, after, limit=limit)
    if not rows:
        return [], after
    facts = {row.id: json.loads(row.data) for row in rows}
    note_ids = {str(facts[row.id].get("note_id")) for row in rows if row.type in NOTE_EVENTS}
    seen_notes: set[str] = set()
    if note_ids:
        seen_notes = set(
            session.exec(
                select(Note.id).where(col(Note.id).in_(note_ids), visible(viewer, history_rule=network.history_rule))
            ).all()
        )
    deliveries = []
    for row in rows:
        data = facts[row.id]
        if row.type in NOTE_EVENTS:
            allowed = data.get("note_id") in seen_notes
        elif row.type in MEMBER_EVENTS:
            allowed = bool(policy.see_member_events(viewer))
        elif row.type in ALERT_EVENTS:
            allowed = alert_event_reaches(viewer, data)
        else:
            allowed = False
        if allowed:
            deliveries.append(Delivery(network_id=network.id, seq=row.seq, type=row.type, data=public(data)))
    return deliveries, rows[-1].seq
