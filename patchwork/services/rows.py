"""Writing new rows on the busiest paths (a note and its parts) with plain INSERT statements built once.

The unit of work's flush costs more than the statements it sends; a row written here is then kept in the
session as if it had been loaded, so later changes to it in the same transaction are saved as usual.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import cache

from sqlalchemy import Insert, Table, insert
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, SQLModel

from patchwork import outbox
from patchwork.models.networks import Network


def add(session: Session, row: SQLModel) -> None:
    """INSERT a new row now, and keep it in the session."""
    table = _table(type(row))
    session.connection().execute(_insert(table), {column.key: getattr(row, column.key) for column in table.columns})
    make_transient_to_detached(row)
    session.add(row)


def add_all(session: Session, rows: Iterable[SQLModel]) -> None:
    """INSERT new rows of one kind in one statement; they are not kept in the session (nothing reads them back
    in the transaction that writes them)."""
    batch = list(rows)
    if not batch:
        return
    table = _table(type(batch[0]))
    session.connection().execute(
        _insert(table), [{column.key: getattr(row, column.key) for column in table.columns} for row in batch]
    )


def touch(session: Session, network: Network, at: datetime) -> None:
    """Mark the network as active at `at`: on the loaded object now, in the database when the transaction commits
    (its row is locked only for the commit, see patchwork.last_writes)."""
    outbox.touch(session, network.id, at)
    set_committed_value(network, "last_activity_at", at)  # to be written: not a pending change of the session


def _table(model: type[SQLModel]) -> Table:
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table


@cache
def _insert(table: Table) -> Insert:
    return insert(table)
