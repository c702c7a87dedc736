"""Apply Alembic migrations to a database URL (used by `patchwork db upgrade`, `serve` and the tests)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from alembic import command
from alembic.config import Config

from patchwork.db import normalise_url
from patchwork.settings import Settings

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(database_url: str, data_keys: Sequence[str] = ()) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", normalise_url(database_url).replace("%", "%%"))
    # Migrations that encrypt existing rows (0013) need the data keys: the current one first, then the previous.
    config.attributes["data_keys"] = tuple(data_keys)
    return config


def upgrade(database_url: str, revision: str = "head", *, data_keys: Sequence[str] = ()) -> None:
    command.upgrade(alembic_config(database_url, data_keys), revision)


def downgrade(database_url: str, revision: str, *, data_keys: Sequence[str] = ()) -> None:
    command.downgrade(alembic_config(database_url, data_keys), revision)


def data_keys_of(settings: Settings) -> tuple[str, ...]:
    return tuple(key for key in (settings.data_key, *settings.previous_data_keys) if key)


def current_head() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    return head or ""
