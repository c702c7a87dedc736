"""Shared fixtures: a migrated database per backend (SQLite always, PostgreSQL when configured), apps and clients."""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from starlette.testclient import TestClient

from patchwork.app import create_app
from patchwork.clock import utcnow
from patchwork.db import Database
from patchwork.migrate import upgrade
from patchwork.models import Account, AccountKind, AccountStatus, Organisation
from patchwork.models.notes import FamilyMembership
from patchwork.runtime import keyring_for, passwords_for
from patchwork.services import sealed_facts
from patchwork.settings import Settings

PG_URL = os.environ.get("PATCHWORK_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("PATCHWORK_TEST_REDIS_URL")
PASSWORD = "correct horse battery staple"
TEST_SECRET = "test-secret-" + "x" * 40
TEST_DATA_KEY = base64.urlsafe_b64encode(b"k" * 32).decode()
TEST_AUDIT_KEY = "test-audit-key-" + "a" * 40


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "env": "local",
        "database_url": database_url,
        "secret_key": TEST_SECRET,
        "data_key": TEST_DATA_KEY,
        "audit_key": TEST_AUDIT_KEY,
        "argon2_time_cost": 1,
        "argon2_memory_kib": 8,
        "argon2_parallelism": 1,
        "log_json": True,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path: Path = tmp_path_factory.mktemp("db") / "patchwork.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    if not PG_URL:
        if os.environ.get("CI"):
            pytest.fail("CI must run the PostgreSQL tests: set PATCHWORK_TEST_DATABASE_URL")
        pytest.skip("PostgreSQL tests need PATCHWORK_TEST_DATABASE_URL")
    import psycopg

    from patchwork.db import normalise_url

    name = "patchwork_test_" + secrets.token_hex(6)
    admin_url = normalise_url(PG_URL).replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = normalise_url(PG_URL).rpartition("/")
    url = f"{base}/{name}"
    try:
        upgrade(url)
        yield url
    finally:
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(f"{request.param}_url")
    _empty(url)
    return url


def _empty(url: str) -> None:
    db = Database(url)
    try:
        tables = [t for t in reversed(inspect(db.engine).get_table_names()) if t != "alembic_version"]
        with db.engine.begin() as connection:
            if db.engine.dialect.name == "postgresql":
                connection.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE"))
            else:
                for table in _sqlite_delete_order(tables):
                    connection.execute(text(f'DELETE FROM "{table}"'))
            if "audit_head" in tables:
                # The audit chain's head row comes from the migration: put it back as an empty trail's head.
                connection.execute(
                    text("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, :genesis)"), {"genesis": "0" * 64}
                )
    finally:
        db.dispose()


def _sqlite_delete_order(tables: list[str]) -> list[str]:
    children_first = [
        "alert_note",
        "alert",
        "network_link",
        "notification_mark",
        "notification_preference",
        "recovery_code",
        "password_reset",
        "sso_attempt",
        "sso_identity",
        "sso_domain",
        "sso_provider",
        "web_session",
        "api_token",
        "sign_in_failure",
        "network_event",
        "event_counter",
        "acknowledgement",
        "note_reply",
        "note_revision",
        "note_family_share",
        "note_audience_person",
        "note_audience_organisation",
        "note",
        "history_opening",
        "family_invitation",
        "family_membership",
        "involvement",
        "network",
        "child_search_key",
        "child",
        "account",
        "organisation",
    ]
    return [t for t in children_first if t in tables] + [t for t in tables if t not in children_first]


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = Database(settings.database_url)
    yield database
    database.dispose()


@dataclass
class World:
    """Accounts and organisations made directly in the database for a test."""

    db: Database
    settings: Settings

    def organisation(self, name: str = "Oakfield Primary", type_: str = "school") -> Organisation:
        with self.db.transaction() as session:
            organisation = Organisation(name=name, type=type_)
            session.add(organisation)
            session.flush()
            return organisation

    def account(
        self,
        email: str,
        *,
        organisation: Organisation | None = None,
        kind: str = AccountKind.practitioner,
        org_admin: bool = False,
        status: str = AccountStatus.active,
        name: str = "Test Person",
        password: str = PASSWORD,
    ) -> Account:
        password_hash = passwords_for(self.settings).hash_now(password)
        with self.db.transaction() as session:
            account = Account(
                email=email,
                name=name,
                job_title="Tester",
                kind=kind,
                organisation_id=organisation.id if organisation else None,
                is_org_admin=org_admin,
                status=status,
                password_hash=password_hash,
            )
            session.add(account)
            session.flush()
            return account

    def family_member(self, network_id: str, account_id: str, relationship: str = "Mother") -> FamilyMembership:
        """A family membership made directly, its relationship sealed as the invitation flow seals it."""
        with self.db.transaction() as session:
            membership = sealed_facts.new_membership(
                keyring_for(self.settings).cipher,
                network_id=network_id,
                account_id=account_id,
                joined_at=utcnow(),
                relationship=relationship,
            )
            session.add(membership)
            session.flush()
            return membership


@pytest.fixture
def world(db: Database, settings: Settings) -> World:
    return World(db=db, settings=settings)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), base_url="http://testserver") as test_client:
        yield test_client


def run(coroutine):  # type: ignore[no-untyped-def]
    return asyncio.run(coroutine)
