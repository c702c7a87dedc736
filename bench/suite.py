"""Issue 17's figures in one run and one JSON document: live delivery against the bare limit at two sizes, the note
in hand, a post's fixed cost, posting throughput and idle connections, each target with its verdict.

Every part that fails is reported in its place ({"error": ...}) and the rest still run, so the document is always
whole; `targets` compares what was measured with what the issue asks, and says when a figure was not measured as
the issue describes (other sizes, SQLite for throughput, a machine without two CPUs to pin to).
"""

from __future__ import annotations

import asyncio
import inspect
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bench.delivery import limit_stage, patchwork_stage, ratios
from bench.fanout import Spawn, _limited, run_idle
from bench.procs import Split, busy_fraction, machine_busy_ticks, running_on, split_cpus
from bench.signin import BenchError
from patchwork.settings import Settings

__all__ = ["QUICK", "run_suite", "targets"]

SIZES = (100, 500)
IN_HAND_CLIENTS = 100
IDLE_TARGET = 10_000
IDLE_RSS_TARGET_MIB = 600.0
THROUGHPUT_TARGET = 500.0
POST_COST_P50_MS = {"sqlite": 1.5, "postgresql": 2.0}
# Each target: where its figure is, which way it must lie, the bound, and the size it is stated for.
DELIVERY_TARGETS = (
    ("server_cpu_per_delivery_ratio", ("ratios", "server_cpu_per_delivery"), {100: 2.5, 500: 1.5}),
    ("p50_ratio", ("ratios", "p50"), {100: 2.0, 500: 2.0}),
)
P99_UNDER_MS = {100: 10.0, 500: 30.0}
QUICK: dict[str, Any] = {
    "sizes": (20, 50),
    "notes": 30,
    "in_hand_clients": 20,
    "idle": 500,
    "throughput_seconds": 3.0,
    "post_cost_notes": 50,
}
CONTENTION_SAMPLE_SECONDS = 1.0


async def run_suite(
    settings: Settings,
    *,
    sizes: tuple[int, ...] = SIZES,
    notes: int = 200,
    accounts: int = 100,
    in_hand_clients: int = IN_HAND_CLIENTS,
    idle: int = IDLE_TARGET,
    idle_accounts: int = 20,
    posters: int = 20,
    throughput_seconds: float = 10.0,
    post_cost_notes: int = 500,
    database_url: str | None = None,
    redis_url: str | None = None,
    pin: bool = True,
    skip: frozenset[str] = frozenset(),
    part_time_limit: float = 900.0,
) -> dict[str, Any]:
    """Run every part not in `skip` ("delivery", "in_hand", "post_cost", "throughput", "idle") and judge the targets.

    `database_url` (a PostgreSQL admin URL: databases are made for the run and dropped) and `redis_url` serve the
    throughput and two-worker parts; without them throughput runs on SQLite with one worker and two workers are
    not tried."""
    if not sizes or min(sizes) < 1 or notes < 1 or accounts < 1 or idle < 1 or in_hand_clients < 1:
        raise ValueError("sizes, notes, accounts, idle connections and in-hand clients must be positive")
    started = time.perf_counter()
    found: dict[str, Any] = {"benchmark": "suite", "issue": 17, "machine": await _machine(pin)}
    split = split_cpus(pin)

    async def part(name: str, work: Callable[[], Awaitable[dict[str, Any]]]) -> None:
        if name in skip:
            found[name] = {"skipped": "asked to skip"}
            return
        begun = time.perf_counter()
        try:
            found[name] = await _limited(part_time_limit, work())
        except (BenchError, ValueError, OSError) as error:
            found[name] = {"error": f"{type(error).__name__}: {error}"}
        found[name]["part_seconds"] = round(time.perf_counter() - begun, 1)

    if {"delivery", "in_hand"} <= skip:
        found["delivery"] = found["in_hand"] = {"skipped": "asked to skip"}
    else:
        await part("live", lambda: _live(settings, sizes, notes, accounts, in_hand_clients, split, skip))
        live = found.pop("live")
        for name in ("delivery", "in_hand"):
            found[name] = live.get(name, {"error": live.get("error", "not run")})
        found["delivery"].setdefault("part_seconds", live["part_seconds"])
    await part("post_cost", lambda: _post_cost(settings, post_cost_notes, database_url))
    await part("throughput", lambda: _throughput(settings, posters, throughput_seconds, database_url, redis_url))
    await part("idle", lambda: _idle(settings, idle, idle_accounts, database_url, redis_url))
    found["targets"] = targets(found)
    found["seconds"] = round(time.perf_counter() - started, 1)
    found["machine"]["load_average_1min_at_end"] = _load_average()
    return found


async def _machine(pin: bool) -> dict[str, Any]:
    """The machine, and how busy others kept it just before the run (a contended machine inflates every figure)."""
    before = machine_busy_ticks()
    await asyncio.sleep(CONTENTION_SAMPLE_SECONDS)
    others = busy_fraction(before, machine_busy_ticks())
    return {
        "cpu_count": os.cpu_count(),
        "pinning": split_cpus(pin).describe(),
        "load_average_1min_at_start": _load_average(),
        "busy_fraction_before_start": others,
        "busy_means": f"the fraction of all CPUs busy with others' work over {CONTENTION_SAMPLE_SECONDS:g} s before "
        "the run: above a few hundredths, the figures are from a contended machine",
        "contended": others is not None and others > 0.1,
    }


async def _live(
    settings: Settings,
    sizes: tuple[int, ...],
    notes: int,
    accounts: int,
    in_hand_clients: int,
    split: Split,
    skip: frozenset[str],
) -> dict[str, Any]:
    """Patchwork and the limit side by side, both pinned to the server CPU, one size after the other (Patchwork
    first: the limit's frames are padded to the size of Patchwork's); then the note in hand on Patchwork."""
    server_cpus = split.server if split.pinned else None
    wanted = min(accounts, max(*sizes, in_hand_clients))
    found: dict[str, Any] = {"delivery": {"skipped": "asked to skip"}, "in_hand": {"skipped": "asked to skip"}}
    with running_on(split.clients if split.pinned else None):
        async with (
            patchwork_stage(settings, accounts=wanted, server=Spawn(cpus=server_cpus)) as ours,
            limit_stage(server_cpus) as bare,
        ):
            if "delivery" not in skip:
                rounds: dict[str, Any] = {}
                for clients in sizes:
                    patchwork = await ours.round(clients, notes)
                    limit = await bare.round(clients, notes, frame_bytes=patchwork["frame_bytes"])
                    rounds[f"{clients}_clients"] = {
                        "accounts": min(wanted, clients),
                        "patchwork": patchwork,
                        "limit": limit,
                        "ratios": ratios(patchwork, limit),
                    }
                found["delivery"] = {
                    "server": ours.description,
                    "limit_server": "bench/limit.py: a bare Starlette websocket broadcast, no sign-in, no storage, "
                    "under uvicorn as patchwork serve runs it",
                    "pinning": split.describe(),
                    "setup_seconds": ours.setup_seconds,
                    **rounds,
                }
            if "in_hand" not in skip:
                in_hand = await ours.round(in_hand_clients, notes, fetch=True)
                found["in_hand"] = {
                    "mode": "fetch: a client GETs /api/v1/notes/{id} when the event does not carry the note",
                    "accounts": min(wanted, in_hand_clients),
                    **in_hand,
                }
    return found


async def _post_cost(settings: Settings, notes: int, database_url: str | None) -> dict[str, Any]:
    """On SQLite, and on PostgreSQL when given: the issue bounds both."""
    try:
        from bench.post_cost import run_post_cost
    except ImportError:
        return {"skipped": "bench/post_cost.py not present"}
    found: dict[str, Any] = {}
    for kind, url in (("sqlite", None), ("postgresql", database_url)):
        if kind == "postgresql" and url is None:
            found[kind] = {"skipped": "no PATCHWORK_BENCH_DATABASE_URL"}
            continue
        # It builds and drives the app in-process with its own loop: a thread of its own keeps ours out of the way.
        answer: Any = await asyncio.to_thread(run_post_cost, settings, notes=notes, database_url=url)
        if inspect.isawaitable(answer):
            answer = await answer
        found[kind] = dict(answer)
    return found


async def _throughput(
    settings: Settings, posters: int, seconds: float, database_url: str | None, redis_url: str | None
) -> dict[str, Any]:
    from bench.throughput import run_throughput

    production = database_url is not None and redis_url is not None
    result = await run_throughput(
        settings,
        posters=posters,
        seconds=seconds,
        database_url=database_url,
        redis_url=redis_url if production else None,
        workers=2 if production else 1,
    )
    result["as_the_issue_asks"] = production
    if not production:
        result["note"] = (
            "SQLite and one worker: the issue's figure is PostgreSQL with two workers and Redis "
            "(give --database-url and --redis-url, or PATCHWORK_BENCH_DATABASE_URL and PATCHWORK_BENCH_REDIS_URL)"
        )
    return result


async def _idle(
    settings: Settings, connections: int, accounts: int, database_url: str | None, redis_url: str | None
) -> dict[str, Any]:
    accounts = min(accounts, connections)
    one = await run_idle(settings, connections=connections, accounts=accounts)
    found: dict[str, Any] = {"one_worker": one}
    if redis_url is None:
        found["two_workers"] = {"skipped": "needs a Redis URL (--redis-url or PATCHWORK_BENCH_REDIS_URL)"}
        return found
    two = await _two_workers(settings, connections, accounts, database_url, redis_url)
    found["two_workers"] = two
    return found


async def _two_workers(
    settings: Settings, connections: int, accounts: int, database_url: str | None, redis_url: str
) -> dict[str, Any]:
    if database_url is None:
        return await run_idle(
            settings, connections=connections, accounts=accounts, server=Spawn(redis_url=redis_url, workers=2)
        )
    from bench.throughput import _database

    async with _database(database_url) as url:
        spawn = Spawn(database_url=url, redis_url=redis_url, workers=2)
        return await run_idle(settings, connections=connections, accounts=accounts, server=spawn)


def targets(found: dict[str, Any]) -> dict[str, Any]:
    """Each issue-17 target: what was measured, the bound, and whether it is met (None when not measured as the
    target states it)."""
    verdicts: dict[str, Any] = {}
    delivery = found.get("delivery", {})
    for name, (section, key), bounds in DELIVERY_TARGETS:
        for clients, bound in bounds.items():
            measured = _dig(delivery, f"{clients}_clients", section, key)
            verdicts[f"{name}_{clients}_clients"] = _unmeasured(_verdict(measured, at_most=bound), delivery, clients)
    for clients, bound in P99_UNDER_MS.items():
        measured = _dig(delivery, f"{clients}_clients", "patchwork", "latency_ms", "p99")
        verdicts[f"p99_ms_{clients}_clients"] = _unmeasured(_verdict(measured, under=bound), delivery, clients)
    rounds = [r["patchwork"] for k, r in delivery.items() if k.endswith("_clients") and isinstance(r, dict)]
    verdicts["delivery_no_loss_or_duplicate"] = {
        "measured": {"losses": sum(r["losses"] for r in rounds), "duplicates": sum(r["duplicates"] for r in rounds)},
        "met": all(r["losses"] == 0 and r["duplicates"] == 0 for r in rounds) if rounds else None,
    }
    in_hand = found.get("in_hand", {})
    verdicts[f"note_in_hand_p50_ms_{IN_HAND_CLIENTS}_clients"] = {
        "measured": _dig(in_hand, "latency_ms", "p50") if in_hand.get("clients") == IN_HAND_CLIENTS else None,
        "target": "reported: the issue asks for the figure, with no bound",
        "met": None,
    }
    for kind, bound in POST_COST_P50_MS.items():
        measured = _dig(found, "post_cost", kind, "p50_ms")
        verdicts[f"post_fixed_cost_p50_ms_{kind}"] = _verdict(measured, at_most=bound)
    throughput = found.get("throughput", {})
    verdict = _verdict(throughput.get("notes_per_second"), at_least=THROUGHPUT_TARGET)
    if not throughput.get("as_the_issue_asks"):
        verdict["met"] = None
        verdict["why_not_judged"] = "not measured on PostgreSQL with two workers"
    verdicts["throughput_notes_per_second"] = verdict
    one = _dig(found, "idle", "one_worker") or {}
    rss = _dig(one, "server_rss_mib", "after_every_connection_heard_a_note")
    idle_rss = _verdict(rss, under=IDLE_RSS_TARGET_MIB)
    _judge_idle(idle_rss, one)
    verdicts[f"idle_{IDLE_TARGET}_one_worker_rss_mib"] = idle_rss
    two = _dig(found, "idle", "two_workers") or {}
    heard: dict[str, Any] = {
        "measured": {"connected": two.get("connected"), "losses": two.get("losses")} if "connected" in two else None,
        "met": (two["losses"] == 0 and two["failed_connections"] == 0) if "connected" in two else None,
    }
    _judge_idle(heard, two)
    if "server_processes" in two:
        heard["rss_mib_per_worker"] = [p["rss_mib"] for p in two["server_processes"] if p["role"] == "worker"]
    verdicts[f"idle_{IDLE_TARGET}_two_workers_every_socket_heard"] = heard
    return verdicts


def _unmeasured(verdict: dict[str, Any], delivery: dict[str, Any], clients: int) -> dict[str, Any]:
    if verdict["measured"] is None:
        sizes = [key.removesuffix("_clients") for key in delivery if key.endswith("_clients")]
        verdict["why_not_judged"] = (
            f"not measured at {clients} clients" + (f" (measured at {', '.join(sizes)})" if sizes else "")
            if "error" not in delivery
            else "the delivery part failed"
        )
    return verdict


def _judge_idle(verdict: dict[str, Any], idle: dict[str, Any]) -> None:
    """An idle verdict holds only for the issue's count, with every connection open and hearing its note."""
    if not idle or "connections" not in idle:
        verdict["met"] = None
        return
    if idle["connections"] != IDLE_TARGET:
        verdict["met"] = None
        verdict["why_not_judged"] = f"measured with {idle['connections']} connections"
    elif idle["failed_connections"] or idle["losses"]:
        verdict["met"] = False
        verdict["why_not_met"] = f"{idle['failed_connections']} did not connect, {idle['losses']} heard nothing"


def _verdict(
    measured: float | None,
    *,
    at_most: float | None = None,
    under: float | None = None,
    at_least: float | None = None,
) -> dict[str, Any]:
    verdict: dict[str, Any] = {"measured": measured}
    if at_most is not None:
        verdict["at_most"] = at_most
        met = measured is not None and measured <= at_most
    elif under is not None:
        verdict["under"] = under
        met = measured is not None and measured < under
    else:
        verdict["at_least"] = at_least
        met = measured is not None and at_least is not None and measured >= at_least
    verdict["met"] = met if measured is not None else None
    return verdict


def _dig(found: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(found, dict) or key not in found:
            return None
        found = found[key]
    return found


def _load_average() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None
