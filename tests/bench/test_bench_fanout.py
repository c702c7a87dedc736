"""The fan-out benchmark runs end to end against a real server and counts what each client actually heard."""

from __future__ import annotations

import pytest

from bench.fanout import Receiver, exit_status, run_fanout, run_idle, tally
from patchwork.cli import main
from tests.helpers import bench_settings


async def test_every_client_hears_every_note_once() -> None:
    result = await run_fanout(bench_settings(), clients=3, notes=5)

    assert (result["clients"], result["notes"], result["expected"]) == (3, 5, 15)
    assert result["delivered"] == 15
    assert (result["losses"], result["duplicates"], result["unexpected"]) == (0, 0, 0)
    assert result["clients_with_losses"] == 0
    assert result["closed_by_server"] == {}
    assert set(result["latency_ms"]) == {"p50", "p95", "p99", "max"}
    assert 0 < result["latency_ms"]["p50"] <= result["latency_ms"]["max"]
    assert result["deliveries_per_second"] > 0
    assert set(result["post_ms"]) == {"p50", "p99"}
    assert set(result["setup_seconds"]) >= {"accounts", "sign_ins", "network", "connect", "total"}
    assert result["server"]["database"].startswith("sqlite")
    assert result["server"]["broker"].startswith("memory")
    assert exit_status(result) == 0


async def test_idle_connections_share_tokens_and_report_server_memory() -> None:
    result = await run_idle(bench_settings(), connections=20, accounts=4)

    assert (result["connections"], result["connected"], result["failed_connections"]) == (20, 20, 0)
    assert (result["accounts"], result["connections_per_token"]) == (4, 5)
    assert (result["losses"], result["duplicates"]) == (0, 0)
    memory = result["server_rss_mib"]
    assert memory["before_connecting"] > 0
    assert memory["after_every_connection_heard_a_note"] > 0
    assert exit_status(result) == 0


def test_losses_duplicates_and_strangers_are_counted_per_client() -> None:
    sent = {"a": 1.0, "b": 2.0}
    heard_all = Receiver(arrivals=[("a", 1.5), ("b", 2.25)])
    heard_twice = Receiver(arrivals=[("a", 1.25), ("a", 1.75), ("b", 2.5), ("warm", 0.5)])
    missed_one = Receiver(arrivals=[("stranger", 3.0), ("b", 2.75)])

    counted = tally([heard_all, heard_twice, missed_one], sent, also_expected={"warm"})

    assert (counted.delivered, counted.losses, counted.duplicates) == (5, 1, 1)
    assert (counted.unexpected, counted.clients_with_losses) == (1, 1)
    assert sorted(counted.latencies_ms) == [250.0, 250.0, 500.0, 500.0, 750.0]
    assert counted.last_arrival == 2.75


def test_a_loss_or_a_duplicate_fails_the_run() -> None:
    assert exit_status({"losses": 0, "duplicates": 0}) == 0
    assert exit_status({"losses": 1, "duplicates": 0}) == 1
    assert exit_status({"losses": 0, "duplicates": 2}) == 1
    assert exit_status({"losses": 0, "duplicates": 0, "failed_connections": 3}) == 1


def test_a_running_server_needs_an_admin_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("PATCHWORK_ADMIN_PASSWORD", raising=False)

    status = main(["bench", "fanout", "--url", "http://127.0.0.1:9", "--admin-email", "admin@example.org"])

    assert status == 2
    assert "--admin-email and a password" in capsys.readouterr().err
