"""Lock-step delivery, the bare limit it is compared with, and the /proc readings behind CPU per delivery."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
from typing import Any

import pytest

from bench import procs
from bench.delivery import Follower, Ledger, limit_frame, limit_stage, run_delivery
from bench.light_client import connect_http
from bench.limit import UVICORN_OPTIONS
from tests.helpers import bench_settings


async def test_the_limit_server_delivers_every_frame_to_every_client() -> None:
    async with limit_stage() as bare:
        result = await bare.round(4, 6, frame_bytes=600)

    assert (result["clients"], result["notes"], result["expected"]) == (4, 6, 24)
    assert result["delivered"] == 24
    assert (result["losses"], result["duplicates"], result["unexpected"]) == (0, 0, 0)
    assert result["notes_not_settled_in_time"] == 0
    assert result["frame_bytes"] == 600
    assert result["server_cpu_us_per_delivery"] is not None
    assert 0 < result["latency_ms"]["p50"] <= result["latency_ms"]["max"]


async def test_patchwork_and_the_limit_side_by_side_with_the_note_in_hand() -> None:
    result = await run_delivery(bench_settings(), clients=3, notes=4, fetch=True)

    ours, limit = result["patchwork"], result["limit"]
    assert (ours["delivered"], ours["losses"], ours["duplicates"]) == (12, 0, 0)
    assert (limit["delivered"], limit["losses"], limit["duplicates"]) == (12, 0, 0)
    in_hand = ours["in_hand"]
    # Every note reached every client in hand, in its event or by a GET, warm-ups included; none failed.
    assert in_hand["carried_by_the_event"] + in_hand["fetched_with_get"] == 3 * (4 + ours["warm_up_notes"])
    assert in_hand["fetch_failures"] == {}
    assert ours["latency_ms"]["p50"] >= ours["event_latency_ms"]["p50"]
    assert limit["frame_bytes"] >= ours["frame_bytes"]
    assert set(result["ratios"]) == {"server_cpu_per_delivery", "p50", "p99"}
    assert result["ratios"]["p50"] == round(ours["latency_ms"]["p50"] / limit["latency_ms"]["p50"], 2)
    assert ("pinned" in result["pinning"]) == (len(os.sched_getaffinity(0)) >= 2)


async def test_the_light_http_client_gets_one_answer_after_another_on_one_connection() -> None:
    answers: list[tuple[int, bytes]] = []
    done = asyncio.Event()

    def answered(status: int, body: bytes, at: float) -> None:
        answers.append((status, body))
        if len(answers) == 3:
            done.set()

    async with limit_stage() as bare:
        http = await connect_http(bare.base)
        try:
            for path in ("/healthz", "/nowhere", "/healthz"):
                http.get(path, {"Accept": "application/json"}, answered)
            async with asyncio.timeout(10):
                await done.wait()
        finally:
            http.close()

    assert [status for status, _ in answers] == [200, 404, 200]
    assert json.loads(answers[0][1])["status"] == "ok"
    assert answers[1][1] == b"Not Found"


def test_a_note_the_event_does_not_carry_is_in_hand_when_its_get_answers() -> None:
    asked: list[tuple[str, Any]] = []

    class Http:
        def get(self, path: str, headers: dict[str, str], answered: Any) -> None:
            asked.append((path, answered))

    ledger = Ledger(1)
    follower = Follower(number=0, ledger=ledger, http=Http(), headers={"Authorization": "Bearer t"})  # type: ignore[arg-type]
    bare = {"type": "note.created", "data": {"note_id": "n1"}}
    carried = {"type": "note.created", "data": {"note_id": "n2", "note": {"id": "n2", "body": "text"}}}

    follower.hear(json.dumps(bare).encode(), 1.0)
    follower.hear(json.dumps(carried).encode(), 2.0)

    assert [path for path, _ in asked] == ["/api/v1/notes/n1"]
    assert follower.arrivals == [("n2", 2.0)]
    asked[0][1](200, b"{}", 1.5)
    assert follower.arrivals == [("n2", 2.0), ("n1", 1.5)]
    assert follower.events == [("n1", 1.0), ("n2", 2.0)]
    assert (follower.carried, follower.fetched) == (1, 1)
    assert ledger.settled == {"n1": {0}, "n2": {0}}


def test_a_failed_get_settles_the_note_without_putting_it_in_hand() -> None:
    class Http:
        def get(self, path: str, headers: dict[str, str], answered: Any) -> None:
            answered(404, b"", 1.25)

    ledger = Ledger(1)
    follower = Follower(number=0, ledger=ledger, http=Http())  # type: ignore[arg-type]

    follower.hear(b'{"type":"note.created","data":{"note_id":"n1"}}', 1.0)

    assert follower.arrivals == []
    assert follower.fetch_failures == {"HTTP 404": 1}
    assert ledger.settled == {"n1": {0}}


async def test_the_ledger_waits_for_every_client_once() -> None:
    ledger = Ledger(2)
    ledger.settle("n", 0)
    ledger.settle("n", 0)  # the same client twice is still one

    assert not await ledger.all_settled("n", 0.05)
    waiting = asyncio.ensure_future(ledger.all_settled("n", 5.0))
    await asyncio.sleep(0)
    ledger.settle("n", 1)
    assert await waiting


def test_limit_frames_look_like_patchworks_and_pad_to_the_size_asked() -> None:
    frame = json.loads(limit_frame("abc", "net"))
    padded = limit_frame("abc", "net", 900)

    assert frame["type"] == "note.created" and frame["data"]["note_id"] == "abc"
    assert set(frame) == {"cursor", "network_id", "type", "data"}
    assert len(padded) == 900
    assert json.loads(padded)["data"]["note_id"] == "abc"


def test_the_limit_runs_under_uvicorn_as_patchwork_serve_does(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    import uvicorn

    import patchwork.cli
    import patchwork.migrate

    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: seen.update(kwargs))
    monkeypatch.setattr(patchwork.migrate, "upgrade", lambda *args, **kwargs: None)
    monkeypatch.setattr(patchwork.cli, "_freeze_what_is_loaded", lambda: None)
    for name in ("PATCHWORK_SECRET_KEY", "PATCHWORK_DATA_KEY", "PATCHWORK_AUDIT_KEY"):
        monkeypatch.setenv(name, "unchanged-by-serve-" + "x" * 32)
    settings = bench_settings().model_copy(update={"database_url": f"sqlite:///{tmp_path / 'x.db'}"})

    patchwork.cli._serve(settings, argparse.Namespace(host="127.0.0.1", port=9, workers=1))

    for name, value in UVICORN_OPTIONS.items():
        assert seen[name] == value, name
    # Loop, HTTP and websocket implementations: uvicorn's own choice in both, never named by serve.
    assert not {"loop", "http", "ws"} & set(seen)


def test_proc_reads_a_process_tree_its_cpu_time_and_memory() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        members = procs.tree(os.getpid())
        assert members[0] == os.getpid() and child.pid in members
        assert procs.role(child.pid, members) == "worker"
        assert procs.role(os.getpid(), members) == "supervisor"
        sum(range(2_000_000))
        assert (procs.cpu_seconds(os.getpid()) or 0) > 0
        assert (procs.rss_kib(child.pid) or 0) > 0
    finally:
        child.kill()
        child.wait()
    assert procs.cpu_seconds(child.pid) is None


def test_a_pinned_server_is_started_through_taskset() -> None:
    assert procs.pinned_command(["serve"], None) == ["serve"]
    command = procs.pinned_command(["serve"], frozenset({1, 0}))
    assert command[1:] == ["-c", "0,1", "serve"] and command[0].endswith("taskset")
    split = procs.split_cpus()
    assert split.pinned == (len(os.sched_getaffinity(0)) >= 2)
    assert not procs.split_cpus(False).pinned
