"""Sign-in benchmark: argon2 throughput and event-loop responsiveness of a real server under load.

A fresh SQLite database and a `patchwork serve` subprocess on 127.0.0.1; API sign-ins run while other
requests stay in flight and /healthz is probed on its own connection from its own thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import secrets
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from argon2 import PasswordHasher, Type

from patchwork.settings import Settings, new_data_key

HOST = "127.0.0.1"
THROTTLE_LIMIT = 1_000_000
PREFERRED_EMAIL = "tom.fletcher@oakfield-primary-school.example.org"
HEALTHZ_TARGET_MS = 20.0
BACKGROUND_PATHS = ("/sign-in", "/readyz")
HASH_SAMPLES = 5
DEMO_SECONDS = 300.0
START_SECONDS = 60.0
STOP_SECONDS = 10.0
REQUEST_SECONDS = 120.0
PROBE_SECONDS = 10.0
# Below uvicorn's 5 s keep-alive timeout: reusing a connection the server is closing reads nothing back.
KEEPALIVE_SECONDS = 2.0


class BenchError(RuntimeError):
    """The benchmark could not run or finish; the message says why."""


@dataclass
class Tally:
    """Answers of one kind of request: latencies of those answered, counts of what went wrong."""

    expected: int | None = None  # a specific status that counts as success; otherwise any 2xx
    latencies_ms: list[float] = field(default_factory=list)
    ok: int = 0
    non_2xx: int = 0
    failed: int = 0  # no HTTP answer at all: refused, reset, timed out
    problems: Counter[str] = field(default_factory=Counter)

    def answer(self, status: int, latency_ms: float) -> None:
        self.latencies_ms.append(latency_ms)
        if not 200 <= status < 300:
            self.non_2xx += 1
            self.problems[f"HTTP {status}"] += 1
        elif self.expected is None or status == self.expected:
            self.ok += 1
        else:
            self.problems[f"HTTP {status}"] += 1

    def failure(self, error: Exception) -> None:
        self.failed += 1
        self.problems[type(error).__name__] += 1

    def counts(self) -> dict[str, Any]:
        return {"ok": self.ok, "non_2xx": self.non_2xx, "failed": self.failed, "problems": dict(self.problems)}


@dataclass(frozen=True)
class Measurement:
    sign_in: Tally
    healthz: Tally
    background: Tally
    seconds: float


async def run(
    settings: Settings,
    *,
    requests: int = 200,
    background: int = 50,
    concurrency: int = 16,
    probe_interval: float = 0.02,
    time_limit: float = 600.0,
) -> dict[str, Any]:
    """Run the benchmark and return its results as JSON-ready data; BenchError if it cannot finish."""
    if requests < 1 or background < 0 or concurrency < 1 or probe_interval <= 0:
        raise ValueError("requests and concurrency must be positive, background zero or more")
    deadline = asyncio.timeout(time_limit)
    try:
        async with deadline:
            return await _run(settings, requests, background, concurrency, probe_interval)
    except TimeoutError as error:
        if deadline.expired():
            raise BenchError(
                f"The sign-in benchmark did not finish within {time_limit:g} s; the server was stopped."
            ) from error
        raise


async def _run(
    settings: Settings, requests: int, background: int, concurrency: int, probe_interval: float
) -> dict[str, Any]:
    load_at_start = _load_average()
    hash_ms = await asyncio.to_thread(_time_one_hash, settings)
    with tempfile.TemporaryDirectory(prefix="patchwork-bench-") as directory:
        workdir = Path(directory)
        env = _server_env(settings, f"sqlite:///{workdir / 'bench.db'}")
        password = secrets.token_urlsafe(15)  # 20 characters
        email = await _create_demo_accounts(env, workdir, password)
        async with _server(env, workdir) as base:
            measurement = await _measure(
                base,
                body={"email": email, "password": password},
                requests=requests,
                background=background,
                concurrency=concurrency,
                probe_interval=probe_interval,
            )
    return _report(
        settings,
        measurement,
        load_average=[load_at_start, _load_average()],
        hash_ms=hash_ms,
        concurrency=concurrency,
        background=background,
        probe_interval=probe_interval,
    )


def _time_one_hash(settings: Settings) -> float:
    """Median time of one argon2id hash at the configured parameters, one hash at a time."""
    hasher = PasswordHasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
        type=Type.ID,
    )
    password = secrets.token_urlsafe(15)
    timings = []
    for _ in range(HASH_SAMPLES):
        started = time.perf_counter()
        hasher.hash(password)
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def _load_average() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def _server_env(settings: Settings, database_url: str) -> dict[str, str]:
    # Inherited PATCHWORK_* variables (a Redis URL, production secrets) must not reach the bench server.
    env = {name: value for name, value in os.environ.items() if not name.startswith("PATCHWORK_")}
    env.update(
        {
            "PATCHWORK_ENV": "local",
            "PATCHWORK_DATABASE_URL": database_url,
            "PATCHWORK_SECRET_KEY": secrets.token_urlsafe(48),
            "PATCHWORK_DATA_KEY": new_data_key(),
            "PATCHWORK_AUDIT_KEY": new_data_key(),
            "PATCHWORK_LOG_LEVEL": "WARNING",
            "PATCHWORK_ARGON2_TIME_COST": str(settings.argon2_time_cost),
            "PATCHWORK_ARGON2_MEMORY_KIB": str(settings.argon2_memory_kib),
            "PATCHWORK_ARGON2_PARALLELISM": str(settings.argon2_parallelism),
            "PATCHWORK_PASSWORD_HASHING_THREADS": str(settings.password_hashing_threads),
            "PATCHWORK_SIGN_IN_ACCOUNT_LIMIT": str(THROTTLE_LIMIT),
            "PATCHWORK_SIGN_IN_ADDRESS_LIMIT": str(THROTTLE_LIMIT),
        }
    )
    return env


def _patchwork(*args: str) -> list[str]:
    return [sys.executable, "-c", "from patchwork.cli import main; raise SystemExit(main())", *args]


async def _create_demo_accounts(env: dict[str, str], workdir: Path, password: str) -> str:
    """Create the demo accounts with one password; return the e-mail of a practitioner to sign in as."""
    process = await asyncio.create_subprocess_exec(
        *_patchwork("demo", f"--password={password}", "--json"),  # a password may begin with "-"
        env=env,
        cwd=workdir,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), DEMO_SECONDS)
    except BaseException:
        _kill(process)
        await process.wait()
        raise
    if process.returncode != 0:
        raise BenchError(f"`patchwork demo` failed ({process.returncode}): {stderr.decode()[-2000:]}")
    lines = stdout.decode().strip().splitlines()
    try:
        accounts: list[dict[str, Any]] = json.loads(lines[-1])["accounts"]
    except (IndexError, ValueError, KeyError) as error:
        raise BenchError(f"`patchwork demo --json` printed no account list: {stdout.decode()[-2000:]}") from error
    return _practitioner(accounts)


def _practitioner(accounts: Sequence[dict[str, Any]]) -> str:
    emails = [a["email"] for a in accounts if a["kind"] == "practitioner" and "org_admin" not in a["roles"]]
    if not emails:
        raise BenchError("`patchwork demo` created no practitioner to sign in as.")
    return PREFERRED_EMAIL if PREFERRED_EMAIL in emails else str(emails[0])


@asynccontextmanager
async def _server(env: dict[str, str], workdir: Path) -> AsyncIterator[str]:
    """Run `patchwork serve` on a free local port until the block ends; yield its base URL."""
    port = _free_port()
    log_path = workdir / "server.log"
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            *_patchwork("serve", "--host", HOST, "--port", str(port)),
            env=env,
            cwd=workdir,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
    try:
        base = f"http://{HOST}:{port}"
        await _wait_until_healthy(base, process, log_path)
        yield base
    finally:
        await _stop(process)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


async def _wait_until_healthy(base: str, process: asyncio.subprocess.Process, log_path: Path) -> None:
    give_up = time.monotonic() + START_SECONDS
    async with _client(base, 1) as client:
        while time.monotonic() < give_up:
            if process.returncode is not None:
                raise BenchError(f"The server exited ({process.returncode}): {_tail(log_path)}")
            try:
                if (await client.get("/healthz", timeout=1.0)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise BenchError(f"The server did not answer /healthz within {START_SECONDS:g} s: {_tail(log_path)}")


async def _stop(process: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        process.terminate()
    try:
        await asyncio.wait_for(process.wait(), STOP_SECONDS)
    except TimeoutError:
        _kill(process)
        await process.wait()
    except BaseException:
        _kill(process)
        raise


def _kill(process: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        process.kill()


def _tail(path: Path) -> str:
    return path.read_text(errors="replace")[-2000:] if path.exists() else "(no server output)"


def _client(base: str, connections: int) -> httpx.AsyncClient:
    # trust_env=False: no proxy from the environment may stand between the bench and 127.0.0.1.
    return httpx.AsyncClient(
        base_url=base,
        trust_env=False,
        timeout=REQUEST_SECONDS,
        limits=httpx.Limits(
            max_connections=connections, max_keepalive_connections=connections, keepalive_expiry=KEEPALIVE_SECONDS
        ),
    )


async def _measure(
    base: str,
    *,
    body: dict[str, str],
    requests: int,
    background: int,
    concurrency: int,
    probe_interval: float,
) -> Measurement:
    sign_in, healthz, busy = Tally(expected=201), Tally(), Tally()
    stop_background, stop_probe = asyncio.Event(), threading.Event()
    probe: asyncio.Future[None] | None = None
    async with _client(base, max(background, 1)) as busy_client, _client(base, concurrency) as sign_in_client:
        workers = [
            asyncio.create_task(_keep_busy(busy_client, busy, stop_background, turn)) for turn in range(background)
        ]
        try:
            await _warm_up(sign_in_client, body)
            probe = asyncio.ensure_future(asyncio.to_thread(_probe_healthz, base, healthz, stop_probe, probe_interval))
            started = time.perf_counter()
            await _sign_in_many(sign_in_client, body, sign_in, requests=requests, concurrency=concurrency)
            seconds = time.perf_counter() - started
        finally:
            stop_probe.set()
            stop_background.set()
            if probe is not None:
                await probe
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
    return Measurement(sign_in=sign_in, healthz=healthz, background=busy, seconds=seconds)


async def _warm_up(client: httpx.AsyncClient, body: dict[str, str]) -> None:
    """One sign-in before measuring: it proves the credentials work and is not counted."""
    response = await client.post("/api/v1/tokens", json=body)
    if response.status_code != 201:
        raise BenchError(f"The warm-up sign-in answered {response.status_code}: {response.text[:500]}")


async def _sign_in_many(
    client: httpx.AsyncClient, body: dict[str, str], tally: Tally, *, requests: int, concurrency: int
) -> None:
    remaining = iter(range(requests))  # shared by the workers, so each request is sent once

    async def worker() -> None:
        for _ in remaining:
            await _timed(tally, client.post("/api/v1/tokens", json=body))

    await asyncio.gather(*(worker() for _ in range(min(concurrency, requests))))


async def _keep_busy(client: httpx.AsyncClient, tally: Tally, stop: asyncio.Event, turn: int) -> None:
    while not stop.is_set():
        await _timed(tally, client.get(BACKGROUND_PATHS[turn % len(BACKGROUND_PATHS)]))
        turn += 1


async def _timed(tally: Tally, sending: Awaitable[httpx.Response]) -> None:
    started = time.perf_counter()
    try:
        response = await sending
    except httpx.HTTPError as error:
        tally.failure(error)
        return
    tally.answer(response.status_code, (time.perf_counter() - started) * 1000)


def _probe_healthz(base: str, tally: Tally, stop: threading.Event, interval: float) -> None:
    """GET /healthz one at a time, every `interval` seconds, in a thread so the load cannot delay it."""
    limits = httpx.Limits(max_connections=1, keepalive_expiry=KEEPALIVE_SECONDS)
    with httpx.Client(base_url=base, trust_env=False, timeout=PROBE_SECONDS, limits=limits) as client:
        while not stop.is_set():
            started = time.perf_counter()
            try:
                status = client.get("/healthz").status_code
            except httpx.HTTPError as error:
                tally.failure(error)
            else:
                tally.answer(status, (time.perf_counter() - started) * 1000)
            stop.wait(max(0.0, interval - (time.perf_counter() - started)))


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile: the smallest value with at least `fraction` of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(fraction * len(ordered))) - 1]


def latency_summary(values: Sequence[float]) -> dict[str, float | None]:
    points = {"p50": 0.50, "p95": 0.95, "p99": 0.99, "max": 1.0}
    return {name: round(percentile(values, q), 2) if values else None for name, q in points.items()}


def _report(
    settings: Settings,
    measured: Measurement,
    *,
    load_average: list[float | None],
    hash_ms: float,
    concurrency: int,
    background: int,
    probe_interval: float,
) -> dict[str, Any]:
    sign_ins = len(measured.sign_in.latencies_ms) + measured.sign_in.failed
    healthz_latency = latency_summary(measured.healthz.latencies_ms)
    healthz_p99 = healthz_latency["p99"]
    return {
        "benchmark": "sign-in",
        "server": "patchwork serve, 1 uvicorn worker, 127.0.0.1, fresh SQLite database, local mode",
        "cpu_count": os.cpu_count(),
        # Other work on the machine shares its CPUs with the server and with this client.
        "load_average_1min_at_start_and_end": load_average,
        "throttle": f"sign-in limits raised to {THROTTLE_LIMIT} per account and per address for this run",
        "argon2": {
            "type": "argon2id",
            "time_cost": settings.argon2_time_cost,
            "memory_kib": settings.argon2_memory_kib,
            "parallelism": settings.argon2_parallelism,
            "hashing_threads": settings.password_hashing_threads,
        },
        "argon2_single_hash_ms": round(hash_ms, 2),
        "duration_s": round(measured.seconds, 3),
        "sign_in": {
            "endpoint": "POST /api/v1/tokens (201 expected)",
            "requests": sign_ins,
            "concurrency": concurrency,
            "warm_up_requests_not_counted": 1,
            "per_second": round(sign_ins / measured.seconds, 2),
            "latency_ms": latency_summary(measured.sign_in.latencies_ms),
            **measured.sign_in.counts(),
        },
        "healthz": {
            "probes": len(measured.healthz.latencies_ms) + measured.healthz.failed,
            "interval_ms": round(probe_interval * 1000, 1),
            "latency_ms": healthz_latency,
            **measured.healthz.counts(),
        },
        "background": {
            "in_flight": background,
            "paths": list(BACKGROUND_PATHS),
            "requests": len(measured.background.latencies_ms) + measured.background.failed,
            **measured.background.counts(),
        },
        "healthz_p99_under_20ms": healthz_p99 is not None and healthz_p99 < HEALTHZ_TARGET_MS,
    }
