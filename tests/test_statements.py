"""Statements compiled once and run on the DBAPI cursor write and read exactly what SQLAlchemy's own execution does,
inside the session's transaction, with SQLAlchemy's errors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import bindparam, exc, insert, select, text, update

from patchwork.db import Database
from patchwork.models import Organisation
from patchwork.statements import Statement

ORGANISATIONS = Organisation.__table__  # type: ignore[attr-defined]
INSERT = Statement(insert(ORGANISATIONS))
RENAME = Statement(
    update(ORGANISATIONS)
    .where(ORGANISATIONS.c.id == bindparam("organisation_id"), ORGANISATIONS.c.active == True)  # noqa: E712
    .values(name=bindparam("new_name"))
    .returning(ORGANISATIONS.c.name, ORGANISATIONS.c.created_at, ORGANISATIONS.c.active)
)
DEACTIVATE = Statement(update(ORGANISATIONS).where(ORGANISATIONS.c.type == bindparam("kind")).values(active=False))
CREATED = Statement(
    select(ORGANISATIONS.c.created_at, ORGANISATIONS.c.active).where(ORGANISATIONS.c.id == bindparam("id"))
)
AT = datetime(2024, 3, 1, 9, 30, 0, tzinfo=UTC)  # no microseconds: a naive text form would drop them


def _row(name: str, **values: object) -> dict[str, object]:
    return {"id": f"{name:0>36}", "name": name, "type": "school", "active": True, "created_at": AT} | values


def test_a_row_is_stored_as_sqlalchemy_stores_it(database_url: str) -> None:
    db = Database(database_url)
    try:
        with db.transaction() as session:
            session.connection().execute(insert(ORGANISATIONS), _row("by-core"))
            INSERT.run_many(session.connection(), [_row("by-statement"), _row("another", active=False)])
        with db.transaction() as session:
            stored = {
                name: (created, active)
                for name, created, active in session.connection().execute(
                    text("SELECT name, created_at, active FROM organisation")
                )
            }
            loaded = session.get(Organisation, f"{'another':0>36}")
            assert loaded is not None and loaded.active is False and loaded.created_at == AT
    finally:
        db.dispose()
    assert stored["by-statement"] == stored["by-core"]
    assert stored["another"][0] == stored["by-core"][0]


def test_results_are_converted_and_fixed_values_in_the_statement_apply(database_url: str) -> None:
    db = Database(database_url)
    try:
        with db.transaction() as session:
            INSERT.run_many(session.connection(), [_row("open"), _row("closed", active=False)])
            renamed = RENAME.rows(session.connection(), {"organisation_id": f"{'open':0>36}", "new_name": "Renamed"})
            untouched = RENAME.rows(session.connection(), {"organisation_id": f"{'closed':0>36}", "new_name": "No"})
            read = CREATED.rows(session.connection(), {"id": f"{'open':0>36}"})
            touched = DEACTIVATE.run(session.connection(), {"kind": "school"})
    finally:
        db.dispose()
    assert renamed == [("Renamed", AT, True)]
    assert untouched == []  # the statement's own `active = true` kept the closed one out
    assert read == [(AT, True)] and isinstance(read[0][0], datetime)
    assert touched == 2


def test_it_runs_in_the_sessions_transaction(database_url: str) -> None:
    db = Database(database_url)
    try:
        with pytest.raises(RuntimeError), db.transaction() as session:
            INSERT.run(session.connection(), _row("rolled-back"))
            raise RuntimeError("the unit of work fails after the statement")
        with db.transaction() as session:
            assert session.connection().execute(text("SELECT id FROM organisation")).all() == []
    finally:
        db.dispose()


def test_errors_are_sqlalchemys_and_a_missing_value_is_named(database_url: str) -> None:
    db = Database(database_url)
    try:
        with db.transaction() as session:
            INSERT.run(session.connection(), _row("once"))
        with pytest.raises(exc.IntegrityError), db.transaction() as session:
            INSERT.run(session.connection(), _row("once"))
        with pytest.raises(exc.ArgumentError, match="new_name"), db.transaction() as session:
            RENAME.rows(session.connection(), {"organisation_id": "x"})
    finally:
        db.dispose()


def test_an_in_list_is_refused(database_url: str) -> None:
    db = Database(database_url)
    statement = Statement(select(ORGANISATIONS.c.id).where(ORGANISATIONS.c.id.in_(bindparam("ids", expanding=True))))
    try:
        with pytest.raises(ValueError, match="IN list"), db.transaction() as session:
            statement.rows(session.connection(), {"ids": ["a"]})
    finally:
        db.dispose()


def test_a_value_written_into_the_statement_is_quoted_as_the_dialect_quotes_it(database_url: str) -> None:
    # Fixed values become literals of the SQL (SQLite would prepare the statement again on every run otherwise).
    awkward = "O'Brien's; DROP TABLE organisation"
    db = Database(database_url)
    named = Statement(select(ORGANISATIONS.c.id).where(ORGANISATIONS.c.name == awkward))
    try:
        with db.transaction() as session:
            INSERT.run_many(session.connection(), [_row("one") | {"name": awkward}, _row("two") | {"name": "O"}])
            assert named.rows(session.connection()) == [(f"{'one':0>36}",)]
    finally:
        db.dispose()
