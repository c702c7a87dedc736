"""Real processes for tests: a throwaway PostgreSQL database, `patchwork` commands, `patchwork serve` on free
ports, and a redis-server of the test's own that can be killed and started again on the same port."""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from patchwork.settings import new_data_key

HOST = "127.0.0.1"
COMMAND_SECONDS = 120.0
START_SECONDS = 60.0
STOP_SECONDS = 10.0


class ProcessError(RuntimeError):
    """A process a test needs did not start or answer; the message carries its output."""


def need(value: str | None, what: str) -> str:
    """The value a test needs, or a skip naming what is missing; under CI a missing value fails instead."""
    if value:
        return value
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the multi-process tests: {what}")
    pytest.skip(f"multi-process tests need {what}")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def throwaway_database(admin_url: str) -> Iterator[str]:
    """An empty PostgreSQL database on the server of `admin_url`, dropped at the end."""
    import psycopg

    from patchwork.db import normalise_url

    name = "patchwork_proc_" + secrets.token_hex(6)
    plain = normalise_url(admin_url).replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = normalise_url(admin_url).rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(plain, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def patchwork_env(
    *,
    database_url: str,
    secret_key: str,
    data_key: str,
    redis_url: str | None = None,
    redis_prefix: str = "",
    audit_key: str | None = None,
) -> dict[str, str]:
    """The environment of a `patchwork` process; PATCHWORK_* variables of the test run do not leak into it.
    Processes of one deployment share one environment, so they share the Redis prefix too, and the audit key
    (by default one made from the secret key, so that each deployment has its own and its processes agree)."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("PATCHWORK_")}
    env.update(
        {
            "PATCHWORK_ENV": "local",
            "PATCHWORK_DATABASE_URL": database_url,
            "PATCHWORK_SECRET_KEY": secret_key,
            "PATCHWORK_DATA_KEY": data_key,
            "PATCHWORK_AUDIT_KEY": audit_key or hashlib.sha256(b"test-audit-key" + secret_key.encode()).hexdigest(),
            "PATCHWORK_ARGON2_TIME_COST": "1",
            "PATCHWORK_ARGON2_MEMORY_KIB": "8",
            "PATCHWORK_ARGON2_PARALLELISM": "1",
            "PATCHWORK_LOG_LEVEL": "INFO",
            "PATCHWORK_LOG_JSON": "true",
        }
    )
    if redis_url:
        env["PATCHWORK_REDIS_URL"] = redis_url
        env["PATCHWORK_REDIS_PREFIX"] = redis_prefix or "pw-proc-" + secrets.token_hex(4)
    return env


def new_secrets() -> tuple[str, str]:
    """A secret key and a data key, shared by every process of one deployment."""
    return secrets.token_urlsafe(48), new_data_key()


def patchwork_command(*args: str) -> list[str]:
    return [sys.executable, "-c", "from patchwork.cli import main; raise SystemExit(main())", *args]


def run_patchwork(env: dict[str, str], workdir: Path, *args: str) -> str:
    """Run one `patchwork` command to its end; its standard output, or ProcessError with what it printed."""
    done = subprocess.run(
        patchwork_command(*args),
        env=env,
        cwd=workdir,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=COMMAND_SECONDS,
        check=False,
    )
    if done.returncode != 0:
        raise ProcessError(f"`patchwork {' '.join(args)}` exited {done.returncode}: {done.stderr[-3000:]}")
    return done.stdout


@dataclass
class Server:
    """A running `patchwork serve`; its output goes to `log`."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def stream_url(self) -> str:
        return f"ws://{HOST}:{self.port}/api/v1/stream"

    def tail(self, lines: int = 30) -> str:
        """The end of the server's output, each line cut short: enough to see what it was doing."""
        text = self.log.read_text(errors="replace") if self.log.exists() else "(no output)"
        shown = [line[:400] for line in text.splitlines()[-lines:]]
        return f"--- server {self.name} ({self.log}) ---\n" + "\n".join(shown)


@contextmanager
def serving(env: dict[str, str], workdir: Path, *names: str) -> Iterator[list[Server]]:
    """`patchwork serve` processes on free ports, started together and ready (database and broker answer)
    until the block ends; stopped, or killed, whatever happens."""
    servers: list[Server] = []
    try:
        for name in names:
            port = free_port()
            log = workdir / f"server-{name}.log"
            with log.open("wb") as output:
                process = subprocess.Popen(
                    patchwork_command("serve", "--host", HOST, "--port", str(port)),
                    env=env,
                    cwd=workdir,
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                )
            servers.append(Server(name=name, port=port, process=process, log=log))
        for server in servers:
            _wait_until_ready(server)
        yield servers
    finally:
        for server in servers:
            stop(server.process)


def _wait_until_ready(server: Server) -> None:
    give_up = time.monotonic() + START_SECONDS
    with httpx.Client(base_url=server.base, trust_env=False, timeout=2.0) as client:
        while time.monotonic() < give_up:
            if server.process.poll() is not None:
                raise ProcessError(f"server {server.name} exited ({server.process.returncode})\n{server.tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if client.get("/readyz").status_code == 200:
                    return
            time.sleep(0.1)
    raise ProcessError(f"server {server.name} was not ready within {START_SECONDS:g} s\n{server.tail()}")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Ask a process to end; kill it if it has not within STOP_SECONDS."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_SECONDS)


def redis_server_binary() -> str | None:
    return shutil.which("redis-server")


class RedisServer:
    """A redis-server of the test's own on a fixed port, without persistence: killing it loses everything."""

    def __init__(self, binary: str, workdir: Path) -> None:
        self.binary = binary
        self.port = free_port()
        self.log = workdir / "redis-server.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def start(self) -> None:
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(
                [self.binary, "--port", str(self.port), "--save", "", "--appendonly", "no", "--bind", HOST],
                cwd=self.log.parent,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        give_up = time.monotonic() + START_SECONDS
        while time.monotonic() < give_up:
            if self.process.poll() is not None:
                raise ProcessError(f"redis-server exited ({self.process.returncode}): {_tail(self.log, 2000)}")
            if self.answers():
                return
            time.sleep(0.05)
        raise ProcessError(f"redis-server did not answer within {START_SECONDS:g} s: {_tail(self.log, 2000)}")

    def kill(self) -> None:
        """SIGKILL: no goodbye to the clients, every subscription and message in flight is lost."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(STOP_SECONDS)
            self.process = None

    def answers(self) -> bool:
        try:
            with socket.create_connection((HOST, self.port), timeout=1.0) as connection:
                connection.sendall(b"PING\r\n")
                return connection.recv(64).startswith(b"+PONG")
        except OSError:
            return False


@contextmanager
def own_redis(binary: str, workdir: Path) -> Iterator[RedisServer]:
    server = RedisServer(binary, workdir)
    server.start()
    try:
        yield server
    finally:
        if server.process is not None:
            stop(server.process)


def _tail(path: Path, characters: int) -> str:
    return path.read_text(errors="replace")[-characters:] if path.exists() else "(no output)"
