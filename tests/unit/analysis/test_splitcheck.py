"""The measured split against the set one: binomial tails against scipy, alarms a user sees."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from golive.analysis.snapshot import Snapshot
from golive.analysis.splitcheck import (
    LEVEL,
    Departure,
    SplitWatch,
    check,
    lower_tail,
    upper_tail,
)


@pytest.mark.parametrize(
    ("k", "n", "p"),
    [
        (87, 100, 0.03),
        (5, 5, 0.03),
        (40, 1000, 0.02),
        (0, 200, 0.48),
        (3, 4000, 0.01),
        (9, 10, 0.5),
    ],
)
def test_binomial_tails_match_scipy(k: int, n: int, p: float) -> None:
    up, low = upper_tail(k, n, p), lower_tail(k, n, p)
    ref_up, ref_low = stats.binom.sf(k - 1, n, p), stats.binom.cdf(k, n, p)
    assert up == pytest.approx(ref_up, rel=1e-9) if ref_up < 0.5 else up >= 0.5
    assert low == pytest.approx(ref_low, rel=1e-9) if ref_low < 0.5 else low >= 0.5


def test_a_canary_taking_most_of_the_traffic_at_one_percent_is_an_alarm() -> None:
    # issue 11: after one stable reset nginx sent 81-100% to a 1% canary for about 5 s
    finding = check(stable=19, canary=81, weights=(0.01, 0.01), tolerance=0.02)
    assert finding is not None and finding.departure is Departure.OVER
    assert finding.describe().startswith(
        "split alarm: the canary served 81 of 100 requests (81.0%; stable 19) while 1% was set"
    )


def test_an_interval_in_which_stable_served_nothing_is_an_alarm_not_skipped() -> None:
    finding = check(stable=0, canary=6, weights=(0.01, 0.01), tolerance=0.02)
    assert finding is not None and finding.departure is Departure.OVER
    assert "stable served nothing: the canary served all 6 requests while 1% was set" in (
        finding.describe()
    )


def test_a_canary_that_gets_nothing_at_half_the_traffic_is_an_alarm() -> None:
    finding = check(stable=200, canary=0, weights=(0.5, 0.5), tolerance=0.02)
    assert finding is not None and finding.departure is Departure.UNDER


def test_chance_at_low_volume_is_not_an_alarm() -> None:
    assert check(stable=0, canary=4, weights=(0.5, 0.5), tolerance=0.02) is None
    assert check(stable=0, canary=0, weights=(0.01, 0.01), tolerance=0.02) is None
    assert check(stable=97, canary=3, weights=(0.01, 0.01), tolerance=0.02) is None


def test_a_weight_change_during_the_interval_allows_any_share_in_between() -> None:
    assert check(stable=850, canary=150, weights=(0.05, 0.25), tolerance=0.02) is None
    assert check(stable=600, canary=400, weights=(0.05, 0.25), tolerance=0.02) is not None


def test_a_proxy_that_splits_as_set_raises_no_alarm_over_a_long_rollout() -> None:
    rng = np.random.default_rng(5)
    alarms = 0
    for w in (0.01, 0.05, 0.25, 0.5, 0.99):
        for n in rng.poisson(2000, size=2000):
            c = int(rng.binomial(n, w))
            alarms += check(int(n) - c, c, (w, w), tolerance=0.0) is not None
    assert alarms == 0  # 10,000 intervals at LEVEL = 1e-6 with no tolerance at all
    assert LEVEL == 1e-6


def test_the_watch_checks_counter_deltas_and_skips_what_it_cannot_know() -> None:
    watch, one = SplitWatch(tolerance=0.02), (0.01, 0.01)
    assert watch.update(Snapshot(1000, 0), Snapshot(10, 0), one) is None  # first measurement
    assert watch.update(Snapshot(1990, 0), Snapshot(20, 0), one) is None
    assert watch.update(Snapshot(1990, 0), Snapshot(120, 0), None) is None  # a segment was set
    finding = watch.update(Snapshot(1990, 0), Snapshot(220, 0), one)
    assert finding is not None and (finding.stable, finding.canary) == (0, 100)
