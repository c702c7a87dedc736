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
from typing import Any

from sqlalchemy import Connection, bindparam, insert, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from patchwork import last_writes, policy
from patchwork.clock import utcnow
from patchwork.events import announcement
from patchwork.models import new_id
from patchwork.models.events import EventCounter, NetworkEvent
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
_EVENT_VALUES = ("id", "network_id", "type", "data", "at")
_COUNTED = (
    update(_COUNTERS)
    .where(_COUNTERS.c.network_id == bindparam("counter_network_id"))
    .values(seq=_COUNTERS.c.seq + 1)
    .returning(_COUNTERS.c.seq)
    .cte("counted")
)
# PostgreSQL: the counter moved and the event written in one statement, one round trip fewer for every change.
_APPEND_POSTGRESQL = Statement(
    insert(_EVENTS)
    .from_select(
        [*_EVENT_VALUES, "seq"],
        sa_select(*(bindparam(name, type_=_EVENTS.c[name].type) for name in _EVENT_VALUES), _COUNTED.c.seq),
    )
    .add_cte(_COUNTED)
    .returning(_EVENTS.c.seq)
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
        "counter_network_id": network_id,
    }
    last_writes.defer(session, last_writes.NETWORK_EVENTS, (event, told))


@last_writes.writer(last_writes.NETWORK_EVENTS, tables=(_COUNTERS.name, _EVENTS.name))
def _write_events(connection: Connection, events: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
    """Number and write the events this unit of work appended, in the order it appended them. Written with plain
    SQL statements: every change others see comes this way."""
    postgresql = connection.dialect.name == "postgresql"
    for event, told in events:
        event["at"] = utcnow()  # the moment it took its number: times and numbers agree
        if postgresql:
            appended = _APPEND_POSTGRESQL.rows(connection, event)
        else:
            appended = _NEXT_SEQ.rows(connection, event)
            if appended:
                _INSERT_EVENT.run(connection, event | {"seq": appended[0][0]})
        if appended:
            seq = appended[0][0]
        else:  # a network whose counter was never started
            _INSERT_COUNTER.run(connection, {"network_id": event["network_id"], "seq": 1})
            seq = 1
            _INSERT_EVENT.run(connection, event | {"seq": seq})
        told["seq"] = int(seq)


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
