from __future__ import annotations

import pytest

from golive.analysis.snapshot import WindowStats
from golive.analysis.triggers import (
    Trigger,
    TriggerAction,
    advance,
    describe,
    measure,
    parse_condition,
)


def trigger(hold: float = 120.0) -> Trigger:
    return Trigger(
        "error_rate > 5%", "error_rate", ">", 0.05, hold, 30.0, 20, TriggerAction.ROLLBACK
    )


def test_parse_condition() -> None:
    assert parse_condition("error_rate > 5%") == ("error_rate", ">", 0.05)
    assert parse_condition("latency_p95 >= 1.5s") == ("latency_p95", ">=", 1500.0)
    with pytest.raises(ValueError, match="unknown metric 'cpu'"):
        parse_condition("cpu > 5%")


def test_fires_only_after_holding_for_the_duration() -> None:
    t = trigger(hold=120)
    since, fired = advance(t, None, 0.08, now=0)
    assert (since, fired) == (0, False)
    since, fired = advance(t, since, 0.09, now=119)
    assert not fired
    assert advance(t, since, 0.09, now=120) == (0, True)


def test_a_good_reading_resets_and_unknown_keeps_the_clock() -> None:
    t = trigger(hold=10)
    since, _ = advance(t, None, 0.08, now=0)
    assert advance(t, since, None, now=5) == (0, False)  # not enough traffic: clock kept
    assert advance(t, since, 0.01, now=6) == (None, False)


def test_measure_needs_min_requests_and_describe_is_readable() -> None:
    t = trigger()
    assert measure(t, WindowStats(30, 10, 5, {})) is None
    value = measure(t, WindowStats(30, 100, 7, {}))
    assert value == pytest.approx(0.07)
    assert (
        describe(t, value) == "trigger 'error_rate > 5% for 2m' fired: canary error_rate is 7.00%"
    )
