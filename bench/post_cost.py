"""A note's fixed cost: the server's CPU time for one `POST /api/v1/networks/{id}/notes` with nobody listening.

The app is built in this process and called as an ASGI application, with no HTTP client or socket between: each
request's time is the process's CPU time (every thread: the unit of work runs in a worker thread) from the call
that hands the app its first byte to the message that ends its answer. Nothing else runs in the process meanwhile,
so that is the server's work for the note, every guarantee included (token, policy, encryption, the note's rows,
the audit chain, the outbox event in the same transaction, the commit, the answer). SQLite runs in a temporary
file; given a PostgreSQL admin URL, a database is created for the run and dropped after it.

A second pass runs under cProfile (inflated by its own cost) and says where the time went, part by part.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import functools
import json
import logging
import os
import pstats
import secrets
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any, TextIO

from bench.audit import _throwaway_postgres
from bench.people import network_of, practitioners
from bench.signin import percentile
from patchwork.app import create_app
from patchwork.auth.sessions import issue_api_token
from patchwork.clock import utcnow
from patchwork.db import Database, normalise_url
from patchwork.migrate import upgrade
from patchwork.runtime import keyring_for
from patchwork.services import audit, children
from patchwork.settings import Settings, new_data_key

__all__ = ["BenchError", "run_post_cost"]

WARM_UP = 50
PROFILED = 200
MEMBERS = 4
BODY = "Came in hungry again and asked for a second breakfast; said there was no food at home at the weekend."
ASGI: dict[str, str] = {"version": "3.0", "spec_version": "2.3"}

# The parts of a post, each a function whose time (its callees' included) the profile reports. They nest: the
# service and the view run inside the unit of work, the unit of work inside the route, everything inside `app`.
PARTS: tuple[tuple[str, str, str], ...] = (
    ("app (whole request, loop thread)", "starlette/applications.py", "__call__"),
    ("middleware: bearer token", "patchwork/web/middleware.py", "_bearer"),
    ("route: parse and validate JSON", "patchwork/web/api/jsonio.py", "parse_json"),
    ("route: clean draft", "patchwork/services/notes/drafts.py", "clean_draft"),
    ("unit of work (worker thread)", "patchwork/db.py", "in_thread"),
    ("  post_note service", "patchwork/services/notes/writing.py", "post_note"),
    ("    standing (network, viewer)", "patchwork/services/notes/standing.py", "_network_for"),
    ("    audience check", "patchwork/services/notes/writing.py", "_check_audience"),
    ("    observed-on check (child)", "patchwork/services/notes/drafts.py", "check_observed_on"),
    ("    note rows (_write)", "patchwork/services/notes/writing.py", "_write"),
    ("      encryption", "patchwork/crypto.py", "encrypt"),
    ("      outbox append", "patchwork/outbox.py", "append"),
    ("      audit record", "patchwork/services/audit/chain.py", "record"),
    ("    alerts evaluate", "patchwork/services/alerts/raising.py", "evaluate"),
    ("  posted view", "patchwork/services/notes/reading.py", "posted_view"),
    ("  commit", "sqlalchemy/orm/session.py", "commit"),
    ("  session close", "sqlalchemy/orm/session.py", "close"),
    ("route: note_out", "patchwork/web/api/convert.py", "note_out"),
    ("route: json_response", "patchwork/web/api/jsonio.py", "json_response"),
    ("after commit: hub.ring", "patchwork/realtime.py", "ring"),
)


class BenchError(RuntimeError):
    """The benchmark could not run, or a post was refused; the message says why."""


def run_post_cost(
    settings: Settings, *, notes: int = 500, database_url: str | None = None, passes: int = 3
) -> dict[str, Any]:
    """Post `notes` notes (after a warm-up) to a fresh database and report each one's server CPU time, `passes`
    times over (each pass a fresh app on the same database): the figures are the middle pass's by p50, and every
    pass's p50 is shown, since one pass on a shared machine can land anywhere in a wide spread.
    `database_url` is a PostgreSQL admin URL (a throwaway database is made and dropped); None is a temporary
    SQLite file. The settings give the keys and the broker; their database is never touched."""
    if notes < 1 or passes < 1:
        raise BenchError("notes and passes must be 1 or more")
    with _database(database_url) as (url, kind):
        bench_settings = settings.model_copy(
            update={
                "database_url": url,
                "secret_key": settings.secret_key or secrets.token_urlsafe(48),
                "data_key": settings.data_key or new_data_key(),
            }
        )
        upgrade(url)
        made = _fill(bench_settings)
        runs = sorted(
            (asyncio.run(_measure(bench_settings, made, notes)) for _ in range(passes)), key=lambda r: r["cpu"]["p50"]
        )
        measured = runs[len(runs) // 2]
        profile = _profile(bench_settings, made, PROFILED, measured["cpu_per_post_ms"])
        _check_chain(bench_settings)
    return {
        "benchmark": "post_cost",
        "database": kind,
        "broker": "redis" if settings.redis_url else "memory",
        "listeners": 0,
        "notes": notes,
        "warm_up": WARM_UP,
        "note": "observation, audience network, consent basis, 4 members in 3 organisations",
        "log_level": bench_settings.log_level,
        "passes": passes,
        "p50_ms_of_each_pass": [run["cpu"]["p50"] for run in runs],
        "cpu_ms": measured["cpu"],
        "p50_ms": measured["cpu"]["p50"],
        "p99_ms": measured["cpu"]["p99"],
        "cpu_per_post_including_after_answer_ms": measured["cpu_per_post_ms"],
        "wall_ms": measured["wall"],
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "profile": profile,
    }


@contextlib.contextmanager
def _database(admin_url: str | None) -> Iterator[tuple[str, str]]:
    if admin_url is None:
        with tempfile.TemporaryDirectory(prefix="patchwork-bench-post-") as folder:
            yield f"sqlite:///{folder}/post.db", "sqlite"
        return
    url = normalise_url(admin_url)
    if not url.startswith("postgresql"):
        raise BenchError("--database-url takes a PostgreSQL admin URL; leave it out for a temporary SQLite file")
    with _throwaway_postgres(url) as bench_url:
        yield bench_url, "postgresql"


def _fill(settings: Settings) -> dict[str, str]:
    """One network, three organisations, four practitioner members (the poster not a lead), and the poster's
    API token."""
    keys = keyring_for(settings)
    db = Database(settings.database_url)
    now = utcnow()
    try:
        with db.transaction() as session:
            people = practitioners(session, organisations=3, people=MEMBERS)
            network = network_of(
                session,
                keys,
                people,
                child=children.ChildIdentity("Bench", "Child", date(2018, 1, 1)),
                joined_at=now - timedelta(days=30),
            )
            token, _ = issue_api_token(session=session, account_id=people[1].id, lifetime=timedelta(hours=4))
            return {"network_id": network.id, "token": token}
    finally:
        db.dispose()


def _body(n: int) -> bytes:
    return json.dumps(
        {
            "body": f"{BODY} ({n})",
            "category": "hunger_nutrition",
            "level": "observation",
            "observed_on": date.today().isoformat(),
            "audience": {"kind": "network"},
            "family_user_ids": [],
            "basis": {"kind": "consent", "consent_from": "Mother", "consented_on": date.today().isoformat()},
        }
    ).encode()


class _Lifespan:
    """Runs the app's lifespan (the runtime: database, broker, hub) around the requests, as a server would."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.state: dict[str, Any] = {}
        self._inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> _Lifespan:
        scope = {"type": "lifespan", "asgi": ASGI, "state": self.state}
        self._task = asyncio.ensure_future(self.app(scope, self._inbox.get, self._outbox.put))
        await self._inbox.put({"type": "lifespan.startup"})
        answer = await self._outbox.get()
        if answer["type"] != "lifespan.startup.complete":
            raise BenchError(f"the app did not start: {answer}")
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._inbox.put({"type": "lifespan.shutdown"})
        await self._outbox.get()
        if self._task is not None:
            await self._task


async def _post(app: Any, state: dict[str, Any], path: str, token: str, body: bytes) -> tuple[float, float, int]:
    """One request straight into the app: its CPU seconds and wall seconds to the end of its answer, its status."""
    scope = {
        "type": "http",
        "asgi": ASGI,
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"bench.local"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"authorization", b"Bearer " + token.encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("bench.local", 80),
        "state": dict(state),
    }
    sent = False
    status = 0
    ended: list[float] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client stays connected
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body" and not message.get("more_body", False):
            ended.extend((time.process_time(), time.perf_counter()))

    cpu, wall = time.process_time(), time.perf_counter()
    await app(scope, receive, send)
    if not ended:
        raise BenchError("the app returned without ending its answer")
    return ended[0] - cpu, ended[1] - wall, status


def _app(settings: Settings) -> Any:
    """The app as a server runs it, its log lines (one a request at INFO, as in production) written to nowhere."""
    app = create_app(settings)
    for name in ("patchwork", "uvicorn"):
        for handler in logging.getLogger(name).handlers:
            if isinstance(handler, logging.StreamHandler):
                handler.setStream(_nowhere())
    return app


@functools.cache
def _nowhere() -> TextIO:
    return open(os.devnull, "w")  # kept open for the process, like stderr


async def _measure(settings: Settings, made: dict[str, str], notes: int) -> dict[str, Any]:
    app = _app(settings)
    path = f"/api/v1/networks/{made['network_id']}/notes"
    bodies = [_body(n) for n in range(WARM_UP + notes)]
    cpu: list[float] = []
    wall: list[float] = []
    async with _Lifespan(app) as lifespan:
        for n, body in enumerate(bodies):
            if n == WARM_UP:
                loop_cpu = time.process_time()
            spent, waited, status = await _post(app, lifespan.state, path, made["token"], body)
            if status != 201:
                raise BenchError(f"a post answered {status}")
            if n >= WARM_UP:
                cpu.append(spent * 1000)
                wall.append(waited * 1000)
        loop_cpu = time.process_time() - loop_cpu
    return {"cpu": _summary(cpu), "wall": _summary(wall), "cpu_per_post_ms": round(loop_cpu * 1000 / notes, 3)}


def _summary(values: list[float]) -> dict[str, float]:
    return {
        "p50": round(percentile(values, 0.50), 3),
        "p90": round(percentile(values, 0.90), 3),
        "p99": round(percentile(values, 0.99), 3),
        "min": round(min(values), 3),
    }


def _profile(settings: Settings, made: dict[str, str], notes: int, cpu_per_post_ms: float) -> dict[str, Any]:
    """`notes` more posts under cProfile (each thread's CPU time), in the loop's thread and in every worker thread
    (a fresh event loop, so its worker threads start after the hook is set), summed by part."""
    profiles: list[cProfile.Profile] = []
    lock = threading.Lock()
    on = threading.Event()

    def start_in_thread(*_: object) -> None:
        if not on.is_set():
            return  # still warming up: asked again at the thread's next call
        profile = cProfile.Profile(time.thread_time)
        with lock:
            profiles.append(profile)
        profile.enable()  # replaces this hook for the rest of the thread's life

    async def posts() -> None:
        app = _app(settings)
        path = f"/api/v1/networks/{made['network_id']}/notes"
        bodies = [_body(n) for n in range(WARM_UP + notes)]
        async with _Lifespan(app) as lifespan:
            for n, body in enumerate(bodies):
                if n == WARM_UP:
                    on.set()
                    loop.enable()
                await _post(app, lifespan.state, path, made["token"], body)
            loop.disable()

    loop = cProfile.Profile(time.thread_time)
    threading.setprofile(start_in_thread)
    try:
        asyncio.run(posts())
    finally:
        threading.setprofile(None)
    stats = pstats.Stats(loop)
    for profile in profiles:
        with contextlib.suppress(TypeError):  # a thread that never ran profiled code has no stats
            stats.add(profile)
    shares = _shares(stats)
    return {
        "posts": notes,
        "note": "each part's share of the CPU time profiled (its callees included, so parts nest), and that share "
        "of the measured CPU per post: cProfile inflates Python calls more than C, so these are estimates",
        "percent": {label: round(share * 100, 1) for label, share in shares.items()},
        "estimated_ms": {label: round(share * cpu_per_post_ms, 3) for label, share in shares.items()},
    }


def _shares(stats: pstats.Stats) -> dict[str, float]:
    entries: dict[tuple[str, int, str], tuple[int, int, float, float, Any]] = stats.stats  # type: ignore[attr-defined]
    total = sum(tottime for (_cc, _primitive, tottime, _cum, _callers) in entries.values()) or 1.0
    return {
        label: sum(
            cumulative
            for (filename, _line, name), (_cc, _primitive, _tt, cumulative, _callers) in entries.items()
            if name == function and filename.endswith(file_end)
        )
        / total
        for label, file_end, function in PARTS
    }


def _check_chain(settings: Settings) -> None:
    keys = keyring_for(settings)
    db = Database(settings.database_url)
    try:
        with db.transaction() as session:
            result = audit.verify(session=session, key=keys.audit)
    finally:
        db.dispose()
    if not result.ok:
        raise BenchError(f"the audit chain did not verify after the run: {result.problem}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.post_cost", description=__doc__.splitlines()[0])
    parser.add_argument("--notes", type=int, default=500)
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--database-url", help="PostgreSQL admin URL (default: a temporary SQLite file)")
    args = parser.parse_args(argv)
    settings = Settings(env="local", secret_key=secrets.token_urlsafe(48), data_key=new_data_key())
    try:
        found = run_post_cost(settings, notes=args.notes, database_url=args.database_url, passes=args.passes)
        print(json.dumps(found, indent=2))
    except BenchError as error:
        print(f"post_cost: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
