"""Dashboard benchmark: a lead professional with 40 networks and 10,000 notes (PostgreSQL by default, a throwaway
database), the dashboard page and API read over HTTP from `patchwork serve`, and the time alert evaluation adds
to posting a note, measured in the transaction the way a post runs it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import statistics
import tempfile
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select

from bench.audit import _throwaway_postgres
from bench.people import network_of, practitioners
from bench.signin import _client, _server, percentile
from patchwork import policy
from patchwork.auth.sessions import Timeouts, issue_api_token, start_web_session
from patchwork.clock import utcnow
from patchwork.db import Database
from patchwork.migrate import upgrade
from patchwork.models import Account
from patchwork.models.alerts import Alert
from patchwork.models.networks import Network
from patchwork.models.notes import Acknowledgement, Note
from patchwork.runtime import keyring_for
from patchwork.services import alerts, children
from patchwork.settings import Settings, new_data_key

CATEGORIES = ["attendance", "hunger_nutrition", "injury", "behaviour_wellbeing", "home_environment", "health"]
LEVELS = ["observation"] * 30 + ["concern"] * 9 + ["urgent"]  # 2.5% urgent: about 6 a network a year
MANAGED_DAYS = 30  # the lead has acknowledged notes and resolved urgent alerts older than this
THRESHOLDS = policy.AlertThresholds()


def fill(database_url: str, settings: Settings, networks: int, notes: int) -> dict[str, Any]:
    """One lead in `networks` networks with three members each, `notes` notes over the last year, alerts raised."""
    keys = keyring_for(settings)
    db = Database(database_url)
    now = utcnow()
    try:
        with db.transaction() as session:
            people = practitioners(session, organisations=4, people=4)
            network_ids = []
            for n in range(networks):
                network = network_of(
                    session,
                    keys,
                    people,
                    child=children.ChildIdentity(
                        f"Bench{chr(97 + n % 26)}", "Child", date(2012, 1, 1) + timedelta(days=n)
                    ),
                    joined_at=now - timedelta(days=400),
                )
                network_ids.append(network.id)
            lead = people[0]
            cookie = start_web_session(
                session=session,
                account_id=lead.id,
                timeouts=Timeouts(idle=timedelta(hours=2), absolute=timedelta(hours=2)),
            )
            token, _ = issue_api_token(session=session, account_id=lead.id, lifetime=timedelta(hours=2))
            authors = [(p.id, p.organisation_id) for p in people[1:]]
        for start in range(0, notes, 1000):
            with db.transaction() as session:
                for n in range(start, min(notes, start + 1000)):
                    author, organisation = authors[n % 3]
                    created = now - timedelta(days=(notes - n) * 360 // notes, minutes=n % 600)
                    note = Note(
                        network_id=network_ids[n % networks],
                        author_id=author,
                        author_organisation_id=organisation,
                        category=CATEGORIES[n % len(CATEGORIES)],
                        level=LEVELS[(n // networks * 7) % len(LEVELS)],  # a mix in every network
                        observed_on=created.date(),
                        audience="network",
                        basis="consent",
                        body_sealed="",
                        created_at=created,
                        updated_at=created,
                    )
                    note.body_sealed = keys.cipher.encrypt(f"Bench note {n}", context=f"note:{note.id}")
                    session.add(note)
        with db.transaction() as session:
            lead_id = lead.id
            for network_id in network_ids:
                alerts.evaluate(
                    session=session, keys=keys, network_id=network_id, thresholds=THRESHOLDS, actor_id=lead_id
                )
            managed = now - timedelta(days=MANAGED_DAYS)
            old = select(Note.id).where(col(Note.created_at) < managed, col(Note.level) != "observation")
            session.add_all(Acknowledgement(note_id=note_id, account_id=lead_id) for note_id in session.exec(old).all())
            session.execute(
                update(Alert)
                .where(col(Alert.kind) == "urgent", col(Alert.note_id).in_(old))
                .values(state="resolved", resolved_at=now, resolved_by_id=lead_id, outcome="discussed_with_network")
            )
        if db.engine.dialect.name == "postgresql":  # what autovacuum does soon after a load like this
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.exec_driver_sql("ANALYZE")
        return {
            "network_ids": network_ids,
            "cookie": cookie,
            "token": token,
            "lead_id": lead.id,
            "author_id": authors[0][0],
        }
    finally:
        db.dispose()


def evaluation_cost(
    database_url: str, settings: Settings, network_id: str, author_id: str, runs: int
) -> dict[str, float]:
    """Milliseconds that alert evaluation adds to a post: a note is written (levels in the benchmark's mix, observed
    today), then evaluate() is timed in the same transaction with the network already loaded, as post_note runs
    it. An observation returns at once; a note that counts reads the network's signals and alerts, and one that
    extends an open alert also updates it (its event and audit): that is the slow end, reported apart."""
    keys = keyring_for(settings)
    db = Database(database_url)
    timings = []
    try:
        author = None
        for n in range(runs + 5):
            with db.transaction() as session:
                network = session.get(Network, network_id)
                assert network is not None
                author = author or session.get(Account, author_id)
                assert author is not None
                note = Note(
                    network_id=network_id,
                    author_id=author.id,
                    author_organisation_id=author.organisation_id,
                    category=CATEGORIES[n % len(CATEGORIES)],
                    level=LEVELS[n * 7 % len(LEVELS)],
                    observed_on=utcnow().date(),
                    audience="network",
                    basis="consent",
                    body_sealed="sealed",
                )
                session.add(note)
                session.flush()
                started = time.perf_counter()
                alerts.evaluate(
                    session=session,
                    keys=keys,
                    network_id=network_id,
                    thresholds=THRESHOLDS,
                    actor_id=author.id,
                    network=network,
                    changed_levels=(note.level,),
                )
                timings.append(((time.perf_counter() - started) * 1000, note.level != "observation"))
        timings = timings[5:]
        every = [ms for ms, _ in timings]
        counted = [ms for ms, counts in timings if counts]
        return {
            "posts": runs,
            "p50_ms": round(statistics.median(every), 3),
            "p95_ms": round(percentile(every, 0.95), 3),
            "counted_posts": len(counted),
            "counted_p50_ms": round(statistics.median(counted), 3) if counted else 0.0,
            "counted_p95_ms": round(percentile(counted, 0.95), 3) if counted else 0.0,
        }
    finally:
        db.dispose()


@contextlib.contextmanager
def _database(admin_url: str | None) -> Iterator[tuple[str, str]]:
    if admin_url:
        with _throwaway_postgres(admin_url) as url:
            yield url, "postgresql"
        return
    with tempfile.TemporaryDirectory(prefix="patchwork-bench-dashboard-") as directory:
        yield f"sqlite:///{Path(directory) / 'dashboard.db'}", "sqlite"


async def run(*, admin_url: str | None, networks: int = 40, notes: int = 10_000, requests: int = 200) -> dict[str, Any]:
    with _database(admin_url) as (database_url, kind), tempfile.TemporaryDirectory() as directory:
        settings = Settings(
            env="local", database_url=database_url, secret_key=secrets.token_urlsafe(48), data_key=new_data_key()
        )
        upgrade(database_url)
        started = time.perf_counter()
        made = await asyncio.to_thread(fill, database_url, settings, networks, notes)
        fill_seconds = time.perf_counter() - started
        env = {k: v for k, v in os.environ.items() if not k.startswith("PATCHWORK_")} | {
            "PATCHWORK_ENV": "local",
            "PATCHWORK_DATABASE_URL": database_url,
            "PATCHWORK_SECRET_KEY": settings.secret_key,
            "PATCHWORK_DATA_KEY": settings.data_key,
            "PATCHWORK_LOG_LEVEL": "WARNING",
        }
        results: dict[str, Any] = {}
        async with _server(env, Path(directory)) as base, _client(base, 1) as client:
            targets = {
                "dashboard_page": ("/", {"Cookie": f"patchwork_session={made['cookie']}"}),
                "dashboard_api": ("/api/v1/dashboard", {"Authorization": f"Bearer {made['token']}"}),
            }
            for name, (path, headers) in targets.items():
                latencies = []
                for attempt in range(requests + 5):
                    before = time.perf_counter()
                    response = await client.get(path, headers=headers)
                    elapsed = (time.perf_counter() - before) * 1000
                    if response.status_code != 200:
                        raise RuntimeError(f"{name} answered {response.status_code}: {response.text[:300]}")
                    if attempt >= 5:
                        latencies.append(elapsed)
                results[name] = {
                    "path": path,
                    "requests": len(latencies),
                    "p50_ms": round(percentile(latencies, 0.50), 2),
                    "p95_ms": round(percentile(latencies, 0.95), 2),
                    "bytes": len(response.content),
                }
        busiest = made["network_ids"][0]
        cost = await asyncio.to_thread(evaluation_cost, database_url, settings, busiest, made["author_id"], requests)
        return {
            "benchmark": "dashboard",
            "database": kind,
            "server": "patchwork serve, 1 uvicorn worker, 127.0.0.1",
            "networks_led": networks,
            "notes": notes,
            "fill_seconds": round(fill_seconds, 1),
            "results": results,
            "alert_evaluation_per_post": cost | {"notes_in_network": notes // networks},
            "dashboard_p95_under_150ms": all(r["p95_ms"] < 150 for r in results.values()),
            "evaluation_p50_under_1ms": cost["p50_ms"] < 1.0,
        }
