"""Live delivery in lock step, the way issue 17 measures it: notes posted one after another, each once every client
has the one before in hand, against Patchwork's /api/v1/stream or the bare limit (bench/limit.py), with the
server's CPU time per delivery read from /proc.

"In hand" is when a client has the note's content: the frame's arrival when the event carries the note
(`data["note"]`), otherwise the arrival of the answer to the GET /api/v1/notes/{id} the client then makes (fetch
mode). Without fetch mode the frame's arrival is the delivery.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import resource
import secrets
import statistics
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.fanout import (
    BASIS,
    CONNECT_CONCURRENCY,
    SETUP_CONCURRENCY,
    Receiver,
    Remote,
    Spawn,
    _bounded,
    _call,
    _connected,
    _no_collector_pauses,
    _populate,
    _raise_open_file_limit,
    _spread,
    _stream_url,
    _target,
    _two_points,
    tally,
)
from bench.light_client import LightHTTP, connect_http
from bench.limit import BROADCAST_PATH, STREAM_PATH, limit_server
from bench.procs import busy_fraction, machine_busy_ticks, running_on, split_cpus, tree_cpu_seconds
from bench.signin import BenchError, _client, latency_summary
from patchwork.settings import Settings

__all__ = ["Follower", "Ledger", "LimitStage", "PatchworkStage", "limit_stage", "patchwork_stage", "run_delivery"]

NOTE_PATH = "/api/v1/notes/{note_id}"
WARM_UP_NOTES = 5
WARM_UP_ROUNDS = 6
WARM_UP_SECONDS = 10.0
TIMEOUTS_BEFORE_GIVING_UP = 3

# Post one note, answer its id.
Post = Callable[[], Awaitable[str]]


class Ledger:
    """Which clients have settled each note (have it in hand, or failed to fetch it), and waits for all of them."""

    def __init__(self, clients: int) -> None:
        self.clients = clients
        self.settled: dict[str, set[int]] = {}
        self.waiting: dict[str, asyncio.Future[None]] = {}

    def settle(self, note_id: str, client: int) -> None:
        done = self.settled.setdefault(note_id, set())
        done.add(client)
        if len(done) >= self.clients and note_id in self.waiting:
            future = self.waiting.pop(note_id)
            if not future.done():
                future.set_result(None)

    async def all_settled(self, note_id: str, seconds: float) -> bool:
        if len(self.settled.get(note_id, ())) >= self.clients:
            return True
        future = self.waiting[note_id] = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(seconds):
                await future
        except TimeoutError:
            return False
        finally:
            self.waiting.pop(note_id, None)
        return True


@dataclass
class Follower(Receiver):
    """A receiver that also times the note in hand: `arrivals` are in-hand times (what `tally` counts), `events`
    the frames' own arrivals. With an HTTP connection it GETs a note its event does not carry."""

    number: int = 0
    ledger: Ledger | None = None
    http: LightHTTP | None = None
    headers: dict[str, str] = field(default_factory=dict)
    events: list[tuple[str, float]] = field(default_factory=list)
    frame_bytes: list[int] = field(default_factory=list)
    carried: int = 0
    fetched: int = 0
    fetch_failures: Counter[str] = field(default_factory=Counter)

    def hear(self, raw: str | bytes, at: float) -> None:
        try:
            frame = json.loads(raw)
            kind = frame.get("type")
            data = frame["data"] if kind == "note.created" else {}
            note_id = str(data["note_id"]) if kind == "note.created" else ""
        except (ValueError, KeyError, TypeError, AttributeError):
            self.other["malformed"] += 1
            return
        if not note_id:
            super().hear(raw, at)
            return
        self.events.append((note_id, at))
        self.frame_bytes.append(len(raw))
        if isinstance(data, dict) and "note" in data:
            self.carried += 1
            self.in_hand(note_id, at)
        elif self.http is not None:
            self.http.get(NOTE_PATH.format(note_id=note_id), self.headers, functools.partial(self._answered, note_id))
        else:
            self.in_hand(note_id, at)

    def in_hand(self, note_id: str, at: float) -> None:
        self.arrivals.append((note_id, at))
        self.seen.add(note_id)
        if self.ledger is not None:
            self.ledger.settle(note_id, self.number)

    def _answered(self, note_id: str, status: int, body: bytes, at: float) -> None:
        if status == 200:
            self.fetched += 1
            self.in_hand(note_id, at)
            return
        self.fetch_failures[f"HTTP {status}" if status else "connection lost"] += 1
        if self.ledger is not None:
            self.ledger.settle(note_id, self.number)


@dataclass(frozen=True)
class Clients:
    """What the clients of one round connect with: the stream URL, each connection's headers, the HTTP base."""

    stream_url: str
    headers: list[dict[str, str]]
    base: str


async def lockstep(
    clients: Clients,
    post: Post,
    *,
    notes: int,
    server_pid: int | None,
    fetch: bool = False,
    wait: float = 10.0,
    compression: bool = True,
) -> dict[str, Any]:
    """Connect the clients, warm up, then post `notes` one at a time, each once every client has settled the one
    before; count deliveries and time them, and read the server's CPU time around the measured posts."""
    count = len(clients.headers)
    ledger = Ledger(count)
    followers = [
        Follower(number=n, ledger=ledger, headers=headers if fetch else {}) for n, headers in enumerate(clients.headers)
    ]
    https: list[LightHTTP] = []
    pairs = [(headers, follower) for headers, follower in zip(clients.headers, followers, strict=True)]
    async with _connected(clients.stream_url, pairs, compression=compression) as (receivers, connect_seconds):
        try:
            if fetch:
                https = await _bounded(
                    CONNECT_CONCURRENCY, (functools.partial(connect_http, clients.base) for _ in followers)
                )
                for follower, http in zip(followers, https, strict=True):
                    follower.http = http
            warm_ups = await _warm_up(post, ledger, followers, wait)
            result = await _measure(post, ledger, followers, notes=notes, wait=wait, server_pid=server_pid)
        finally:
            for http in https:
                http.close()
        counted = tally(receivers, result.sent, also_expected=warm_ups)
        closed = Counter(r.closed for r in receivers if r.closed is not None)
    event_ms = _event_latencies(followers, result.sent)
    deliveries = counted.delivered
    fetch_failures = sum((f.fetch_failures for f in followers), Counter[str]())
    return {
        "clients": count,
        "notes": notes,
        "posted": len(result.sent),
        "pace": "lock step: each note posted once every client had the one before in hand",
        "expected": count * notes,
        "delivered": deliveries,
        "losses": count * notes - deliveries,  # notes not posted (the run gave up) are lost to every client
        "duplicates": counted.duplicates,
        "unexpected": counted.unexpected,
        "clients_with_losses": counted.clients_with_losses,
        "closed_by_server": dict(closed),
        "notes_not_settled_in_time": result.timeouts,
        "latency_ms": latency_summary(counted.latencies_ms),
        "latency_means": (
            "from just before the POST to the note in hand at each client"
            if fetch
            else "from just before the POST to the frame's arrival at each client"
        ),
        **(
            {
                "event_latency_ms": latency_summary(event_ms),
                "in_hand": {
                    "carried_by_the_event": sum(f.carried for f in followers),
                    "fetched_with_get": sum(f.fetched for f in followers),
                    "fetch_failures": dict(fetch_failures),
                    "counts_mean": "every client's notes, the warm-up notes included",
                },
            }
            if fetch
            else {}
        ),
        "frame_bytes": round(statistics.median(b for f in followers for b in f.frame_bytes))
        if any(f.frame_bytes for f in followers)
        else None,
        "server_cpu_s": _round(result.server_cpu_s, 3),
        "server_cpu_us_per_delivery": _per(result.server_cpu_s, deliveries),
        "client_cpu_us_per_delivery": _per(result.client_cpu_s, deliveries),
        "cpu_means": "utime+stime of the server's process tree (from /proc) over the measured posts, per delivery; "
        "the clients' and poster's process likewise",
        "machine_busy_fraction": result.machine_busy,
        "post_ms": _two_points(result.post_ms) if result.post_ms else None,
        "wall_s": round(result.seconds, 3),
        "warm_up_notes": len(warm_ups),
        "connect_s": round(connect_seconds, 2),
    }


@dataclass(frozen=True)
class Measured:
    sent: dict[str, float]
    post_ms: list[float]
    timeouts: int
    seconds: float
    server_cpu_s: float | None
    client_cpu_s: float
    machine_busy: float | None


async def _warm_up(post: Post, ledger: Ledger, followers: Sequence[Follower], wait: float) -> set[str]:
    """Notes until every client has one in hand (it is open and following), then a few more to warm the server."""
    posted: set[str] = set()
    for _ in range(WARM_UP_ROUNDS):
        note_id = await post()
        posted.add(note_id)
        if await ledger.all_settled(note_id, WARM_UP_SECONDS):
            break
    if deaf := sum(1 for f in followers if not f.seen & posted):
        raise BenchError(f"{deaf} of {len(followers)} clients heard none of {len(posted)} warm-up notes.")
    for _ in range(WARM_UP_NOTES - 1):
        note_id = await post()
        posted.add(note_id)
        await ledger.all_settled(note_id, wait)
    return posted


async def _measure(
    post: Post, ledger: Ledger, followers: Sequence[Follower], *, notes: int, wait: float, server_pid: int | None
) -> Measured:
    sent: dict[str, float] = {}
    post_ms: list[float] = []
    timeouts = in_a_row = 0
    with _no_collector_pauses():
        machine = machine_busy_ticks()
        server_cpu = tree_cpu_seconds(server_pid)
        client_cpu = _own_cpu_seconds()
        started = time.perf_counter()
        for _ in range(notes):
            posting = time.perf_counter()
            note_id = await post()
            post_ms.append((time.perf_counter() - posting) * 1000)
            sent[note_id] = posting
            if await ledger.all_settled(note_id, wait):
                in_a_row = 0
                continue
            timeouts += 1
            in_a_row += 1
            if in_a_row >= TIMEOUTS_BEFORE_GIVING_UP:
                break
        seconds = time.perf_counter() - started
        server_after = tree_cpu_seconds(server_pid)
        client_cpu = _own_cpu_seconds() - client_cpu
        machine_busy = busy_fraction(machine, machine_busy_ticks())
    server_cpu_s = server_after - server_cpu if server_cpu is not None and server_after is not None else None
    return Measured(sent, post_ms, timeouts, seconds, server_cpu_s, client_cpu, machine_busy)


def _event_latencies(followers: Sequence[Follower], sent: dict[str, float]) -> list[float]:
    latencies: list[float] = []
    for follower in followers:
        first: dict[str, float] = {}
        for note_id, at in follower.events:
            first.setdefault(note_id, at)
        latencies.extend((first[n] - started) * 1000 for n, started in sent.items() if n in first)
    return latencies


def _own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _per(seconds: float | None, deliveries: int) -> float | None:
    return round(seconds * 1e6 / deliveries, 1) if seconds is not None and deliveries else None


def _round(value: float | None, digits: int) -> float | None:
    return round(value, digits) if value is not None else None


@dataclass
class PatchworkStage:
    """A Patchwork server with accounts and one network they all belong to, ready for rounds of any size."""

    base: str
    server_pid: int | None
    network_id: str
    tokens: list[str]
    http: httpx.AsyncClient
    description: dict[str, str]
    setup_seconds: dict[str, float]

    async def round(
        self, clients: int, notes: int, *, fetch: bool = False, wait: float = 10.0, compression: bool = True
    ) -> dict[str, Any]:
        _raise_open_file_limit(clients)
        tokens = _spread(self.tokens, clients)
        headers = [{"Authorization": f"Bearer {token}"} for token in tokens]
        poster = self.tokens[0]
        clients_of = Clients(_stream_url(self.base), headers, self.base)
        return await lockstep(
            clients_of,
            functools.partial(_post_note, self.http, poster, self.network_id),
            notes=notes,
            server_pid=self.server_pid,
            fetch=fetch,
            wait=wait,
            compression=compression,
        )


@asynccontextmanager
async def patchwork_stage(
    settings: Settings, *, accounts: int, server: Remote | Spawn | None = None
) -> AsyncIterator[PatchworkStage]:
    async with _target(settings, server or Spawn()) as target, _client(target.base, SETUP_CONCURRENCY) as http:
        population = await _populate(http, target, accounts)
        async with _client(target.base, 1) as posting:
            yield PatchworkStage(
                base=target.base,
                server_pid=target.server_pid,
                network_id=population.network_id,
                tokens=population.tokens,
                http=posting,
                description=target.description,
                setup_seconds=population.seconds,
            )


async def _post_note(http: httpx.AsyncClient, token: str, network_id: str) -> str:
    body = {
        "body": f"Lock-step bench note {secrets.token_hex(4)}",
        "category": "other",
        "level": "observation",
        "observed_on": time.strftime("%Y-%m-%d"),
        "audience": {"kind": "network"},
        "basis": BASIS,
    }
    answer = await _call(http, "Posting a note", f"/api/v1/networks/{network_id}/notes", body, token=token)
    return str(answer["id"])


@dataclass
class LimitStage:
    """The bare limit server: a round posts frames shaped like Patchwork's (padded to `frame_bytes` if given)."""

    base: str
    server_pid: int
    http: httpx.AsyncClient

    async def round(
        self, clients: int, notes: int, *, frame_bytes: int | None = None, wait: float = 10.0, compression: bool = True
    ) -> dict[str, Any]:
        _raise_open_file_limit(clients)
        parts = self.base.split("://", 1)[1]
        clients_of = Clients(f"ws://{parts}{STREAM_PATH}", [{} for _ in range(clients)], self.base)
        network_id = secrets.token_hex(16)
        return await lockstep(
            clients_of,
            functools.partial(self._post, network_id, frame_bytes),
            notes=notes,
            server_pid=self.server_pid,
            wait=wait,
            compression=compression,
        )

    async def _post(self, network_id: str, frame_bytes: int | None) -> str:
        note_id = secrets.token_hex(16)
        text = limit_frame(note_id, network_id, frame_bytes)
        response = await self.http.post(BROADCAST_PATH, content=text.encode())
        if response.status_code != 201:
            raise BenchError(f"The limit server answered {response.status_code}: {response.text[:500]}")
        return note_id


def limit_frame(note_id: str, network_id: str, size: int | None = None) -> str:
    """A note.created frame like Patchwork's, padded to `size` bytes when that is more than its own."""
    frame: dict[str, Any] = {
        "cursor": secrets.token_urlsafe(24),
        "network_id": network_id,
        "type": "note.created",
        "data": {"note_id": note_id},
    }
    text = json.dumps(frame, separators=(",", ":"))
    if size is not None and size > len(text) + len(',"pad":""'):
        frame["data"]["pad"] = "x" * (size - len(text) - len(',"pad":""'))
        text = json.dumps(frame, separators=(",", ":"))
    return text


@asynccontextmanager
async def limit_stage(cpus: frozenset[int] | None = None) -> AsyncIterator[LimitStage]:
    async with limit_server(cpus) as (base, pid), _client(base, 1) as http:
        yield LimitStage(base=base, server_pid=pid, http=http)


async def run_delivery(
    settings: Settings,
    *,
    clients: int,
    notes: int,
    accounts: int | None = None,
    fetch: bool = False,
    limit: bool = True,
    pin: bool = True,
    server: Remote | Spawn | None = None,
    wait: float = 10.0,
    compression: bool = True,
) -> dict[str, Any]:
    """One lock-step round against Patchwork (and, with `limit`, the same against the limit), side by side."""
    if clients < 1 or notes < 1 or wait <= 0:
        raise ValueError("clients and notes must be positive")
    split = split_cpus(pin)
    accounts = min(clients, accounts or clients)
    spawn = server or Spawn()
    if isinstance(spawn, Spawn) and split.pinned:
        spawn = Spawn(spawn.database_url, spawn.redis_url, spawn.workers, split.server)
    with running_on(split.clients if split.pinned else None):
        async with patchwork_stage(settings, accounts=accounts, server=spawn) as stage:
            patchwork = await stage.round(clients, notes, fetch=fetch, wait=wait, compression=compression)
            patchwork["server"] = stage.description
        found: dict[str, Any] = {"benchmark": "delivery", "pinning": split.describe(), "patchwork": patchwork}
        if limit:
            async with limit_stage(split.server if split.pinned else None) as bare:
                found["limit"] = await bare.round(
                    clients, notes, frame_bytes=patchwork["frame_bytes"], wait=wait, compression=compression
                )
            found["ratios"] = ratios(patchwork, found["limit"])
    found["cpu_count"] = os.cpu_count()
    found["load_average_1min_at_end"] = _load_average()
    return found


def ratios(patchwork: dict[str, Any], limit: dict[str, Any]) -> dict[str, float | None]:
    """Patchwork's figure over the limit's: CPU per delivery, p50 and p99."""
    return {
        "server_cpu_per_delivery": _ratio(patchwork["server_cpu_us_per_delivery"], limit["server_cpu_us_per_delivery"]),
        "p50": _ratio(patchwork["latency_ms"]["p50"], limit["latency_ms"]["p50"]),
        "p99": _ratio(patchwork["latency_ms"]["p99"], limit["latency_ms"]["p99"]),
    }


def _ratio(ours: float | None, limit: float | None) -> float | None:
    return round(ours / limit, 2) if ours is not None and limit else None


def _load_average() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None
