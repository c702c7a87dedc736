"""The same migrations build the same schema as the models, on SQLite and on PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import patchwork.models  # noqa: F401
from patchwork.db import Database
from patchwork.migrate import current_head, upgrade


def test_models_and_migrations_agree(database_url: str) -> None:
    db = Database(database_url)
    try:
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert context.get_current_revision() == current_head()
            differences = compare_metadata(context, SQLModel.metadata)
            sqlite = connection.dialect.name == "sqlite"
    finally:
        db.dispose()
    if sqlite:  # SQLite enforces no VARCHAR length, and 0014 leaves the declared ones (see that migration)
        differences = [d for d in differences if not _only_a_varchar_length(d)]
    assert differences == []


def _only_a_varchar_length(difference: object) -> bool:
    changes = difference if isinstance(difference, list) else [difference]
    return all(
        isinstance(change, tuple)
        and change[0] == "modify_type"
        and type(change[5]).__name__ in ("VARCHAR", "String", "AutoString")
        and type(change[6]).__name__ in ("VARCHAR", "String", "AutoString")
        for change in changes
    )


def test_upgrade_is_idempotent(database_url: str) -> None:
    upgrade(database_url)
    upgrade(database_url)
