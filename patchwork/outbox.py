"""The outbox: every change others see is an event appended to its network's log in the same transaction as the
change, with a gapless sequence number; after commit, the doorbells it rang tell live connections (here through the
hub, elsewhere through the broker). This module owns the append, the doorbells and the one read of the log that the
stream, the events endpoint and live delivery share.

Clients never see sequence numbers: they get opaque cursors, sealed so they reveal neither how many events exist
nor how many the viewer cannot see, and cannot be forged.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Connection, bindparam, insert, text, update
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col, select

from patchwork import last_writes, policy
from patchwork.clock import utcnow
from patchwork.events import announcement
from patchwork.models import new_id
from patchwork.models.events import EventCounter, NetworkEvent
from patchwork.models.networks import Network
from patchwork.statements import Statement

PAGE = 500
DOORBELLS = "patchwork.doorbells"  # the session.info key under which a unit of work collects what it rang
ACCOUNT_DOORBELL = "account:"
Rung = Mapping[str, list[dict[str, Any]]]


def ring(session: Session, doorbell: str) -> None:
    """After this session commits, tell live connections: a network id (it has new events) or an account's
    doorbell (its credentials changed: sockets re-check them)."""
    session.info.setdefault(DOORBELLS, {}).setdefault(doorbell, [])


def announce(session: Session, doorbell: str, fact: dict[str, Any]) -> None:
    """Ring `doorbell` after commit and carry `fact` with it (ids and types only), in the order announced, so a
    listener that has everything before it need not read it back."""
    session.info.setdefault(DOORBELLS, {}).setdefault(doorbell, []).append(fact)


def announced(session: Session, doorbell: str) -> list[dict[str, Any]]:
    """What this unit of work has announced so far with `doorbell` (for events.prepare)."""
    return list(session.info.get(DOORBELLS, {}).get(doorbell, []))


def ring_account(session: Session, account_id: str) -> None:
    ring(session, ACCOUNT_DOORBELL + account_id)


def rung(session: Session) -> Rung:
    """What this unit of work rang, for its caller to hand on once it has committed."""
    return dict(session.info.get(DOORBELLS, {}))


def start_counter(*, session: Session, network_id: str) -> None:
    session.add(EventCounter(network_id=network_id, seq=0))


_COUNTERS = EventCounter.__table__  # type: ignore[attr-defined]
_EVENTS = NetworkEvent.__table__  # type: ignore[attr-defined]
# Compiled once and run on the cursor: every change others see appends here (see patchwork.statements).
_NEXT_SEQ = Statement(
    update(_COUNTERS)
    .where(_COUNTERS.c.network_id == bindparam("counter_network_id"))
    .values(seq=_COUNTERS.c.seq + 1)
    .returning(_COUNTERS.c.seq)
)
_INSERT_COUNTER = Statement(insert(_COUNTERS))
_INSERT_EVENT = Statement(insert(_EVENTS))
_NETWORKS = Network.__table__  # type: ignore[attr-defined]
_TOUCH = Statement(
    update(_NETWORKS).where(_NETWORKS.c.id == bindparam("network_id")).values(last_activity_at=bindparam("at"))
)
# PostgreSQL: the network touched (when asked), its counter moved and the event written in one statement, each
# step waiting for the one before (a sub-select's count, always true, orders them): every unit of work takes these
# locks in the same order.
_APPEND_SQL = """
WITH touched AS (
    UPDATE network SET last_activity_at = :touch_at WHERE id = :network_id AND :touch RETURNING id
), counted AS (
    UPDATE event_counter SET seq = seq + 1
    WHERE network_id = :network_id AND (SELECT count(*) FROM touched) >= 0
    RETURNING seq
), appended AS (
    INSERT INTO network_event (id, network_id, type, data, at, seq)
    SELECT :id, :network_id, :type, :data, :at, seq FROM counted
    RETURNING seq
)
"""
_APPEND_BINDS = (
    bindparam("touch", type_=Boolean),
    bindparam("touch_at", type_=_NETWORKS.c.last_activity_at.type),
    bindparam("at", type_=_EVENTS.c.at.type),
)
_APPEND_POSTGRESQL = Statement(text(_APPEND_SQL + "SELECT seq FROM appended").bindparams(*_APPEND_BINDS))  # noqa: S608 (constants only)
# ... and then the audit chain's head locked and read (see patchwork.last_writes).
_APPEND_AND_LOCK_HEAD = Statement(
    text(
        _APPEND_SQL  # noqa: S608 (constants only)
        + "SELECT (SELECT seq FROM appended), head.seq, head.hash FROM audit_head AS head "
        "WHERE head.id = 1 AND (SELECT count(*) FROM appended) >= 0 FOR UPDATE OF head"
    ).bindparams(*_APPEND_BINDS)
)


def append(
    *,
    session: Session,
    network_id: str,
    type: str,
    note: policy.NoteFacts | None = None,
    **facts: str | int | bool | None,
) -> None:
    """Adds an event to the network's outbox inside the caller's transaction, and announces it after commit;
    a note event's announcement carries `note`, its note's facts, when the caller has them. Its sequence number is
    taken when the transaction commits (see patchwork.last_writes), so the network's counter is locked only for
    the commit; the announcement is made now and numbered then."""
    told = announcement(0, type, facts, note)
    announce(session, network_id, told)
    event = {
        "id": new_id(),
        "network_id": network_id,
        "type": type,
        "data": json.dumps(facts, sort_keys=True),
        "at": utcnow(),
    }
    last_writes.defer(session, last_writes.NETWORK_EVENTS, _Event(event, told))


def touch(session: Session, network_id: str, at: datetime) -> None:
    """Mark the network as active at `at` when the transaction commits (with its event, when it has one)."""
    last_writes.defer(session, last_writes.NETWORK_EVENTS, _Touch(network_id, at))


@dataclass(frozen=True)
class _Event:
    values: dict[str, Any]
    told: dict[str, Any]


@dataclass(frozen=True)
class _Touch:
    network_id: str
    at: datetime


@last_writes.writer(last_writes.NETWORK_EVENTS, tables=(_COUNTERS.name, _EVENTS.name))
def _write_events(session: OrmSession, queued: list[_Event | _Touch]) -> None:
    """Number and write the events this unit of work appended, in the order it appended them, and touch their
    networks. Written with plain SQL statements: every change others see comes this way."""
    connection = session.connection()
    touches: dict[str, datetime] = {}
    for item in queued:
        if isinstance(item, _Touch):
            touches[item.network_id] = max(item.at, touches.get(item.network_id, item.at))
    events = [item for item in queued if isinstance(item, _Event)]
    if connection.dialect.name != "postgresql":
        _TOUCH.run_many(connection, [{"network_id": n, "at": at} for n, at in sorted(touches.items())])
        for event in events:
            _number(connection, event, _sqlite_next(connection, event))
        return
    with_events = {event.values["network_id"] for event in events}
    alone = [{"network_id": n, "at": at} for n, at in sorted(touches.items()) if n not in with_events]
    _TOUCH.run_many(connection, alone)
    lock_head = bool(last_writes.pending(session, last_writes.AUDIT_TRAIL))
    for number, event in enumerate(events, start=1):
        at = touches.pop(event.values["network_id"], None)
        params = event.values | {"touch": at is not None, "touch_at": at or event.values["at"]}
        if number == len(events) and lock_head:
            # The audit head is locked and read by the same statement, after the network's rows: one round
            # trip fewer while every other writer waits.
            found = _APPEND_AND_LOCK_HEAD.rows(connection, params)
            session.info[last_writes.AUDIT_HEAD_READ] = (int(found[0][1]), str(found[0][2]))
            _number(connection, event, found[0][0])
        else:
            found = _APPEND_POSTGRESQL.rows(connection, params)
            _number(connection, event, found[0][0] if found else None)


def _sqlite_next(connection: Connection, event: _Event) -> int | None:
    counted = _NEXT_SEQ.rows(connection, {"counter_network_id": event.values["network_id"]})
    return int(counted[0][0]) if counted else None


def _number(connection: Connection, event: _Event, seq: int | None) -> None:
    """Give the event its number: the one its counter took, or 1 for a network whose counter was never started."""
    if seq is None:
        _INSERT_COUNTER.run(connection, {"network_id": event.values["network_id"], "seq": 1})
        seq = 1
        _INSERT_EVENT.run(connection, event.values | {"seq": seq})
    elif connection.dialect.name != "postgresql":
        _INSERT_EVENT.run(connection, event.values | {"seq": seq})
    event.told["seq"] = int(seq)


def head(*, session: Session, network_id: str) -> int:
    found = session.get(EventCounter, network_id)
    return found.seq if found else 0


def rows_after(session: Session, network_id: str, after: int, *, limit: int = PAGE) -> list[NetworkEvent]:
    """A network's events after sequence number `after`, in order, at most `limit` of them: the one read of the log."""
    return list(
        session.exec(
            select(NetworkEvent)
            .where(NetworkEvent.network_id == network_id, col(NetworkEvent.seq) > after)
            .order_by(col(NetworkEvent.seq))
            .limit(limit)
        ).all()
    )
