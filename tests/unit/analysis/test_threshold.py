from __future__ import annotations

import math

from golive.analysis import Call, Judge, Snapshot, Status
from golive.analysis.judge import config_for
from golive.analysis.threshold import ThresholdConfig


def snap(requests: int, errors: int, slow_share: float = 0.0) -> Snapshot:
    fast = int(requests * (1 - slow_share))
    return Snapshot(requests, errors, {50.0: fast, 1000.0: requests, math.inf: requests})


def test_low_traffic_is_not_yet_known_never_a_pass() -> None:
    judge = Judge(ThresholdConfig(min_requests=100))
    judge.update(0, snap(0, 0), snap(0, 0), 0.05)
    v = judge.update(10, snap(1000, 0), snap(40, 0), 0.05)
    assert v.decision is Call.CONTINUE
    assert not v.known
    assert all(m.status is Status.UNKNOWN for m in v.metrics)
    assert "canary served 40 of 100 requests needed" in v.metrics[0].sentence


def test_error_rate_above_the_limit_rolls_back_with_an_explanation() -> None:
    judge = Judge(ThresholdConfig(max_error_rate=0.05, min_requests=50))
    judge.update(0, snap(0, 0), snap(0, 0), 0.1)
    v = judge.update(10, snap(900, 9), snap(100, 20), 0.1)
    assert v.decision is Call.ROLLBACK
    assert v.metrics[0].status is Status.REGRESSED
    assert v.reason == "canary error rate 20.00% vs 1.00% on stable: above the 5.00% limit"


def test_hold_requires_the_breach_to_last() -> None:
    judge = Judge(ThresholdConfig(max_error_rate=0.05, min_requests=10, hold=5.0, window=100))
    judge.update(0, snap(0, 0), snap(0, 0), 0.5)
    assert judge.update(1, snap(100, 0), snap(100, 20), 0.5).decision is Call.CONTINUE
    assert judge.update(4, snap(200, 0), snap(200, 40), 0.5).decision is Call.CONTINUE
    assert judge.update(6, snap(300, 0), snap(300, 60), 0.5).decision is Call.ROLLBACK


def test_latency_ratio_and_limit() -> None:
    judge = Judge(ThresholdConfig(max_latency_ms=500, max_latency_ratio=2.0, min_requests=10))
    judge.update(0, snap(0, 0), snap(0, 0), 0.5)
    v = judge.update(10, snap(1000, 0, 0.0), snap(1000, 0, 0.5), 0.5)
    lat = v.metrics[1]
    assert lat.metric == "latency_p95"
    assert lat.status is Status.REGRESSED
    assert v.decision is Call.ROLLBACK


def test_threshold_judge_never_promotes_and_unknown_kind_is_refused() -> None:
    judge = Judge(ThresholdConfig())
    judge.update(0, snap(0, 0), snap(0, 0), 0.5)
    assert judge.update(60, snap(10**6, 0), snap(10**6, 0), 0.5).decision is Call.CONTINUE
    try:
        config_for("nope")
    except ValueError as exc:
        assert "known: mann-whitney, sequential, threshold" in str(exc)
    else:
        raise AssertionError("unknown judge accepted")


def test_a_kinds_config_takes_the_settings_it_reads_and_leaves_the_others() -> None:
    cfg = config_for("threshold", max_error_rate=0.01, window=30.0, false_rollback_rate=0.2)
    assert cfg == ThresholdConfig(max_error_rate=0.01, window=30.0)
    assert Judge(cfg).update(0, snap(0, 0), snap(0, 0), 0.5).decision is Call.CONTINUE
