from __future__ import annotations

import pytest

from golive.analysis.snapshot import WindowStats
from golive.analysis.triggers import (
    Trigger,
    TriggerAction,
    advance,
    describe,
    evaluate,
    measure,
    parse_condition,
)


def trigger(hold: float = 120.0, action: TriggerAction = TriggerAction.ROLLBACK) -> Trigger:
    return Trigger("error_rate > 5%", "error_rate", ">", 0.05, hold, 30.0, 20, action)


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


def test_one_pass_says_since_when_each_condition_holds_and_which_triggers_fire() -> None:
    slow, fast = trigger(hold=60), trigger(hold=0, action=TriggerAction.PAUSE)
    first = evaluate((slow, fast), (), (), (0.08, 0.09), now=10)
    assert first.since == (10, 10)
    assert [(f.trigger, f.value) for f in first.fired] == [(fast, 0.09)]
    later = evaluate((slow, fast), first.since, first.notified, (None, 0.01), now=70)
    assert later.since == (10, None)  # not yet known keeps the clock; a good reading clears it
    assert [f.trigger for f in later.fired] == [slow]
    assert later.fired[0].why == "trigger 'error_rate > 5% for 60s' fired: canary error_rate is n/a"


def test_without_values_of_every_trigger_nothing_changes() -> None:
    t = trigger(hold=0)
    for values in (None, (), (0.5, 0.5)):
        checked = evaluate((t,), (3.0,), (True,), values, now=100)
        assert (checked.since, checked.notified, checked.fired) == ((3.0,), (True,), ())
    assert evaluate((t,), (), (), None, now=100).since == (None,)


def test_a_notify_trigger_notices_once_per_episode_until_its_condition_clears() -> None:
    t = trigger(hold=5, action=TriggerAction.NOTIFY)
    seen: list[float] = []
    since: tuple[float | None, ...] = ()
    notified: tuple[bool, ...] = ()
    for now, value in [(0, 0.1), (5, 0.1), (6, 0.1), (7, None), (8, 0.0), (9, 0.1), (14, 0.1)]:
        checked = evaluate((t,), since, notified, (value,), now)
        since, notified = checked.since, checked.notified
        seen += [now for f in checked.notices if f.trigger is t]
    assert seen == [5, 14]
    assert notified == (True,)
