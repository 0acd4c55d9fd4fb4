from __future__ import annotations

import math

import numpy as np
import pytest

from golive.analysis.snapshot import Series, Snapshot, delta, quantile

INF = math.inf


def test_delta_subtracts_and_treats_a_decrease_as_a_restart() -> None:
    a = Snapshot(100, 5, {10.0: 60, INF: 100})
    b = Snapshot(150, 7, {10.0: 90, INF: 150})
    assert delta(a, b) == Snapshot(50, 2, {10.0: 30, INF: 50})
    restarted = Snapshot(20, 1, {10.0: 15, INF: 20})
    assert delta(b, restarted) == restarted


def test_quantile_interpolates_like_histogram_quantile() -> None:
    rng = np.random.default_rng(7)
    samples = rng.lognormal(np.log(100), 0.4, 200_000)
    bounds = [float(b) for b in range(10, 1000, 10)] + [INF]
    buckets = {b: int((samples <= b).sum()) for b in bounds}
    for q in (0.5, 0.95, 0.99):
        assert quantile(buckets, q) == pytest.approx(np.quantile(samples, q), rel=0.02)


def test_quantile_without_observations_is_unknown() -> None:
    assert quantile({}, 0.95) is None
    assert quantile({10.0: 0, INF: 0}, 0.95) is None


def test_series_window_survives_counter_resets_and_missing_scrapes() -> None:
    s = Series()
    s.push(0, Snapshot(1000, 10, {INF: 1000}))  # baseline: history before golive looked
    s.push(1, Snapshot(1100, 11, {INF: 1100}))
    s.push(2, Snapshot(50, 5, {INF: 50}))  # proxy restarted: 50 new requests
    s.push(5, Snapshot(350, 8, {INF: 350}))  # two scrapes missing
    w = s.window(60)
    assert (w.requests, w.errors) == (100 + 50 + 300, 1 + 5 + 3)
    assert w.request_rate == pytest.approx(450 / 5)
    last = s.window(3)
    assert (last.requests, last.errors) == (300, 3)
