"""Feed benchmark: a network with thousands of notes on SQLite, its feed read over HTTP from a real server.

Fills a fresh SQLite database through the same models and ciphers the app uses, starts `patchwork serve`,
and times the feed page, the notes API and the chronology page as a member who sees most of the notes.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bench.people import network_of, practitioners
from bench.signin import _client, _server, percentile
from patchwork.auth.sessions import Timeouts, issue_api_token, start_web_session
from patchwork.clock import utcnow
from patchwork.db import Database
from patchwork.migrate import upgrade
from patchwork.models.notes import Acknowledgement, Note, NoteAudienceOrganisation, NoteReply, NoteRevision
from patchwork.runtime import keyring_for
from patchwork.services import children
from patchwork.settings import Settings, new_data_key

CATEGORIES = ["attendance", "hunger_nutrition", "injury", "behaviour_wellbeing", "home_environment", "health"]
BATCH = 500


def fill(database_url: str, settings: Settings, notes: int) -> dict[str, str]:
    """One network, three organisations, four members, `notes` notes with revisions, replies and acks."""
    keys = keyring_for(settings)
    db = Database(database_url)
    now = utcnow()
    try:
        with db.transaction() as session:
            people = practitioners(session, organisations=3, people=4)
            network = network_of(
                session,
                keys,
                people,
                child=children.ChildIdentity("Bench", "Child", date(2018, 1, 1)),
                joined_at=now - timedelta(days=400),
                counter=False,
            )
            viewer = people[1]
            token = start_web_session(
                session=session,
                account_id=viewer.id,
                timeouts=Timeouts(idle=timedelta(hours=2), absolute=timedelta(hours=2)),
            )
            api_token, _ = issue_api_token(session=session, account_id=viewer.id, lifetime=timedelta(hours=2))
            network_id = network.id
            author_ids = [p.id for p in people]
            org_ids = [p.organisation_id or "" for p in people[:3]]  # the three organisations, in order
        for start in range(0, notes, BATCH):
            with db.transaction() as session:
                dependants: list[object] = []
                for n in range(start, min(notes, start + BATCH)):
                    created = now - timedelta(minutes=notes - n)
                    note = Note(
                        network_id=network_id,
                        author_id=author_ids[n % 4],
                        author_organisation_id=org_ids[n % 4 % 3],
                        category=CATEGORIES[n % len(CATEGORIES)],
                        level=["observation", "concern", "urgent"][n % 3],
                        observed_on=date.today() - timedelta(days=(notes - n) // 10),
                        audience=["network", "network", "organisations", "lead"][n % 4],
                        basis="consent",
                        body_sealed="",
                        created_at=created,
                        updated_at=created,
                        revision_count=2 if n % 10 == 0 else 1,
                    )
                    body = f"Bench observation number {n}: " + "the child said something worth noting. " * 3
                    note.body_sealed = keys.cipher.encrypt(body, context=f"note:{note.id}")
                    note.basis_sealed = keys.cipher.encrypt(
                        '{"kind": "consent", "consent_from": "Mother", "consented_on": null, "reason": null, '
                        '"justification": null}',
                        context=f"basis:{note.id}",
                    )
                    session.add(note)
                    if note.audience == "organisations":
                        dependants.append(NoteAudienceOrganisation(note_id=note.id, organisation_id=org_ids[n % 3]))
                    for number in range(1, note.revision_count + 1):
                        revision = NoteRevision(
                            note_id=note.id, number=number, body_sealed="", author_id=note.author_id
                        )
                        revision.body_sealed = keys.cipher.encrypt(body, context=f"revision:{revision.id}")
                        dependants.append(revision)
                    if n % 5 == 0:
                        reply = NoteReply(note_id=note.id, author_id=author_ids[(n + 1) % 4], body_sealed="")
                        reply.body_sealed = keys.cipher.encrypt("Seen it too.", context=f"reply:{reply.id}")
                        dependants.append(reply)
                    if n % 3 == 0:
                        dependants.append(Acknowledgement(note_id=note.id, account_id=author_ids[(n + 2) % 4]))
                session.flush()
                session.add_all(dependants)
        return {"network_id": network_id, "session": token, "api_token": api_token}
    finally:
        db.dispose()


async def run(*, notes: int = 5000, requests: int = 200) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="patchwork-bench-feed-") as directory:
        workdir = Path(directory)
        database_url = f"sqlite:///{workdir / 'feed.db'}"
        settings = Settings(
            env="local", database_url=database_url, secret_key=secrets.token_urlsafe(48), data_key=new_data_key()
        )
        upgrade(database_url)
        started = time.perf_counter()
        made = await asyncio.to_thread(fill, database_url, settings, notes)
        fill_seconds = time.perf_counter() - started
        env = {
            "PATCHWORK_ENV": "local",
            "PATCHWORK_DATABASE_URL": database_url,
            "PATCHWORK_SECRET_KEY": settings.secret_key,
            "PATCHWORK_DATA_KEY": settings.data_key,
            "PATCHWORK_AUDIT_KEY": settings.audit_key,
            "PATCHWORK_LOG_LEVEL": "WARNING",
        }
        env = {k: v for k, v in os.environ.items() if not k.startswith("PATCHWORK_")} | env
        async with _server(env, workdir) as base, _client(base, 1) as client:
            cookies = {"patchwork_session": made["session"]}
            bearer = {"Authorization": f"Bearer {made['api_token']}"}
            cookie = {"Cookie": f"patchwork_session={cookies['patchwork_session']}"}
            targets: dict[str, tuple[str, dict[str, str]]] = {
                "feed_page": (f"/networks/{made['network_id']}/notes", cookie),
                "notes_api": (f"/api/v1/networks/{made['network_id']}/notes", bearer),
                "chronology_page": (f"/networks/{made['network_id']}/chronology?level=urgent", cookie),
            }
            results: dict[str, Any] = {}
            for name, (path, headers) in targets.items():
                client.cookies.clear()
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
                    "path": path.split("?")[0].replace(made["network_id"], "{id}"),
                    "requests": len(latencies),
                    "p50_ms": round(percentile(latencies, 0.50), 2),
                    "p95_ms": round(percentile(latencies, 0.95), 2),
                    "p99_ms": round(percentile(latencies, 0.99), 2),
                    "max_ms": round(max(latencies), 2),
                    "bytes": len(response.content),
                }
        return {
            "benchmark": "feed",
            "database": "sqlite",
            "server": "patchwork serve, 1 uvicorn worker, 127.0.0.1",
            "notes_in_network": notes,
            "fill_seconds": round(fill_seconds, 1),
            "sequential_requests_each": requests,
            "results": results,
            "feed_page_p95_under_100ms": results["feed_page"]["p95_ms"] < 100,
        }
