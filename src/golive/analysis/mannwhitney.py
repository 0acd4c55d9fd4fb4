"""The Mann-Whitney judge, faithful to Kayenta's NetflixACAJudge.

What Spinnaker's Kayenta does, step for step:

1. Each metric becomes a per-minute series per revision (error rate, latency quantile); a
   minute without requests is NaN, and NaNs are replaced by 0 (the default ``nanStrategy``).
2. Outliers are removed by an IQR detector (factor 3, reduced sensitivity: the fences are
   widened to the 1st/99th percentiles).
3. Each metric is classified by a Mann-Whitney test with a Hodges-Lehmann interval for the
   shift (experiment - control) at confidence 0.98: *High* when the interval's lower end is
   above ``0.25 x |estimate|`` and the mean ratio is at least 1; identical series pass.
4. The score is the share of metrics that pass (0-100); below the marginal threshold (75) the
   canary fails. Kayenta judges every ``interval`` on the growing window since the start, and
   never passes early: promotion waits for the end of the analysis.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from golive.analysis.judge import Call, JudgeConfig, MetricVerdict, Status, Verdict, register
from golive.analysis.snapshot import Series, Snapshot, quantile

TOLERANCE = 0.25
Z_98 = 2.3263478740408408  # two-sided 98%
MARGINAL = 75.0
DEFAULT_INTERVAL = 300.0


def hodges_lehmann(
    experiment: Sequence[float], control: Sequence[float]
) -> tuple[float, float, float]:
    """(estimate, lower, upper): the shift and its distribution-free interval at 98%.

    Normal approximation to the Mann-Whitney statistic; the interval is read off the sorted
    pairwise differences (Hollander & Wolfe), as R's ``wilcox.test(conf.int=TRUE)`` does for
    larger samples.
    """
    diffs = sorted(x - y for x in experiment for y in control)
    m, n = len(experiment), len(control)
    mn = m * n
    estimate = statistics.median(diffs)
    k = math.floor(mn / 2 - Z_98 * math.sqrt(mn * (m + n + 1) / 12))
    k = min(max(k, 0), mn - 1)
    return estimate, diffs[k], diffs[mn - 1 - k]


def iqr_filter(values: Sequence[float]) -> list[float]:
    """Kayenta's IQRDetector(factor=3, reduceSensitivity=true)."""
    if len(values) < 4:
        return list(values)
    data = sorted(values)

    def pct(p: float) -> float:  # commons-math's default percentile estimator
        pos = p / 100 * (len(data) + 1)
        if pos < 1:
            return data[0]
        if pos >= len(data):
            return data[-1]
        lo = int(pos)
        return data[lo - 1] + (pos - lo) * (data[lo] - data[lo - 1])

    p25, p75 = pct(25), pct(75)
    iqr = p75 - p25
    low, high = min(pct(1), p25 - 3 * iqr), max(pct(99), p75 + 3 * iqr)
    return [v for v in values if low <= v <= high]


def classify(experiment: Sequence[float], control: Sequence[float]) -> tuple[str, float]:
    """Kayenta's MannWhitneyClassifier for an "increase is bad" metric: (label, mean ratio)."""
    if not experiment or not control:
        return "Nodata", 1.0
    if sorted(experiment) == sorted(control) or len(set(experiment) | set(control)) == 1:
        return "Pass", 1.0
    mean_c = statistics.fmean(control)
    ratio = 1.0 if mean_c == 0 else statistics.fmean(experiment) / mean_c
    estimate, lower, _ = hodges_lehmann(experiment, control)
    if lower > TOLERANCE * abs(estimate) and ratio >= 1.0:
        return "High", ratio
    return "Pass", ratio


@dataclass(frozen=True, slots=True, kw_only=True)
class MannWhitneyConfig(JudgeConfig):
    kind: ClassVar[str] = "mann-whitney"
    interval: float = 0.0  # how often it judges; 0 is Kayenta's 5 minutes (DEFAULT_INTERVAL)


class MannWhitneyJudge:
    def __init__(self, config: MannWhitneyConfig) -> None:
        self.config = config
        self.every = config.interval or DEFAULT_INTERVAL
        self.stable = Series(keep=math.inf)
        self.canary = Series(keep=math.inf)
        self._minutes: list[tuple[Snapshot, Snapshot]] = []
        self._start: float | None = None
        self._next_minute = 0.0
        self._next_judgement = 0.0
        self._last = Verdict(Call.CONTINUE, ())

    def update(self, t: float, stable: Snapshot, canary: Snapshot, canary_weight: float) -> Verdict:
        self.stable.push(t, stable)
        self.canary.push(t, canary)
        if self._start is None:
            self._start = t
            self._next_minute = t + 60.0
            self._next_judgement = t + self.every
        while t >= self._next_minute:
            self._minutes.append((self.stable.total, self.canary.total))
            self._next_minute += 60.0
        if t >= self._next_judgement:
            late = t - self._next_judgement + 1e-9
            self._next_judgement += self.every * math.ceil(late / self.every)
            self._last = self._judge()
        return self._last

    def _series(self) -> tuple[list[Snapshot], list[Snapshot]]:
        out_s, out_c = [], []
        prev_s, prev_c = Snapshot.empty(), Snapshot.empty()
        for s, c in self._minutes:
            out_s.append(_minus(s, prev_s))
            out_c.append(_minus(c, prev_c))
            prev_s, prev_c = s, c
        return out_s, out_c

    def _judge(self) -> Verdict:
        minutes_s, minutes_c = self._series()
        metrics: list[MetricVerdict] = []
        if "error_rate" in self.config.metrics:
            metrics.append(self._metric("error_rate", minutes_s, minutes_c, _error_rate))
        if "latency" in self.config.metrics:
            q = self.config.latency_quantile
            name = f"latency_p{q * 100:g}"
            metrics.append(self._metric(name, minutes_s, minutes_c, lambda m: _latency(m, q)))
        passed = sum(m.status is Status.OK for m in metrics)
        score = 100.0 * passed / len(metrics) if metrics else 100.0
        known = all(m.status is not Status.UNKNOWN for m in metrics)
        decision = Call.ROLLBACK if known and score < MARGINAL else Call.CONTINUE
        return Verdict(decision, tuple(metrics))

    def _metric(
        self,
        name: str,
        minutes_s: list[Snapshot],
        minutes_c: list[Snapshot],
        value: Callable[[Snapshot], float],
    ) -> MetricVerdict:
        control = iqr_filter([value(m) for m in minutes_s])
        experiment = iqr_filter([value(m) for m in minutes_c])
        label, ratio = classify(experiment, control)
        n = len(minutes_c)
        if label == "Nodata":
            why = f"{name}: no per-minute data yet"
            return MetricVerdict(name, None, None, Status.UNKNOWN, why)
        stable, canary = statistics.fmean(control), statistics.fmean(experiment)
        head = f"{name}: canary {canary:.4g} vs {stable:.4g} on stable"
        head += f" over {n} minutes (x{ratio:.2f})"
        if label == "High":
            return MetricVerdict(
                name, stable, canary, Status.REGRESSED, f"{head}: classified High by Mann-Whitney",
                ratio, None, None, "mann-whitney 0.98, tolerance 0.25",
            )  # fmt: skip
        return MetricVerdict(name, stable, canary, Status.OK, f"{head}: pass", ratio)


def _minus(a: Snapshot, b: Snapshot) -> Snapshot:
    buckets = {k: v - b.latency_ms_buckets.get(k, 0) for k, v in a.latency_ms_buckets.items()}
    return Snapshot(a.requests - b.requests, a.errors - b.errors, buckets)


def _error_rate(m: Snapshot) -> float:
    return m.errors / m.requests if m.requests else 0.0  # NaN replaced by 0 (nanStrategy none)


def _latency(m: Snapshot, q: float) -> float:
    v = quantile(m.latency_ms_buckets, q)
    return 0.0 if v is None else v


@register(MannWhitneyConfig)
def _build(config: MannWhitneyConfig) -> MannWhitneyJudge:
    return MannWhitneyJudge(config)
