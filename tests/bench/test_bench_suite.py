"""The suite's one document: its parts, and each issue-17 target judged from the figures measured."""

from __future__ import annotations

import os
import sys
from typing import Any

import pytest

from bench.fanout import Spawn, run_idle
from bench.suite import _post_cost, run_suite, targets
from bench.throughput import run_throughput, what_caps_it
from tests.helpers import bench_settings

REDIS_URL = os.environ.get("PATCHWORK_TEST_REDIS_URL")


def delivery_round(cpu: float, p50: float, p99: float, losses: int = 0) -> dict[str, Any]:
    return {
        "patchwork": {"latency_ms": {"p50": 1.0, "p99": p99}, "losses": losses, "duplicates": 0},
        "ratios": {"server_cpu_per_delivery": cpu, "p50": p50, "p99": 1.0},
    }


def idle(connections: int, rss: float, losses: int = 0) -> dict[str, Any]:
    return {
        "connections": connections,
        "connected": connections,
        "failed_connections": 0,
        "losses": losses,
        "server_rss_mib": {"after_every_connection_heard_a_note": rss},
        "server_processes": [
            {"role": "supervisor", "rss_mib": 100.0},
            {"role": "worker", "rss_mib": 300.0},
            {"role": "worker", "rss_mib": 310.0},
        ],
    }


def test_each_target_is_judged_from_its_figure() -> None:
    found = {
        "delivery": {"100_clients": delivery_round(2.5, 1.9, 9.9), "500_clients": delivery_round(1.6, 2.1, 30.0)},
        "in_hand": {"clients": 100, "latency_ms": {"p50": 4.2}},
        "post_cost": {"sqlite": {"p50_ms": 1.5}, "postgresql": {"p50_ms": 2.01}},
        "throughput": {"notes_per_second": 612.0, "as_the_issue_asks": True},
        "idle": {"one_worker": idle(10_000, 599.0), "two_workers": idle(10_000, 700.0, losses=1)},
    }

    verdicts = targets(found)

    assert verdicts["post_fixed_cost_p50_ms_sqlite"] == {"measured": 1.5, "at_most": 1.5, "met": True}
    assert verdicts["post_fixed_cost_p50_ms_postgresql"] == {"measured": 2.01, "at_most": 2.0, "met": False}
    assert verdicts["server_cpu_per_delivery_ratio_100_clients"] == {"measured": 2.5, "at_most": 2.5, "met": True}
    assert verdicts["server_cpu_per_delivery_ratio_500_clients"]["met"] is False
    assert verdicts["p50_ratio_100_clients"]["met"] is True
    assert verdicts["p50_ratio_500_clients"]["met"] is False
    assert verdicts["p99_ms_100_clients"] == {"measured": 9.9, "under": 10.0, "met": True}
    assert verdicts["p99_ms_500_clients"]["met"] is False  # 30 ms is not under 30 ms
    assert verdicts["delivery_no_loss_or_duplicate"]["met"] is True
    assert verdicts["note_in_hand_p50_ms_100_clients"]["measured"] == 4.2
    assert verdicts["throughput_notes_per_second"]["met"] is True
    assert verdicts["idle_10000_one_worker_rss_mib"]["met"] is True
    two = verdicts["idle_10000_two_workers_every_socket_heard"]
    assert two["met"] is False and "1 heard nothing" in two["why_not_met"]
    assert two["rss_mib_per_worker"] == [300.0, 310.0]


def test_figures_not_measured_as_the_issue_states_are_not_judged() -> None:
    found = {
        "delivery": {"20_clients": delivery_round(1.0, 1.0, 1.0, losses=2)},
        "in_hand": {"clients": 20, "latency_ms": {"p50": 4.2}},
        "post_cost": {"sqlite": {"p50_ms": 1.0}, "postgresql": {"skipped": "no PATCHWORK_BENCH_DATABASE_URL"}},
        "throughput": {"notes_per_second": 900.0, "as_the_issue_asks": False},
        "idle": {"one_worker": idle(500, 100.0), "two_workers": {"skipped": "needs a Redis URL"}},
    }

    verdicts = targets(found)

    assert verdicts["post_fixed_cost_p50_ms_postgresql"]["met"] is None
    assert verdicts["p99_ms_100_clients"]["met"] is None
    assert "measured at 20" in verdicts["p99_ms_100_clients"]["why_not_judged"]
    assert verdicts["delivery_no_loss_or_duplicate"]["met"] is False
    assert verdicts["note_in_hand_p50_ms_100_clients"]["measured"] is None
    assert verdicts["throughput_notes_per_second"]["met"] is None
    assert verdicts["idle_10000_one_worker_rss_mib"]["met"] is None
    assert verdicts["idle_10000_two_workers_every_socket_heard"]["met"] is None


async def test_a_small_suite_is_one_document_with_every_part() -> None:
    found = await run_suite(
        bench_settings(),
        sizes=(3,),
        notes=3,
        accounts=2,
        in_hand_clients=2,
        idle=5,
        skip=frozenset({"post_cost", "throughput", "idle"}),
    )

    assert found["benchmark"] == "suite"
    round_ = found["delivery"]["3_clients"]
    assert round_["accounts"] == 2
    assert (round_["patchwork"]["delivered"], round_["limit"]["delivered"]) == (9, 9)
    assert set(round_["ratios"]) == {"server_cpu_per_delivery", "p50", "p99"}
    assert found["in_hand"]["clients"] == 2 and found["in_hand"]["delivered"] == 6
    assert {found[name]["skipped"] for name in ("post_cost", "throughput", "idle")} == {"asked to skip"}
    assert found["targets"]["delivery_no_loss_or_duplicate"]["met"] is True
    assert found["targets"]["p50_ratio_100_clients"]["met"] is None
    assert isinstance(found["machine"]["contended"], bool)


async def test_the_post_cost_part_says_when_its_bench_is_not_there(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "bench.post_cost", None)  # importing it raises ImportError

    assert await _post_cost(bench_settings(), 5, None) == {"skipped": "bench/post_cost.py not present"}


async def test_posters_each_with_a_token_post_exactly_the_notes_asked_over_two_networks() -> None:
    result = await run_throughput(bench_settings(), posters=3, notes=12, networks=2)

    assert (result["posters"], result["networks"]) == (3, 2)
    assert (result["notes_posted"], result["errors"]) == (12, 0)
    assert result["notes_per_second"] > 0
    assert result["cpu_busy"]["server_processes"][0]["role"] == "worker"
    assert isinstance(result["what_caps_it"], str)


async def test_several_workers_need_redis() -> None:
    with pytest.raises(ValueError, match="Redis"):
        await run_throughput(bench_settings(), workers=2)


def test_what_caps_it_names_the_busy_part() -> None:
    def shares(machine: float, worker: float, postgres: float | None = None) -> dict[str, Any]:
        return {
            "server_processes": [{"role": "worker", "busy": worker}],
            "postgres_backends": postgres,
            "bench_posters": 0.2,
            "machine": machine,
        }

    assert what_caps_it(shares(0.97, 0.8), cpus=2).startswith("the machine's CPU")
    assert what_caps_it(shares(0.6, 0.95), cpus=4).startswith("a server worker's CPU")
    assert what_caps_it(shares(0.6, 0.3, postgres=0.93), cpus=4).startswith("PostgreSQL's CPU")
    assert what_caps_it(shares(0.5, 0.3, postgres=0.2), cpus=4).startswith("no CPU was saturated")


@pytest.mark.redis
async def test_idle_connections_spread_over_two_workers_all_hear_through_redis() -> None:
    if not REDIS_URL:
        if os.environ.get("CI"):
            pytest.fail("CI must run the Redis tests: set PATCHWORK_TEST_REDIS_URL")
        pytest.skip("Redis tests need PATCHWORK_TEST_REDIS_URL")
    result = await run_idle(bench_settings(), connections=30, accounts=3, server=Spawn(redis_url=REDIS_URL, workers=2))

    assert (result["connected"], result["losses"], result["duplicates"]) == (30, 0, 0)
    workers = [p for p in result["server_processes"] if p["role"] == "worker"]
    assert len(workers) == 2 and all(p["rss_mib"] > 0 for p in workers)
