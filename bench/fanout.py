"""Live-delivery benchmark of /api/v1/stream: latency, throughput, losses and duplicates of `note.created`
events fanned out to N websocket clients, and the server's resident memory with many idle connections.

Everything is set up through the JSON API (organisations, accounts, one network), against a running server
or one started here on a fresh SQLite database. The clients run in this process and share the machine's
CPUs with the server, so the figures are for client and server together on one host.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import json
import math
import os
import resource
import secrets
import string
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from bench.light_client import LightClient, connect_light
from bench.poster import shared_clock
from bench.procs import pinned_command, role, rss_kib, sockets, tree
from bench.signin import (
    HOST,
    THROTTLE_LIMIT,
    BenchError,
    _client,
    _free_port,
    _kill,
    _patchwork,
    _server_env,
    _stop,
    _tail,
    _wait_until_healthy,
    latency_summary,
    percentile,
)
from patchwork.settings import Settings

__all__ = ["BenchError", "Remote", "Spawn", "exit_status", "run_fanout", "run_idle", "tally"]

T = TypeVar("T")
R = TypeVar("R", bound="Receiver")
ORGANISATION_TYPES = ("school", "health", "social_care", "police")
SETUP_CONCURRENCY = 8
CONNECT_CONCURRENCY = 50
CLOSE_CONCURRENCY = 200
IDLE_ACCOUNTS = 20
OPEN_SECONDS = 60.0
CLOSE_SECONDS = 2.0
COMMAND_SECONDS = 120.0
WARM_UP_SECONDS = 10.0
WARM_UP_ROUNDS = 6
DUPLICATE_GRACE_SECONDS = 1.0
IDLE_SETTLE_SECONDS = 2.0
POLL_SECONDS = 0.05
FD_MARGIN = 200
NETWORK_ATTEMPTS = 5
STREAM_PATH = "/api/v1/stream"
INVOLVEMENT = {"role_label": "Bench practitioner", "reason": "Measuring live delivery"}
BASIS = {"kind": "without_consent", "reason": "public_task", "justification": "bench"}
# websockets >= 15 reads proxies from the environment; nothing may stand between the bench and the server.


class Refused(BenchError):
    def __init__(self, what: str, status: int, code: str, text: str) -> None:
        super().__init__(f"{what} answered {status} ({code or 'no error code'}): {text[:500]}")
        self.status = status
        self.code = code


@dataclass(frozen=True)
class Remote:
    """A server that is already running, and a system admin's credentials for it."""

    url: str
    admin_email: str
    admin_password: str
    server_pid: int | None = None


@dataclass(frozen=True)
class Spawn:
    """Start `patchwork serve` here; a temporary SQLite database unless a database URL is given.

    Several workers need a Redis URL (`patchwork serve` falls back to one without); `cpus` pins the server, its
    workers and their threads to those CPUs."""

    database_url: str | None = None
    redis_url: str | None = None
    workers: int = 1
    cpus: frozenset[int] | None = None


@dataclass(frozen=True)
class Target:
    base: str
    admin_email: str
    admin_password: str
    server_pid: int | None
    description: dict[str, str]


@dataclass(frozen=True)
class Population:
    network_id: str
    tokens: list[str]  # one per account; the first is the poster's, who started the network
    seconds: dict[str, float]


@dataclass
class Receiver:
    """What one websocket client heard: each `note.created` with its arrival time, and how it ended."""

    arrivals: list[tuple[str, float]] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    heartbeats: int = 0
    other: Counter[str] = field(default_factory=Counter)
    closed: str | None = None

    def hear(self, raw: str | bytes, at: float) -> None:
        try:
            frame = json.loads(raw)
            kind = frame.get("type")
            note_id = str(frame["data"]["note_id"]) if kind == "note.created" else ""
        except (ValueError, KeyError, TypeError, AttributeError):
            self.other["malformed"] += 1
            return
        if note_id:
            self.arrivals.append((note_id, at))
            self.seen.add(note_id)
        elif kind == "heartbeat":
            self.heartbeats += 1
        else:
            self.other[str(kind)] += 1


@dataclass(frozen=True)
class Tally:
    delivered: int
    losses: int
    duplicates: int
    unexpected: int
    clients_with_losses: int
    latencies_ms: list[float]
    last_arrival: float | None


def tally(receivers: Sequence[Receiver], sent: dict[str, float], *, also_expected: Iterable[str] = ()) -> Tally:
    """Count, per client, each sent note heard once (delivered), never (lost) or again (duplicate).

    `sent` maps note ids to the moment their POST started; `also_expected` are other notes of the run
    (warm-ups) that are neither measured nor unexpected. A repeat of any note counts as a duplicate."""
    known = set(sent) | set(also_expected)
    delivered = losses = duplicates = unexpected = clients_with_losses = 0
    latencies: list[float] = []
    last: float | None = None
    for receiver in receivers:
        first: dict[str, float] = {}
        for note_id, at in receiver.arrivals:
            if note_id in first:
                duplicates += 1
                continue
            first[note_id] = at
            if note_id not in known:
                unexpected += 1
        missing = 0
        for note_id, started in sent.items():
            arrived = first.get(note_id)
            if arrived is None:
                missing += 1
                continue
            delivered += 1
            latencies.append((arrived - started) * 1000)
            last = arrived if last is None else max(last, arrived)
        losses += missing
        clients_with_losses += missing > 0
    return Tally(delivered, losses, duplicates, unexpected, clients_with_losses, latencies, last)


def exit_status(result: dict[str, Any]) -> int:
    """Non-zero when a delivery was lost or repeated, or a connection could not be opened."""
    return 1 if result["losses"] or result["duplicates"] or result.get("failed_connections") else 0


async def run_fanout(
    settings: Settings,
    *,
    clients: int,
    notes: int,
    server: Remote | Spawn | None = None,
    accounts: int | None = None,
    interval: float = 0.0,
    wait: float = 30.0,
    compression: bool = True,
    time_limit: float = 3600.0,
) -> dict[str, Any]:
    """N clients on the stream, one of them posting M network notes in turn; every client should hear each.

    The poster is one of the clients and a member like the others, so `expected` is clients * notes."""
    accounts = clients if accounts is None else accounts
    if clients < 1 or notes < 1 or not 1 <= accounts <= clients or interval < 0 or wait <= 0:
        raise ValueError("clients and notes must be positive, accounts between 1 and clients")
    work = _fanout(settings, clients, notes, server or Spawn(), accounts, interval, wait, compression)
    return await _limited(time_limit, work)


async def run_idle(
    settings: Settings,
    *,
    connections: int,
    server: Remote | Spawn | None = None,
    accounts: int | None = None,
    compression: bool = True,
    time_limit: float = 3600.0,
) -> dict[str, Any]:
    """Hold N idle stream connections and read the server's resident memory before and after."""
    accounts = min(connections, IDLE_ACCOUNTS) if accounts is None else accounts
    if connections < 1 or not 1 <= accounts <= connections:
        raise ValueError("connections must be positive, accounts between 1 and connections")
    return await _limited(time_limit, _idle(settings, connections, server or Spawn(), accounts, compression))


async def _limited(time_limit: float, work: Awaitable[dict[str, Any]]) -> dict[str, Any]:
    deadline = asyncio.timeout(time_limit)
    try:
        async with deadline:
            return await work
    except TimeoutError as error:
        if deadline.expired():
            raise BenchError(f"The fan-out benchmark did not finish within {time_limit:g} s.") from error
        raise


async def _fanout(
    settings: Settings,
    clients: int,
    notes: int,
    server: Remote | Spawn,
    accounts: int,
    interval: float,
    wait: float,
    compression: bool,
) -> dict[str, Any]:
    load_at_start = _load_average()
    open_files = _raise_open_file_limit(clients)
    async with _target(settings, server) as target, _client(target.base, SETUP_CONCURRENCY) as http:
        started = time.perf_counter()
        population = await _populate(http, target, accounts)
        tokens = _spread(population.tokens, clients)
        url = _stream_url(target.base)
        async with _connected(url, _bearers(tokens), compression=compression) as (receivers, connect_seconds):
            warm_started = time.perf_counter()
            poster = population.tokens[0]
            warm_ups = await _warm_up(http, poster, population.network_id, receivers)
            if deaf := _deaf(receivers, warm_ups):
                raise BenchError(f"{deaf} of {clients} clients heard none of {len(warm_ups)} warm-up notes.")
            setup = {
                **population.seconds,
                "connect": round(connect_seconds, 2),
                "warm_up": round(time.perf_counter() - warm_started, 2),
                "total": round(time.perf_counter() - started, 2),
            }
            with _no_collector_pauses():
                sent, post_ms = await _post_apart(target.base, poster, population.network_id, notes, interval)
                await _until_heard(receivers, set(sent), wait)
            if all(set(sent) <= r.seen for r in receivers):
                await asyncio.sleep(DUPLICATE_GRACE_SECONDS)
            counted = tally(receivers, sent, also_expected=warm_ups)
            closed = Counter(r.closed for r in receivers if r.closed is not None)
    first_sent = min(sent.values())
    span = (counted.last_arrival - first_sent) if counted.last_arrival is not None else None
    return {
        "benchmark": "fanout",
        "server": target.description,
        "cpu_count": os.cpu_count(),
        # The clients, the poster and the server share these CPUs; other work on the machine does too.
        "load_average_1min_at_start_and_end": [load_at_start, _load_average()],
        "clients": clients,
        "accounts": accounts,
        "notes": notes,
        "compression": _compression(compression),
        "expected": clients * notes,
        "expected_means": "every client hears every note: all are network members, the poster's connection too",
        "delivered": counted.delivered,
        "losses": counted.losses,
        "duplicates": counted.duplicates,
        "unexpected": counted.unexpected,
        "clients_with_losses": counted.clients_with_losses,
        "closed_by_server": dict(closed),
        "latency_ms": latency_summary(counted.latencies_ms),
        "latency_means": "from just before the note's POST to the frame's arrival at each client",
        "poster": "a process of its own" if shared_clock() else "one of the clients' tasks",
        "clients_are": "light sans-I/O websocket clients in one process: a frame is timed as its bytes are parsed",
        "deliveries_per_second": round(counted.delivered / span, 1) if span else None,
        "delivery_span_s": round(span, 3) if span is not None else None,
        "post_ms": _two_points(post_ms),
        "post_interval_s": interval,
        "wait_after_last_post_s": wait,
        "warm_up_notes": len(warm_ups),
        "setup_seconds": setup,
        "open_files_limit": open_files,
    }


async def _idle(
    settings: Settings, connections: int, server: Remote | Spawn, accounts: int, compression: bool
) -> dict[str, Any]:
    open_files = _raise_open_file_limit(connections)
    async with _target(settings, server) as target, _client(target.base, SETUP_CONCURRENCY) as http:
        population = await _populate(http, target, accounts)
        await asyncio.sleep(IDLE_SETTLE_SECONDS)
        before = _tree_rss_kib(target.server_pid)
        tokens = _spread(population.tokens, connections)
        async with _connected(_stream_url(target.base), _bearers(tokens), compression=compression, give_up=False) as (
            receivers,
            connect_seconds,
        ):
            await asyncio.sleep(IDLE_SETTLE_SECONDS)
            connected = _tree_rss_kib(target.server_pid)
            started = time.perf_counter()
            posted = await _warm_up(http, population.tokens[0], population.network_id, receivers)
            heard_seconds = time.perf_counter() - started
            await asyncio.sleep(IDLE_SETTLE_SECONDS)
            after_delivery = _tree_rss_kib(target.server_pid)
            deaf = _deaf(receivers, posted)
            duplicates = tally(receivers, {}, also_expected=posted).duplicates
            closed = Counter(r.closed for r in receivers if r.closed is not None)
            client_rss = rss_kib(os.getpid())
            processes = _per_process(target.server_pid)
    growth = connected - before if connected is not None and before is not None else None
    return {
        "benchmark": "fanout-idle",
        "server": target.description,
        "connections": connections,
        "connected": len(receivers),
        "failed_connections": connections - len(receivers),
        "accounts": accounts,
        "connections_per_token": math.ceil(connections / accounts),
        "tokens_shared": "argon2 sign-ins are slow, so connections share the accounts' tokens",
        "compression": _compression(compression),
        "connect_seconds": round(connect_seconds, 2),
        "server_rss_mib": {
            "before_connecting": _mib(before),
            f"all_connected_after_{IDLE_SETTLE_SECONDS:g}s": _mib(connected),
            "after_every_connection_heard_a_note": _mib(after_delivery),
            "growth_for_connections": _mib(growth),
        },
        "server_rss_per_connection_kib": round(growth / len(receivers), 1) if growth and receivers else None,
        "server_rss_means": "VmRSS of the server process and its children, from /proc",
        "server_processes": processes,
        "server_processes_means": "each process's VmRSS and open sockets once every connection had heard a note",
        "notes_posted_until_every_connection_heard_one": len(posted),
        "seconds_until_every_connection_heard_one": round(heard_seconds, 2),
        "losses": deaf,
        "losses_means": "open connections that heard none of the notes posted",
        "duplicates": duplicates,
        "closed_by_server": dict(closed),
        "client_rss_mib": _mib(client_rss),
        "open_files_limit": open_files,
    }


def _workers(count: int) -> str:
    return f"{count} uvicorn worker{'s' if count != 1 else ''}"


def _compression(offered: bool) -> str:
    return "permessage-deflate offered, as browsers do" if offered else "none"


def _two_points(values: Sequence[float]) -> dict[str, float]:
    return {"p50": round(percentile(values, 0.5), 2), "p99": round(percentile(values, 0.99), 2)}


def _mib(kib: int | None) -> float | None:
    return round(kib / 1024, 1) if kib is not None else None


def _load_average() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def _spread(tokens: Sequence[str], connections: int) -> list[str]:
    """One token per connection, the accounts taking turns; the poster's token comes first."""
    return [tokens[i % len(tokens)] for i in range(connections)]


def _raise_open_file_limit(connections: int) -> int:
    """Lift the soft limit on open files to the hard one; a server started from here inherits it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else max(soft, connections + 4 * FD_MARGIN)
    if soft < wanted:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft < connections + FD_MARGIN:
        raise BenchError(f"{connections} connections need more open files than the limit of {soft} allows.")
    return soft


def _tree_rss_kib(pid: int | None) -> int | None:
    """Resident memory of a process and all its descendants (uvicorn workers, say), in KiB."""
    members = tree(pid)
    return sum(rss_kib(member) or 0 for member in members) if members else None


def _per_process(pid: int | None) -> list[dict[str, Any]]:
    """Each process of the server's tree: its resident memory and how many sockets it holds (a worker's clients)."""
    members = tree(pid)
    return [
        {
            "pid": member,
            "role": role(member, members),
            "rss_mib": _mib(rss_kib(member)),
            "sockets": sockets(member),
        }
        for member in members
    ]


@asynccontextmanager
async def _target(settings: Settings, server: Remote | Spawn) -> AsyncIterator[Target]:
    if isinstance(server, Remote):
        yield Target(
            base=server.url.rstrip("/"),
            admin_email=server.admin_email,
            admin_password=server.admin_password,
            server_pid=server.server_pid,
            description={"url": server.url, "database": "as configured", "broker": "as configured"},
        )
        return
    with tempfile.TemporaryDirectory(prefix="patchwork-fanout-") as directory:
        workdir = Path(directory)
        database_url = server.database_url or f"sqlite:///{workdir / 'bench.db'}"
        env = _server_env(settings, database_url)
        if server.redis_url:
            env["PATCHWORK_REDIS_URL"] = server.redis_url
            env["PATCHWORK_REDIS_PREFIX"] = f"patchwork-bench-{secrets.token_hex(4)}"  # apart from anyone else's
        email, password = f"fanout-admin-{secrets.token_hex(4)}@bench.example.org", secrets.token_urlsafe(15)
        await _command(env, workdir, "db", "upgrade")
        await _command({**env, "PATCHWORK_ADMIN_PASSWORD": password}, workdir, "createadmin", "--email", email)
        async with _server(env, workdir, workers=server.workers, cpus=server.cpus) as (base, pid):
            yield Target(
                base=base,
                admin_email=email,
                admin_password=password,
                server_pid=pid,
                description={
                    "process": f"patchwork serve, {_workers(server.workers)}, {HOST}, started by the bench",
                    "database": urlsplit(database_url).scheme.split("+")[0]
                    + ("" if server.database_url else " (fresh temporary file)"),
                    "broker": "redis" if server.redis_url else "memory (in-process)",
                    "throttle": f"sign-in limits raised to {THROTTLE_LIMIT} for this run",
                },
            )


async def _command(env: dict[str, str], workdir: Path, *args: str) -> None:
    process = await asyncio.create_subprocess_exec(
        *_patchwork(*args),
        env=env,
        cwd=workdir,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), COMMAND_SECONDS)
    except BaseException:
        _kill(process)
        await process.wait()
        raise
    if process.returncode != 0:
        raise BenchError(f"`patchwork {' '.join(args)}` failed ({process.returncode}): {output.decode()[-2000:]}")


@asynccontextmanager
async def _server(
    env: dict[str, str], workdir: Path, *, workers: int = 1, cpus: frozenset[int] | None = None
) -> AsyncIterator[tuple[str, int]]:
    """Like the sign-in bench's server, but the process id is wanted too, to read its memory and CPU time."""
    port = _free_port()
    log_path = workdir / "server.log"
    command = _patchwork("serve", "--host", HOST, "--port", str(port), "--workers", str(workers))
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            *pinned_command(command, cpus),
            env=env,
            cwd=workdir,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
    try:
        base = f"http://{HOST}:{port}"
        await _wait_until_healthy(base, process, log_path)
        yield base, process.pid
        if process.returncode is not None:
            raise BenchError(f"The server exited during the run ({process.returncode}): {_tail(log_path)}")
    finally:
        await _stop(process)


async def _call(
    http: httpx.AsyncClient, what: str, path: str, body: dict[str, Any], *, token: str | None = None
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await http.post(path, json=body, headers=headers)
    if response.status_code != 201:
        try:
            code = str(response.json()["error"]["code"])
        except (ValueError, KeyError, TypeError):
            code = ""
        hint = (
            " (raise PATCHWORK_SIGN_IN_*_LIMIT on the server, or pass --accounts)"
            if response.status_code == 429
            else ""
        )
        raise Refused(what + hint, response.status_code, code, response.text)
    answer: dict[str, Any] = response.json()
    return answer


async def _bounded(limit: int, jobs: Iterable[Callable[[], Awaitable[T]]]) -> list[T]:
    """Run the jobs, at most `limit` at a time; the first failure cancels the rest and is raised."""
    gate = asyncio.Semaphore(limit)

    async def one(job: Callable[[], Awaitable[T]]) -> T:
        async with gate:
            return await job()

    tasks = [asyncio.ensure_future(one(job)) for job in jobs]
    try:
        return list(await asyncio.gather(*tasks))
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _populate(http: httpx.AsyncClient, target: Target, accounts: int) -> Population:
    """Organisations, practitioners with a token each, and one network they all belong to."""
    run = secrets.token_hex(4)
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    admin = await _sign_in(http, target.admin_email, target.admin_password)
    organisations = await _bounded(
        SETUP_CONCURRENCY,
        (
            functools.partial(
                _call,
                http,
                "Creating an organisation",
                "/api/v1/organisations",
                {"name": f"Fan-out bench {run} {kind}", "type": kind},
                token=admin,
            )
            for kind in ORGANISATION_TYPES[:accounts]
        ),
    )
    password = secrets.token_urlsafe(15)
    emails = [f"fanout-{run}-{n:05d}@bench.example.org" for n in range(accounts)]
    users = (
        {
            "email": email,
            "name": f"Fanout Practitioner {n}",
            "organisation_id": organisations[n % len(organisations)]["id"],
            "password": password,
        }
        for n, email in enumerate(emails)
    )
    await _bounded(
        SETUP_CONCURRENCY,
        (functools.partial(_call, http, "Creating an account", "/api/v1/users", u, token=admin) for u in users),
    )
    seconds["accounts"] = round(time.perf_counter() - started, 2)
    started = time.perf_counter()
    tokens = await _bounded(SETUP_CONCURRENCY, (functools.partial(_sign_in, http, e, password) for e in emails))
    seconds["sign_ins"] = round(time.perf_counter() - started, 2)
    started = time.perf_counter()
    network_id = await _start_network(http, tokens[0])
    path = f"/api/v1/networks/{network_id}/involvements"
    await _bounded(
        SETUP_CONCURRENCY,
        (functools.partial(_call, http, "Registering an involvement", path, INVOLVEMENT, token=t) for t in tokens[1:]),
    )
    seconds["network"] = round(time.perf_counter() - started, 2)
    return Population(network_id=network_id, tokens=tokens, seconds=seconds)


async def _sign_in(http: httpx.AsyncClient, email: str, password: str) -> str:
    answer = await _call(http, f"Signing in as {email}", "/api/v1/tokens", {"email": email, "password": password})
    return str(answer["token"])


async def _start_network(http: httpx.AsyncClient, token: str) -> str:
    """A network for a made-up child; another made-up child if the server sees a near duplicate."""
    for _ in range(NETWORK_ATTEMPTS):
        body = {"child": _made_up_child(), **INVOLVEMENT}
        try:
            answer = await _call(http, "Starting a network", "/api/v1/networks", body, token=token)
        except Refused as refusal:
            if refusal.code == "possible_duplicate":
                continue
            raise
        return str(answer["id"])
    raise BenchError(f"Every one of {NETWORK_ATTEMPTS} made-up children was refused as a possible duplicate.")


def _made_up_child() -> dict[str, str]:
    def name() -> str:
        return "".join(secrets.choice(string.ascii_lowercase) for _ in range(10)).capitalize()

    born = datetime.now(UTC).date() - timedelta(days=365 + secrets.randbelow(15 * 365))
    return {"given_name": name(), "family_name": name(), "date_of_birth": born.isoformat()}


def _stream_url(base: str) -> str:
    parts = urlsplit(base)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return f"{scheme}://{parts.netloc}{parts.path.rstrip('/')}{STREAM_PATH}"


def _bearers(tokens: Sequence[str]) -> list[tuple[dict[str, str], Receiver]]:
    return [({"Authorization": f"Bearer {token}"}, Receiver()) for token in tokens]


@asynccontextmanager
async def _connected(
    url: str, clients: Sequence[tuple[dict[str, str], R]], *, compression: bool, give_up: bool = True
) -> AsyncIterator[tuple[list[R], float]]:
    """One stream connection per (headers, receiver) pair (a light client: see bench/light_client.py); yields the
    receivers of those that opened, in the order given.

    With `give_up`, one connection that cannot open ends the run; otherwise it is left out."""
    opened: list[tuple[LightClient, R] | None] = [None] * len(clients)
    problems: Counter[str] = Counter()
    started = time.perf_counter()

    async def open_one(n: int) -> None:
        headers, receiver = clients[n]
        try:
            async with asyncio.timeout(OPEN_SECONDS):
                client = await connect_light(url, headers, receiver.hear, compression=compression)
        except Exception as error:  # refused handshakes, resets, timeouts: counted, reported
            problems[f"{type(error).__name__}: {error}"[:160]] += 1
            return
        client.closed.add_done_callback(lambda done: setattr(receiver, "closed", done.result()))
        opened[n] = (client, receiver)

    try:
        await _bounded(CONNECT_CONCURRENCY, (functools.partial(open_one, n) for n in range(len(clients))))
        seconds = time.perf_counter() - started
        if problems and give_up:
            raise BenchError(f"{sum(problems.values())} of {len(clients)} stream connections failed: {dict(problems)}")
        yield [pair[1] for pair in opened if pair is not None], seconds
    finally:
        clients_opened = [pair[0] for pair in opened if pair is not None]
        for client in clients_opened:
            client.close()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CLOSE_SECONDS):
                await asyncio.gather(*(client.closed for client in clients_opened), return_exceptions=True)


async def _warm_up(http: httpx.AsyncClient, token: str, network_id: str, receivers: Sequence[Receiver]) -> set[str]:
    """Post notes until every client has heard one, and so is open and following the network, or give up.

    Returns the notes posted; a client that has heard none of them is deaf."""
    posted: set[str] = set()
    for _ in range(WARM_UP_ROUNDS):
        sent, _ = await post_many(http, token, network_id, 1, 0.0, label="warm-up")
        posted |= set(sent)
        give_up = time.monotonic() + WARM_UP_SECONDS
        while time.monotonic() < give_up:
            if all(r.seen & posted for r in receivers):
                return posted
            await asyncio.sleep(POLL_SECONDS)
    return posted


@contextlib.contextmanager
def _no_collector_pauses() -> Iterator[None]:
    """While measuring, this process (the clients) does not stop for the garbage collector: its pauses, which
    grow with the arrivals recorded, would be counted as the server's latency."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


async def _post_apart(
    base: str, token: str, network_id: str, count: int, interval: float
) -> tuple[dict[str, float], list[float]]:
    """post_many in a process of its own (see bench.poster), so the clients' reading does not hold
    up the posts; here when that process's clock cannot be compared with ours."""
    if not shared_clock():
        async with _client(base, 1) as http:
            return await post_many(http, token, network_id, count, interval)
    job = {"base": base, "token": token, "network_id": network_id, "count": count, "interval": interval}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.poster",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate(json.dumps(job).encode())
    if process.returncode != 0:
        raise BenchError(f"The poster failed ({process.returncode}): {err.decode(errors='replace')[-2000:]}")
    result = json.loads(out)
    return {str(k): float(v) for k, v in result["sent"].items()}, [float(ms) for ms in result["post_ms"]]


def _deaf(receivers: Sequence[Receiver], posted: set[str]) -> int:
    return sum(1 for r in receivers if not r.seen & posted)


def network_note(text: str) -> dict[str, Any]:
    """A benchmark's note: an observation of today for the whole network, shared as a public task."""
    return {
        "body": text,
        "category": "other",
        "level": "observation",
        "observed_on": datetime.now(UTC).date().isoformat(),
        "audience": {"kind": "network"},
        "basis": BASIS,
    }


async def post_many(
    http: httpx.AsyncClient, token: str, network_id: str, count: int, interval: float, *, label: str = "bench"
) -> tuple[dict[str, float], list[float]]:
    """Post `count` network notes one after another; when each POST started (by note id) and how long each took."""
    path = f"/api/v1/networks/{network_id}/notes"
    sent: dict[str, float] = {}
    took_ms: list[float] = []
    run = secrets.token_hex(4)
    for n in range(count):
        body = network_note(f"Fan-out {label} note {n} of run {run}")
        started = time.perf_counter()
        answer = await _call(http, "Posting a note", path, body, token=token)
        took_ms.append((time.perf_counter() - started) * 1000)
        sent[str(answer["id"])] = started
        if interval:
            await asyncio.sleep(max(0.0, started + interval - time.perf_counter()))
    return sent, took_ms


async def _until_heard(receivers: Sequence[Receiver], notes: set[str], wait: float) -> None:
    """Until every client has heard every note, every client still short of some has closed, or `wait` is up."""
    give_up = time.monotonic() + wait
    while time.monotonic() < give_up:
        short = [r for r in receivers if not notes <= r.seen]
        if all(r.closed is not None for r in short):
            return
        await asyncio.sleep(POLL_SECONDS)
