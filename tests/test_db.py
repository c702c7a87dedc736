"""The database handle: a unit of work run off the event loop is never left behind holding a connection."""

from __future__ import annotations

import asyncio
import threading

import anyio.to_thread
import pytest
from sqlalchemy import text
from sqlmodel import Session

from patchwork.db import Database


def test_a_cancelled_unit_of_work_is_waited_for_and_gives_its_connection_back(database_url: str) -> None:
    # How a stopped digest loop or hub reader left a connection open: Task.cancel() abandoned its worker thread,
    # the engine was disposed under it, and the connection was garbage-collected still open, in another test.
    db = Database(database_url)
    working, release = threading.Event(), threading.Event()

    def work(session: Session) -> None:
        session.execute(text("SELECT 1"))
        working.set()
        release.wait(10)

    async def cancel_while_working() -> bool:
        task = asyncio.create_task(db.run(work))
        await anyio.to_thread.run_sync(working.wait, 10)
        task.cancel()
        await asyncio.sleep(0.2)
        waited = not task.done()
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await task
        return waited

    try:
        assert asyncio.run(cancel_while_working()), "the cancelled caller returned while its thread still worked"
        assert db.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    finally:
        release.set()
        db.dispose()


def test_a_unit_of_work_cancelled_again_while_waited_for_still_finishes_first(database_url: str) -> None:
    db = Database(database_url)
    release = threading.Event()
    finished = threading.Event()

    def work(session: Session) -> int:
        session.execute(text("SELECT 1"))
        release.wait(10)
        finished.set()
        return 1

    async def cancel_twice() -> None:
        task = asyncio.create_task(db.run(work))
        await asyncio.sleep(0.1)
        task.cancel()
        await asyncio.sleep(0.1)
        task.cancel()
        await asyncio.sleep(0.1)
        assert not task.done()
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert finished.is_set()

    try:
        asyncio.run(cancel_twice())
        assert db.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    finally:
        release.set()
        db.dispose()


def test_note_writers_take_turns_and_nothing_else_waits_for_them(database_url: str) -> None:
    db = Database(database_url, write_concurrency=2)
    lock, running, most = threading.Lock(), [0], [0]
    release, two_running = threading.Event(), threading.Event()

    def write(session: Session) -> None:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
            if running[0] == 2:
                two_running.set()
        release.wait(5)
        session.execute(text("SELECT 1"))
        with lock:
            running[0] -= 1

    def read(session: Session) -> int:
        return int(session.execute(text("SELECT 1")).scalar_one())

    async def scenario() -> tuple[int, int]:
        writers = [asyncio.ensure_future(db.run(write, writes_notes=True)) for _ in range(5)]
        assert await asyncio.to_thread(two_running.wait, 5)
        await asyncio.sleep(0.1)  # time for a third writer to start, were it let in
        during = running[0]
        answered = await asyncio.wait_for(db.run(read), 5)  # a reader is not held behind the writers
        release.set()
        await asyncio.gather(*writers)
        return during, answered

    try:
        during, answered = asyncio.run(scenario())
    finally:
        release.set()
        db.dispose()
    assert (during, most[0], answered) == (2, 2, 1)
