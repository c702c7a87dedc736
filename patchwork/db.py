"""Engine and sessions for SQLite and PostgreSQL, and a way to run a unit of work off the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import anyio.to_thread
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, create_engine

from patchwork import outbox
from patchwork.outbox import Rung

T = TypeVar("T")
CommitListener = Callable[[Rung], Awaitable[None]]


def normalise_url(url: str) -> str:
    """Let operators write postgres:// or postgresql:// and still get the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        in_memory = url in ("sqlite://", "sqlite:///:memory:")
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            poolclass=StaticPool if in_memory else None,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


class Database:
    """The engine and its session factory; lives in the app's lifespan state."""

    def __init__(self, url: str, *, write_concurrency: int = 2) -> None:
        self.url = normalise_url(url)
        self.write_concurrency = write_concurrency
        self._writers: anyio.CapacityLimiter | None = None  # made on first use, in the event loop that uses it
        self.engine = make_engine(self.url)
        self._sessions = sessionmaker(self.engine, class_=Session, expire_on_commit=False)
        self.on_commit: CommitListener | None = None
        self._disposed = False

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work is committed together, or not at all."""
        if self._disposed:
            # A disposed engine would quietly open a fresh pool that nobody closes: refuse instead.
            raise RuntimeError("The database has been closed")
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    async def run(self, work: Callable[[Session], T], *, writes_notes: bool = False) -> T:
        """Run a unit of work in a worker thread so the event loop stays free; once it has committed,
        ring the doorbells it set (see `outbox.ring`). A unit that `writes_notes` waits for one of the process's
        few writer slots first (PATCHWORK_WRITE_CONCURRENCY): a slot is taken before the unit starts, so it
        never waits for a slot while holding a database lock."""

        def in_thread() -> tuple[T, Rung]:
            with self.transaction() as session:
                result = work(session)
                touched = outbox.rung(session)
            return result, touched

        # anyio keeps a worker thread only from its own cancel scopes; asyncio's Task.cancel() (a supervised
        # loop or a hub reader being stopped) would abandon it mid-work, still holding a connection that nobody
        # closes once the engine is disposed. A unit of work that has started cannot be stopped: wait for it.
        if writes_notes and self._writers is None:
            self._writers = anyio.CapacityLimiter(self.write_concurrency)
        limiter = self._writers if writes_notes else None
        unit = asyncio.ensure_future(anyio.to_thread.run_sync(in_thread, limiter=limiter))
        try:
            result, touched = await asyncio.shield(unit)
        except asyncio.CancelledError:
            await _settle(unit)
            raise
        if touched and self.on_commit is not None:
            await self.on_commit(touched)
        return result

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self._disposed = True
        self.engine.dispose()


async def _settle(future: asyncio.Future[Any]) -> None:
    """Wait until `future` is done, however often we are cancelled meanwhile; its outcome is dropped (the
    caller is cancelled), but read, so asyncio does not report it as never retrieved."""
    while not future.done():
        try:
            await asyncio.wait({future})
        except asyncio.CancelledError:
            continue
    if not future.cancelled():
        future.exception()
