"""Audit-chain benchmark: fill a throwaway database with N chained events, then time `verify` over all of them.

SQLite runs in a temporary file; given a PostgreSQL admin URL, a database is created for the run and dropped
after it. The events are written in batches with their chain computed here, not through `record`, so that a
million of them take seconds rather than a million transactions.
"""

from __future__ import annotations

import resource
import secrets
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.engine import make_url
from sqlmodel import col

from patchwork.clock import utcnow
from patchwork.db import Database, normalise_url
from patchwork.migrate import upgrade
from patchwork.models import AuditEvent, AuditHead, new_id
from patchwork.models.audit import GENESIS_HASH, HEAD_ID
from patchwork.services.audit import audit_key_id, chain_hash, verify

FILL_BATCH = 10_000
VERIFY_BATCH = 5000
ACTIONS = ("network.viewed", "child.searched", "involvement.added", "note.created", "lead.appointed", "audit.read")


class BenchError(RuntimeError):
    """The benchmark could not run or its chain did not verify; the message says why."""


def run_verify_bench(database_url: str | None, events: int) -> dict[str, Any]:
    """Fill a fresh database with `events` chained events and time one full `verify` of them."""
    if events < 1:
        raise BenchError("--events must be 1 or more")
    if database_url is None:
        with tempfile.TemporaryDirectory(prefix="patchwork-bench-audit-") as folder:
            return _run(f"sqlite:///{folder}/audit.db", events)
    url = normalise_url(database_url)
    if not url.startswith("postgresql"):
        raise BenchError("--database-url takes a PostgreSQL admin URL; leave it out for a temporary SQLite file")
    with _throwaway_postgres(url) as bench_url:
        return _run(bench_url, events)


def _run(url: str, events: int) -> dict[str, Any]:
    upgrade(url)
    key = secrets.token_bytes(32)
    db = Database(url)
    try:
        started = time.perf_counter()
        _fill(db, key, events)
        fill_seconds = time.perf_counter() - started
        rss_after_fill = _max_rss_mb()
        with db.transaction() as session:
            started = time.perf_counter()
            result = verify(session=session, key=key, batch=VERIFY_BATCH)
            seconds = time.perf_counter() - started
        dialect = db.engine.dialect.name
    finally:
        db.dispose()
    if not result.ok or result.events_checked != events:
        raise BenchError(f"the freshly written chain did not verify: {result.problem or result}")
    return {
        "database": dialect,
        "events": events,
        "seconds": round(seconds, 3),
        "events_per_second": round(events / seconds),
        "fill_seconds": round(fill_seconds, 3),
        "verify_batch": VERIFY_BATCH,
        "max_rss_mb_after_fill": rss_after_fill,
        "max_rss_mb_after_verify": _max_rss_mb(),
    }


def _fill(db: Database, key: bytes, events: int) -> None:
    actors = [new_id() for _ in range(50)]
    networks = [new_id() for _ in range(1000)]
    start = utcnow() - timedelta(days=365)
    previous, seq = GENESIS_HASH, 0
    with db.engine.begin() as connection:
        while seq < events:
            rows = []
            for _ in range(min(FILL_BATCH, events - seq)):
                seq += 1
                row: dict[str, Any] = {
                    "seq": seq,
                    "id": new_id(),
                    "at": start + timedelta(milliseconds=seq * 7),
                    "actor_id": actors[seq % len(actors)],
                    "action": ACTIONS[seq % len(ACTIONS)],
                    "network_id": networks[seq % len(networks)],
                    "target_type": "network",
                    "target_id": networks[seq % len(networks)],
                    "details": '{"via":"bench"}',
                    "prev_hash": previous,
                }
                row["hash"] = previous = chain_hash(key, **row)
                row["key_id"] = audit_key_id(key)
                rows.append(row)
            connection.execute(insert(AuditEvent), rows)
        connection.execute(update(AuditHead).where(col(AuditHead.id) == HEAD_ID).values(seq=seq, hash=previous))


@contextmanager
def _throwaway_postgres(admin_url: str) -> Iterator[str]:
    import psycopg
    from psycopg import sql

    name = "patchwork_bench_" + secrets.token_hex(6)
    admin = make_url(admin_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _max_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
