"""What the canary served beside stable, from the recorded measurements: per stage and over time.

A measurement is a pair of cumulative snapshots (stable, canary) taken at one instant with the
canary weight then in force. An *interval* is what was served between two measurements; a
*stage* is a run of intervals at one canary weight. Pure: it computes on the values it is
given, so the report is the same whenever and wherever it is rebuilt.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from golive.analysis.snapshot import Snapshot, add, delta, quantile

Measurement = tuple[float, float, Snapshot, Snapshot]  # at, canary weight, stable, canary
QUANTILES = (("p50", 0.50), ("p95", 0.95), ("p99", 0.99))
ERROR_MARGIN_PP = 0.5  # an error rate this many points above stable's, and beyond chance,
Z_BEYOND_CHANCE = 2.33  # (a one-sided two-proportion z-test at 1%) is marked worse
LATENCY_FACTOR, LATENCY_MARGIN_MS = 1.2, 5.0  # slower by both is marked worse


@dataclass(frozen=True, slots=True)
class Interval:
    start: float
    end: float
    weight: float
    stable: Snapshot
    canary: Snapshot


@dataclass(frozen=True, slots=True)
class MetricRow:
    """One line of a stage's diff table: Metric | Baseline | Current | Change | Status."""

    metric: str
    baseline: float | None  # stable; a rate in %, a latency in ms, a count
    current: float | None  # canary
    unit: str  # "%", "ms" or "" (a count)
    change: str
    status: str  # ok | worse | better | no data | "" (a count: no verdict)


@dataclass(frozen=True, slots=True)
class Stage:
    weight: float
    start: float
    end: float
    rows: tuple[MetricRow, ...]


@dataclass(frozen=True, slots=True)
class Point:
    """One interval, for the charts: rates per second, error %, latencies in ms."""

    at: float
    weight: float
    rps: tuple[float, float]  # stable, canary
    errors: tuple[float | None, float | None]
    latency: tuple[tuple[float | None, ...], tuple[float | None, ...]]  # p50, p95, p99 each


def intervals(measurements: Sequence[Measurement]) -> list[Interval]:
    found: list[Interval] = []
    for (t0, _, s0, c0), (t1, w1, s1, c1) in itertools.pairwise(measurements):
        if t1 > t0:
            found.append(Interval(t0, t1, w1, delta(s0, s1), delta(c0, c1)))
    return found


def stages(measurements: Sequence[Measurement]) -> list[Stage]:
    """Each run of intervals at one canary weight in which the canary served (at 0% a
    segment, such as a header, may still send it requests)."""
    runs: list[list[Interval]] = []
    for i in intervals(measurements):
        if runs and runs[-1][-1].weight == i.weight:
            runs[-1].append(i)
        else:
            runs.append([i])
    found = []
    for run in runs:
        stable, canary = Snapshot.empty(), Snapshot.empty()
        for i in run:
            stable, canary = add(stable, i.stable), add(canary, i.canary)
        if run[0].weight > 0 or canary.requests > 0:
            found.append(Stage(run[0].weight, run[0].start, run[-1].end, diff(stable, canary)))
    return found


def _rate(s: Snapshot) -> float | None:
    return 100.0 * s.errors / s.requests if s.requests else None


def diff(stable: Snapshot, canary: Snapshot) -> tuple[MetricRow, ...]:
    rows = [MetricRow("requests", stable.requests, canary.requests, "", "", "")]
    b, c = _rate(stable), _rate(canary)
    if b is None or c is None:
        rows.append(MetricRow("error rate", b, c, "%", "", "no data"))
    else:
        status = (
            "worse" if c - b > ERROR_MARGIN_PP else "better" if b - c > ERROR_MARGIN_PP else "ok"
        )
        rows.append(MetricRow("error rate", b, c, "%", f"{c - b:+.2f} pp", status))
    for name, q in QUANTILES:
        lb, lc = quantile(stable.latency_ms_buckets, q), quantile(canary.latency_ms_buckets, q)
        rows.append(_latency(f"latency {name}", lb, lc))
    return tuple(rows)


def _errors(stable: Snapshot, canary: Snapshot) -> str:
    """worse or better only when the difference is both material and beyond chance."""
    b, c = stable.errors / stable.requests, canary.errors / canary.requests
    pooled = (stable.errors + canary.errors) / (stable.requests + canary.requests)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / stable.requests + 1 / canary.requests))
    z = (c - b) / spread if spread > 0 else 0.0
    if 100 * (c - b) > ERROR_MARGIN_PP and z > Z_BEYOND_CHANCE:
        return "worse"
    if 100 * (b - c) > ERROR_MARGIN_PP and -z > Z_BEYOND_CHANCE:
        return "better"
    return "ok"


def _latency(metric: str, b: float | None, c: float | None) -> MetricRow:
    if b is None or c is None:
        return MetricRow(metric, b, c, "ms", "", "no data")
    ratio = f" (x{c / b:.2f})" if b > 0 else ""
    slower = c > b * LATENCY_FACTOR and c - b > LATENCY_MARGIN_MS
    faster = b > c * LATENCY_FACTOR and b - c > LATENCY_MARGIN_MS
    status = "worse" if slower else "better" if faster else "ok"
    return MetricRow(metric, b, c, "ms", f"{c - b:+.1f} ms{ratio}", status)


def points(measurements: Sequence[Measurement]) -> list[Point]:
    found = []
    for i in intervals(measurements):
        seconds = i.end - i.start
        found.append(Point(
            i.end, i.weight, (i.stable.requests / seconds, i.canary.requests / seconds),
            (_rate(i.stable), _rate(i.canary)),
            (tuple(quantile(i.stable.latency_ms_buckets, q) for _, q in QUANTILES),
             tuple(quantile(i.canary.latency_ms_buckets, q) for _, q in QUANTILES)),
        ))  # fmt: skip
    return found
