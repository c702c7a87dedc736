"""Posting throughput: concurrent posters, each its own account and token, posting notes back to back to a started
`patchwork serve` for a while (or until a number of notes), and what each part of the machine was doing meanwhile.

By default on a fresh SQLite file with one worker; given a PostgreSQL admin URL, on a throwaway database made for
the run (and dropped after it), and with a Redis URL on several workers. The posters share one network unless
asked to spread over several: one network is the hard case, every post taking the next number of the same
gap-free sequence.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import secrets
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import make_url

from bench.audit import _throwaway_postgres
from bench.fanout import (
    INVOLVEMENT,
    SETUP_CONCURRENCY,
    Spawn,
    _bounded,
    _call,
    _limited,
    _populate,
    _start_network,
    _target,
    network_note,
)
from bench.procs import busy_fraction, cpu_by_process, machine_busy_ticks, role, tree
from bench.rawhttp import Connection, RawHTTPError
from bench.signin import BenchError, _client, latency_summary
from patchwork.settings import Settings

__all__ = ["run_throughput"]

WARM_UP_PER_POSTER = 2
BUSY = 0.9  # a CPU busy this fraction of the time or more is taken as the cap


@dataclass
class Posts:
    """What the posters saw: each answered post's latency and, for the others, what went wrong."""

    latencies_ms: list[float] = field(default_factory=list)
    ok: int = 0
    errors: Counter[str] = field(default_factory=Counter)


async def run_throughput(
    settings: Settings,
    *,
    posters: int = 20,
    seconds: float = 10.0,
    notes: int | None = None,
    networks: int = 1,
    database_url: str | None = None,
    redis_url: str | None = None,
    workers: int = 1,
    time_limit: float = 1800.0,
) -> dict[str, Any]:
    """`database_url` is a PostgreSQL admin URL (a database is made for the run); None is a temporary SQLite file."""
    if posters < 1 or seconds <= 0 or (notes is not None and notes < 1) or not 1 <= networks <= posters:
        raise ValueError("posters, seconds and notes must be positive, networks between 1 and posters")
    if workers < 1 or (workers > 1 and not redis_url):
        raise ValueError("several workers need a Redis URL (--redis-url) to hear each other")
    if database_url is not None and not database_url.startswith("postgresql"):
        raise ValueError("--database-url must be a PostgreSQL URL (the default is a temporary SQLite file)")
    work = _run(settings, posters, seconds, notes, networks, database_url, redis_url, workers)
    return await _limited(time_limit, work)


async def _run(
    settings: Settings,
    posters: int,
    seconds: float,
    notes: int | None,
    networks: int,
    admin_url: str | None,
    redis_url: str | None,
    workers: int,
) -> dict[str, Any]:
    async with _database(admin_url) as database_url:
        spawn = Spawn(database_url=database_url, redis_url=redis_url, workers=workers)
        async with _target(settings, spawn) as target, _client(target.base, max(posters, SETUP_CONCURRENCY)) as http:
            population = await _populate(http, target, posters)
            tokens = population.tokens
            network_ids = await _networks(http, tokens, population.network_id, networks)
            jobs = [(Connection(target.base), token, network_ids[n % networks]) for n, token in enumerate(tokens)]
            try:
                for _ in range(WARM_UP_PER_POSTER):
                    await asyncio.gather(*(_post(*job, Posts()) for job in jobs))
                measured = await _measure(target.server_pid, database_url, jobs, seconds, notes)
            finally:
                await asyncio.gather(*(connection.close() for connection, _, _ in jobs))
    return {
        "benchmark": "throughput",
        "server": {**target.description, "workers": workers},
        "posters": posters,
        "each_poster": (
            "its own practitioner account, API token and kept-alive connection (a bare HTTP/1.1 client, "
            "bench/rawhttp.py), posting network notes back to back"
        ),
        "networks": networks,
        "networks_means": "every poster in one network (one gap-free sequence)"
        if networks == 1
        else f"poster n posts to network n mod {networks}",
        **measured,
    }


@asynccontextmanager
async def _database(admin_url: str | None) -> AsyncIterator[str | None]:
    if admin_url is None:
        yield None
        return
    with _throwaway_postgres(admin_url) as url:
        yield url


async def _networks(http: httpx.AsyncClient, tokens: list[str], first: str, count: int) -> list[str]:
    """`count` networks: the population's, then one started by each of posters 1..count-1, each poster a member of
    network (its number mod count)."""
    made = [first]
    for n in range(1, count):
        made.append(await _start_network(http, tokens[n]))
    joins = [
        functools.partial(
            _call,
            http,
            "Registering an involvement",
            f"/api/v1/networks/{made[n % count]}/involvements",
            INVOLVEMENT,
            token=token,
        )
        for n, token in enumerate(tokens)
        if n % count != 0 and n >= count
    ]
    await _bounded(SETUP_CONCURRENCY, joins)
    return made


async def _measure(
    server_pid: int | None,
    database_url: str | None,
    jobs: list[tuple[Connection, str, str]],
    seconds: float,
    notes: int | None,
) -> dict[str, Any]:
    posts = Posts()
    remaining = [notes] if notes is not None else None
    server = tree(server_pid)
    database = _postgres_backends(database_url)
    watched = [*server, *database]
    cpu_before = cpu_by_process(watched)
    own_before = time.process_time()
    machine = machine_busy_ticks()
    started = time.perf_counter()
    deadline = started + seconds if notes is None else float("inf")

    async def poster(connection: Connection, token: str, network_id: str) -> None:
        while time.perf_counter() < deadline:
            if remaining is not None:
                if remaining[0] <= 0:
                    return
                remaining[0] -= 1
            await _post(connection, token, network_id, posts)

    await asyncio.gather(*(poster(*job) for job in jobs))
    elapsed = time.perf_counter() - started
    # Backends that opened meanwhile count from zero: all they have used is the run's.
    database = sorted({*database, *_postgres_backends(database_url)})
    cpu_after = cpu_by_process([*server, *database])
    used = {pid: cpu_after[pid] - cpu_before.get(pid, 0.0) for pid in cpu_after}
    shares = {
        "server_processes": [
            {
                "pid": pid,
                "role": role(pid, server),
                "busy": round(used.get(pid, 0.0) / elapsed, 3),
            }
            for pid in server
        ],
        "postgres_backends": round(sum(used.get(pid, 0.0) for pid in database) / elapsed, 3) if database else None,
        "bench_posters": round((time.process_time() - own_before) / elapsed, 3),
        "machine": busy_fraction(machine, machine_busy_ticks()),
    }
    return {
        "seconds": round(elapsed, 3),
        "notes_posted": posts.ok,
        "notes_per_second": round(posts.ok / elapsed, 1) if elapsed else None,
        "post_latency_ms": latency_summary(posts.latencies_ms),
        "errors": sum(posts.errors.values()),
        "errors_by_kind": dict(posts.errors),
        "cpu_busy": shares,
        "cpu_busy_means": "CPU seconds used over the run's seconds: 1.0 is one core all the time; the machine's is "
        "the fraction of all its CPUs (everyone's work, from /proc/stat)",
        "what_caps_it": what_caps_it(shares, cpus=len(_cpus_seen())),
        **cpu_per_note(shares, posts.ok / elapsed if elapsed else 0.0, cpus=len(_cpus_seen())),
    }


def cpu_per_note(shares: dict[str, Any], rate: float, *, cpus: int) -> dict[str, Any]:
    """Each part's CPU time per note posted, and the rate the machine's CPUs could carry at that cost if nothing
    waited: a ceiling that only cheaper notes (or more cores) raise."""
    if rate <= 0:
        return {}
    parts = {
        "server": sum(p["busy"] for p in shares["server_processes"]),
        "postgresql": shares["postgres_backends"] or 0.0,
        "bench_posters": shares["bench_posters"],
    }
    per_note = {name: round(busy * 1000 / rate, 3) for name, busy in parts.items()}
    total = sum(per_note.values())
    return {
        "cpu_ms_per_note": per_note | {"all": round(total, 3)},
        "cpu_ceiling_notes_per_second": round(cpus * 1000 / total, 1) if total else None,
        "cpu_ceiling_means": f"{cpus} CPUs divided by all the CPU time a note took (server, database, posters)",
    }


async def _post(connection: Connection, token: str, network_id: str, posts: Posts) -> None:
    body = network_note(f"Throughput bench note {secrets.token_hex(4)}")
    started = time.perf_counter()
    try:
        status, _ = await connection.post_json(f"/api/v1/networks/{network_id}/notes", body, token=token)
    except (OSError, asyncio.IncompleteReadError, RawHTTPError) as error:
        posts.errors[type(error).__name__] += 1
        return
    if status == 201:
        posts.ok += 1
        posts.latencies_ms.append((time.perf_counter() - started) * 1000)
    else:
        posts.errors[f"HTTP {status}"] += 1


def what_caps_it(shares: dict[str, Any], *, cpus: int) -> str:
    """A reading of the CPU shares: the machine, a server worker, PostgreSQL, or none of them (then waiting)."""
    workers = [p["busy"] for p in shares["server_processes"] if p["role"] == "worker"]
    postgres = shares["postgres_backends"]
    parts = {
        "server workers": sum(workers),
        "PostgreSQL": postgres or 0.0,
        "the bench posters": shares["bench_posters"],
    }
    biggest = max(parts, key=lambda name: parts[name])
    machine = shares["machine"]
    if machine is not None and machine >= BUSY:
        return (
            f"the machine's CPU: all {cpus} were {machine:.0%} busy (everyone's work); of it, "
            + ", ".join(f"{name} {value:.2f} cores" for name, value in parts.items())
            + f"; the largest part is {biggest}"
        )
    if workers and max(workers) >= BUSY:
        return f"a server worker's CPU: the busiest was {max(workers):.0%} of a core (Python in one process)"
    if postgres is not None and postgres >= BUSY:
        return f"PostgreSQL's CPU: its backends used {postgres:.2f} cores"
    return (
        "no CPU was saturated (the busiest part, "
        f"{biggest}, used {parts[biggest]:.2f} cores): waiting caps it (locks, commits, the network's sequence)"
    )


def _cpus_seen() -> list[int]:
    return sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(range(os.cpu_count() or 1))


def _postgres_backends(database_url: str | None) -> list[int]:
    """The process ids of PostgreSQL's backends serving the bench database, when PostgreSQL runs on this machine."""
    if database_url is None or make_url(database_url).host not in {"127.0.0.1", "localhost"}:
        return []
    import psycopg

    plain = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        with psycopg.connect(plain, autocommit=True) as connection:
            rows = connection.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchall()
    except psycopg.Error as error:
        raise BenchError(f"Could not list PostgreSQL's backends: {error}") from error
    found = []
    for (pid,) in rows:
        # The same number on this machine is PostgreSQL's only if it runs here, not in a container of its own.
        with contextlib.suppress(OSError), open(f"/proc/{pid}/comm") as comm:
            if comm.read().strip().startswith("postgres"):
                found.append(int(pid))
    return found
