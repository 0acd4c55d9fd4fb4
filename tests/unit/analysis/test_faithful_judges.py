"""Kayenta-, Argo- and Flagger-faithful judges behave as their sources document."""

from __future__ import annotations

import math

from golive.analysis import Call, Judge, JudgeConfig, Snapshot, Status
from golive.analysis.mannwhitney import MannWhitneyConfig, classify, iqr_filter
from golive.analysis.threshold import ThresholdConfig


def snap(requests: int, errors: int) -> Snapshot:
    return Snapshot(requests, errors, {100.0: requests, math.inf: requests})


def feed(cfg: JudgeConfig, per_5s: list[tuple[int, int, int, int]]) -> list[Call]:
    judge = Judge(cfg)
    s = c = (0, 0)
    out = [judge.update(0, snap(0, 0), snap(0, 0), 0.1).decision]
    for i, (sn, se, cn, ce) in enumerate(per_5s, start=1):
        s, c = (s[0] + sn, s[1] + se), (c[0] + cn, c[1] + ce)
        out.append(judge.update(i * 5.0, snap(*s), snap(*c), 0.1).decision)
    return out


def test_kayenta_classifier_high_pass_and_identical() -> None:
    assert classify([0.02] * 5, [0.02] * 5) == ("Pass", 1.0)
    label, ratio = classify([2.0, 2.1, 2.2, 1.9, 2.05], [1.0, 1.1, 0.9, 1.05, 0.95])
    assert label == "High" and ratio > 1.9
    assert classify([1.0, 1.1, 0.9], [1.0, 1.05, 0.95])[0] == "Pass"
    assert classify([], [1.0])[0] == "Nodata"


def test_kayenta_iqr_detector_drops_far_outliers_only() -> None:
    small = [1.0, 1.1, 0.9, 1.05, 0.95, 1.02, 0.98, 50.0]
    assert iqr_filter(small) == small  # reduced sensitivity: the fence is at least the p99
    values = [1.0 + (i % 10) / 100 for i in range(200)] + [50.0]
    assert iqr_filter(values) == values[:-1]


def test_kayenta_judges_on_its_interval_and_never_promotes() -> None:
    bad = [(900, 9, 100, 10)] * 120  # canary 10% errors vs 1%
    decisions = feed(MannWhitneyConfig(interval=300.0), bad)
    first = decisions.index(Call.ROLLBACK)
    assert first * 5 >= 300  # nothing before the first judgement at 5 minutes
    good = [(900, 9, 100, 1)] * 120
    assert Call.PROMOTE not in feed(MannWhitneyConfig(interval=300.0), good)


def test_argo_counts_failed_measurements_and_nan_fails() -> None:
    cfg = ThresholdConfig(
        style="argo", failure_limit=2, interval=60, window=60, max_error_rate=0.05
    )
    idle = [(1000, 10, 0, 0)] * 60  # no canary requests: NaN, so every measurement fails
    decisions = feed(cfg, [(1000, 10, 100, 1), *idle])
    assert decisions.index(Call.ROLLBACK) * 5 == 240  # NaN at 120, 180, 240: 3 > 2


def test_argo_empty_error_series_is_an_error_not_a_failure() -> None:
    cfg = ThresholdConfig(style="argo", failure_limit=0, consecutive_error_limit=4, interval=60)
    clean = [(1000, 0, 100, 0)] * 80  # the canary never failed: its error series does not exist
    decisions = feed(cfg, clean)
    assert decisions.index(Call.ROLLBACK) * 5 == 300  # the fifth error in a row


def test_flagger_rolls_back_when_failed_checks_reach_its_threshold() -> None:
    cfg = ThresholdConfig(style="flagger", failure_limit=3, interval=60, max_error_rate=0.05)
    decisions = feed(cfg, [(1000, 10, 100, 10)] * 60)
    assert decisions.index(Call.ROLLBACK) * 5 == 180  # checks at 60, 120, 180
    verdict = Judge(cfg)
    verdict.update(0, snap(0, 0), snap(0, 0), 0.1)
    v = verdict.update(60, snap(100, 1), snap(0, 0), 0.1)
    assert v.metrics[0].status is Status.UNKNOWN  # no values: a failed check ("halt advancement")
