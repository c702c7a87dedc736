"""Network events: appended in the same transaction as the change (an outbox), read back per viewer.

Each network's events carry a gapless sequence number. Outside, clients only ever see opaque cursors,
sealed so they reveal neither how many events exist nor how many the viewer cannot see, and cannot be forged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, insert, update
from sqlmodel import Session, col, select

from patchwork import policy
from patchwork.clock import utcnow
from patchwork.db import announce
from patchwork.events import ALERT_EVENTS, MEMBER_EVENTS, NOTE_EVENTS, alert_event_reaches, announcement, public
from patchwork.models import new_id
from patchwork.models.events import EventCounter, NetworkEvent
from patchwork.models.networks import Network
from patchwork.models.notes import Note
from patchwork.services.visibility import visible

PAGE = 500


def start_counter(*, session: Session, network_id: str) -> None:
    session.add(EventCounter(network_id=network_id, seq=0))


_COUNTERS = EventCounter.__table__  # type: ignore[attr-defined]
_EVENTS = NetworkEvent.__table__  # type: ignore[attr-defined]
# Built once: every change others see appends here, and building a statement costs more than running it.
_NEXT_SEQ = (
    update(_COUNTERS)
    .where(_COUNTERS.c.network_id == bindparam("counter_network_id"))
    .values(seq=_COUNTERS.c.seq + 1)
    .returning(_COUNTERS.c.seq)
)
_INSERT_COUNTER = insert(_COUNTERS)
_INSERT_EVENT = insert(_EVENTS)


def append(
    *,
    session: Session,
    network_id: str,
    type: str,
    note: policy.NoteFacts | None = None,
    **facts: str | int | bool | None,
) -> int:
    """Adds an event to the network's outbox inside the caller's transaction, and announces it after commit;
    a note event's announcement carries `note`, its note's facts, when the caller has them. Returns its sequence
    number. Written with plain SQL statements: every change others see comes this way."""
    session.flush()  # the network (and its counter) may be new in this transaction
    connection = session.connection()
    seq = connection.execute(_NEXT_SEQ, {"counter_network_id": network_id}).scalar_one_or_none()
    if seq is None:
        connection.execute(_INSERT_COUNTER, {"network_id": network_id, "seq": 1})
        seq = 1
    connection.execute(
        _INSERT_EVENT,
        {
            "id": new_id(),
            "network_id": network_id,
            "seq": seq,
            "type": type,
            "data": json.dumps(facts, sort_keys=True),
            "at": utcnow(),
        },
    )
    announce(session, network_id, announcement(seq, type, facts, note))
    return int(seq)


@dataclass(frozen=True)
class Delivery:
    network_id: str
    seq: int
    type: str
    data: dict[str, Any]


def head(*, session: Session, network_id: str) -> int:
    found = session.get(EventCounter, network_id)
    return found.seq if found else 0


def visible_after(
    *, session: Session, viewer: policy.NoteViewer, network: Network, after: int, limit: int = PAGE
) -> tuple[list[Delivery], int]:
    """The events after `after` that this viewer may see now, and the last sequence number looked at."""
    rows = list(
        session.exec(
            select(NetworkEvent)
            .where(NetworkEvent.network_id == network.id, col(NetworkEvent.seq) > after)
            .order_by(col(NetworkEvent.seq))
            .limit(limit)
        ).all()
    )
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
