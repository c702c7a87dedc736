"""The writes a unit of work makes last, just before it commits: those that lock a row every writer of a network
(its activity time, its event counter) or every writer at all (the audit chain's head) must take in turn.

Made at the end, each such lock is held for a statement or two and the commit, not for the whole unit of work
(its reads, its policy checks, what it renders for the answer): concurrent posters wait for each other only that
long. What is deferred is queued on the session by its owner (`patchwork.outbox`, the audit chain) and written in
lock order by the session's `before_commit`; a rollback drops it with the rest of the transaction. A unit of
work still reads what it wrote: a query of a table with deferred writes pending writes them first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.util import find_tables

PENDING = "patchwork.last_writes"
WRITING = "patchwork.last_writes.writing"  # what `write` is writing now, for `pending`
# Where a writer that locked and read the audit chain's head in its own last statement (a round trip fewer with
# the locks held) leaves it, as (seq, hash), for the audit trail's writer.
AUDIT_HEAD_READ = "patchwork.audit_head_read"
Writer = Callable[[Session, list[Any]], None]

# Every unit of work takes these locks in this order, so two of them never wait for each other in a circle:
# a network's rows (its activity time, its event counter), then the audit chain's head.
NETWORK_EVENTS, AUDIT_TRAIL = 1, 2
_writers: dict[int, Writer] = {}
_tables: dict[int, frozenset[str]] = {}


def writer(rank: int, *, tables: Iterable[str]) -> Callable[[Writer], Writer]:
    """Register the function that writes what was deferred with `rank`, in the order it was deferred, into
    `tables`: a query that reads one of them writes what is pending first."""

    def register(write: Writer) -> Writer:
        if _writers.get(rank, write) is not write:
            raise RuntimeError(f"two writers for last writes of rank {rank}")
        _writers[rank], _tables[rank] = write, frozenset(tables)
        return write

    return register


def defer(session: Session, rank: int, item: Any) -> None:
    """Queue `item` for the writer of `rank`, to be written when this session commits."""
    session.info.setdefault(PENDING, {}).setdefault(rank, []).append(item)


def pending(session: Session, rank: int) -> list[Any]:
    """What is queued for `rank` and not yet written (a writer of a lower rank may look while it writes)."""
    queued = session.info.get(WRITING) or session.info.get(PENDING) or {}
    return list(queued.get(rank, ()))


def write(session: Session) -> None:
    """Write everything deferred, in lock order; called by the session's commit, or earlier by a unit of work that
    must read what it wrote."""
    queued: dict[int, list[Any]] = session.info.pop(PENDING, None) or {}
    if not queued:
        return
    session.flush()  # the rows the deferred writes refer to (a new network, its counter) go first
    session.info[WRITING] = queued
    try:
        for rank in sorted(queued):
            _writers[rank](session, queued[rank])
    finally:
        session.info.pop(WRITING, None)
        session.info.pop(AUDIT_HEAD_READ, None)


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    write(session)


@event.listens_for(Session, "do_orm_execute")
def _before_reading(state: ORMExecuteState) -> None:
    queued = state.session.info.get(PENDING)
    if not queued or not isinstance(state.statement, ClauseElement):
        return
    read = {table.name for table in find_tables(state.statement, include_joins=True, include_aliases=True)}
    if any(read & _tables[rank] for rank in queued):
        write(state.session)


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, previous: SessionTransaction) -> None:
    if previous.parent is None:  # the whole transaction, not a savepoint
        session.info.pop(PENDING, None)
        session.info.pop(AUDIT_HEAD_READ, None)
