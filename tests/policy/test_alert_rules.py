"""The alert rules, pure: when weak signals add up to an alert (SPEC section 3, "Alert")."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from patchwork.policy import AlertThresholds, Signal, accumulation, counts_as_signal, urgent_signals

DAY0 = date(2026, 3, 1)
DEFAULT = AlertThresholds()


def s(n: int, org: str | None, level: str = "concern", day: int = 0, redacted: bool = False) -> Signal:
    return Signal(f"n{n}", org, level, DAY0 + timedelta(days=day), redacted)


@pytest.mark.parametrize(
    ("signals", "thresholds", "raised"),
    [
        pytest.param([s(1, "a"), s(2, "b"), s(3, "a")], DEFAULT, {"n1", "n2", "n3"}, id="three from two"),
        pytest.param([s(1, "a"), s(2, "b")], DEFAULT, set(), id="two are not enough"),
        pytest.param([s(1, "a"), s(2, "a"), s(3, "a")], DEFAULT, set(), id="one organisation three times"),
        pytest.param(
            [s(1, "a", day=0), s(2, "b", day=15), s(3, "a", day=29)], DEFAULT, {"n1", "n2", "n3"}, id="day 1 to day 30"
        ),
        pytest.param([s(1, "a", day=0), s(2, "b", day=15), s(3, "a", day=30)], DEFAULT, set(), id="day 31 is outside"),
        pytest.param([s(1, "a", day=30), s(2, "b", day=15), s(3, "a", day=0)], DEFAULT, set(), id="outside, any order"),
        pytest.param(
            [s(1, "a", day=-29), s(2, "b", day=-10), s(3, "a", day=0)], DEFAULT, {"n1", "n2", "n3"}, id="edge backwards"
        ),
        pytest.param(
            [s(1, "a", day=-30), s(2, "b", day=-10), s(3, "a", day=0)], DEFAULT, set(), id="past the edge backwards"
        ),
        pytest.param([s(1, "a"), s(2, "b"), s(3, "a", "observation")], DEFAULT, set(), id="an observation is below"),
        pytest.param([s(1, "a"), s(2, "b", "urgent"), s(3, "a")], DEFAULT, {"n1", "n2", "n3"}, id="urgent counts"),
        pytest.param([s(1, "a"), s(2, "b"), s(3, "a", redacted=True)], DEFAULT, set(), id="redacted stops counting"),
        pytest.param([s(1, "a"), s(2, None), s(3, "a")], DEFAULT, set(), id="family voice is not a signal"),
        pytest.param(
            [s(1, "a"), s(2, "b")], AlertThresholds(min_notes=2), {"n1", "n2"}, id="custom: two notes are enough"
        ),
        pytest.param(
            [s(1, "a"), s(2, "b"), s(3, "c")],
            AlertThresholds(min_organisations=3),
            {"n1", "n2", "n3"},
            id="custom: 3 orgs",
        ),
        pytest.param(
            [s(1, "a"), s(2, "b"), s(3, "b")], AlertThresholds(min_organisations=3), set(), id="custom: 2 orgs too few"
        ),
        pytest.param(
            [s(1, "a", day=0), s(2, "b", day=6), s(3, "a", day=7)],
            AlertThresholds(window_days=7),
            set(),
            id="custom window",
        ),
        pytest.param(
            [s(1, "a", "observation"), s(2, "b", "observation"), s(3, "a", "observation")],
            AlertThresholds(min_level="observation"),
            {"n1", "n2", "n3"},
            id="custom: observations count",
        ),
        pytest.param(
            [s(1, "a"), s(2, "b"), s(3, "a")], AlertThresholds(min_level="urgent"), set(), id="custom: only urgent"
        ),
        pytest.param(
            [
                s(1, "a", day=0),
                s(2, "b", day=1),
                s(3, "a", day=2),
                s(4, "b", day=100),
                s(5, "a", day=101),
                s(6, "c", day=102),
            ],
            DEFAULT,
            {"n4", "n5", "n6"},
            id="the latest window",
        ),
    ],
)
def test_accumulation(signals: list[Signal], thresholds: AlertThresholds, raised: set[str]) -> None:
    assert {signal.note_id for signal in accumulation(signals, thresholds)} == raised


def test_a_note_revised_to_a_lower_level_stops_counting() -> None:
    before = [s(1, "a"), s(2, "b"), s(3, "a")]
    after = [s(1, "a"), s(2, "b", "observation"), s(3, "a")]
    assert accumulation(before, DEFAULT) and not accumulation(after, DEFAULT)


def test_urgent_signals() -> None:
    signals = [s(1, "a", "urgent"), s(2, "b"), s(3, "a", "urgent", redacted=True), s(4, None, "urgent")]
    assert [x.note_id for x in urgent_signals(signals)] == ["n1"]


signals = st.lists(
    st.builds(
        Signal,
        note_id=st.uuids().map(str),
        organisation_id=st.sampled_from(["a", "b", "c", None]),
        level=st.sampled_from(["observation", "concern", "urgent"]),
        observed_on=st.integers(0, 90).map(lambda d: DAY0 + timedelta(days=d)),
        redacted=st.booleans(),
    ),
    max_size=8,
)
thresholds = st.builds(
    AlertThresholds,
    min_notes=st.integers(1, 4),
    min_organisations=st.integers(1, 3),
    window_days=st.integers(1, 40),
    min_level=st.sampled_from(["observation", "concern", "urgent"]),
)


@given(signals, thresholds)
def test_an_alert_exists_exactly_when_some_window_holds_enough(found: list[Signal], rule: AlertThresholds) -> None:
    """Against the definition written out the slow way: some set of counted signals whose dates lie within
    window_days of each other has enough notes from enough organisations."""
    counted = [x for x in found if counts_as_signal(x, rule)]
    expected = any(
        len(window) >= rule.min_notes and len({x.organisation_id for x in window}) >= rule.min_organisations
        for start in counted
        for window in [[x for x in counted if 0 <= (x.observed_on - start.observed_on).days < rule.window_days]]
    )
    window = accumulation(found, rule)
    assert bool(window) == expected
    if window:
        assert all(counts_as_signal(x, rule) for x in window)
        assert (max(x.observed_on for x in window) - min(x.observed_on for x in window)).days < rule.window_days
