"""The sign-in benchmark runs end to end against a real server; timing targets belong to the bench."""

from __future__ import annotations

import pytest

from bench.signin import latency_summary, percentile, run
from tests.helpers import bench_settings


async def test_a_small_run_signs_in_every_time_without_errors() -> None:
    result = await run(bench_settings(), requests=10, background=5)

    sign_in = result["sign_in"]
    assert sign_in["requests"] == 10
    assert sign_in["ok"] == 10
    assert (sign_in["non_2xx"], sign_in["failed"], sign_in["problems"]) == (0, 0, {})
    assert sign_in["per_second"] > 0
    assert all(value > 0 for value in sign_in["latency_ms"].values())

    healthz = result["healthz"]
    assert healthz["probes"] > 0
    assert healthz["ok"] == healthz["probes"]
    assert (healthz["non_2xx"], healthz["failed"]) == (0, 0)
    assert all(value > 0 for value in healthz["latency_ms"].values())

    background = result["background"]
    assert background["in_flight"] == 5
    assert background["requests"] > 0
    assert (background["non_2xx"], background["failed"]) == (0, 0)

    assert result["argon2"] == {
        "type": "argon2id",
        "time_cost": 1,
        "memory_kib": 8192,
        "parallelism": 1,
        "hashing_threads": 2,
    }
    assert result["argon2_single_hash_ms"] > 0
    assert "1000000" in result["throttle"]
    assert isinstance(result["healthz_p99_under_20ms"], bool)


@pytest.mark.parametrize(
    ("fraction", "expected"),
    [(0.5, 50.0), (0.95, 95.0), (0.99, 99.0), (1.0, 100.0), (0.001, 1.0)],
)
def test_percentile_is_nearest_rank(fraction: float, expected: float) -> None:
    assert percentile([float(n) for n in range(100, 0, -1)], fraction) == expected


def test_latency_summary_of_nothing_is_empty() -> None:
    assert latency_summary([]) == {"p50": None, "p95": None, "p99": None, "max": None}
