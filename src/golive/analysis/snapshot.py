"""Cumulative per-revision counters and the arithmetic on them.

A :class:`Snapshot` is what a metric source reads at one instant: counters since the revision's
proxy started. Counters may reset (a proxy restart, a config change); :class:`Series` turns a
stream of snapshots into monotonic totals, treating any decrease as a restart, and answers
"what happened in the last N seconds" with :class:`WindowStats`.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Cumulative counters for one revision.

    ``latency_ms_buckets`` maps an upper bound in milliseconds (``inf`` included) to the number of
    requests at or below it, cumulative like Prometheus histograms. Any bucket layout is accepted.
    """

    requests: int
    errors: int
    latency_ms_buckets: Mapping[float, int] = field(default_factory=lambda: MappingProxyType({}))

    @staticmethod
    def empty() -> Snapshot:
        return Snapshot(0, 0, MappingProxyType({}))

    def to_json(self) -> dict[str, object]:
        return {
            "requests": self.requests,
            "errors": self.errors,
            "buckets": [[_bound_text(b), c] for b, c in sorted(self.latency_ms_buckets.items())],
        }

    @staticmethod
    def from_json(data: Mapping[str, object]) -> Snapshot:
        raw = data.get("buckets", [])
        assert isinstance(raw, list)
        buckets = {float(b): int(c) for b, c in raw}
        return Snapshot(int(str(data["requests"])), int(str(data["errors"])), buckets)


def _bound_text(bound: float) -> str | float:
    return "inf" if math.isinf(bound) else bound


def _is_reset(prev: Snapshot, cur: Snapshot) -> bool:
    if cur.requests < prev.requests or cur.errors < prev.errors:
        return True
    if set(prev.latency_ms_buckets) != set(cur.latency_ms_buckets):
        return bool(prev.latency_ms_buckets)
    return any(cur.latency_ms_buckets[b] < c for b, c in prev.latency_ms_buckets.items())


def delta(prev: Snapshot | None, cur: Snapshot) -> Snapshot:
    """Counts between two snapshots; after a reset the new counters are the delta."""
    if prev is None:
        return Snapshot.empty()
    if _is_reset(prev, cur):
        return cur
    buckets = {b: c - prev.latency_ms_buckets.get(b, 0) for b, c in cur.latency_ms_buckets.items()}
    return Snapshot(cur.requests - prev.requests, cur.errors - prev.errors, buckets)


def add(a: Snapshot, b: Snapshot) -> Snapshot:
    bounds = set(a.latency_ms_buckets) | set(b.latency_ms_buckets)
    buckets = {
        x: _cumulative_at(a.latency_ms_buckets, x) + _cumulative_at(b.latency_ms_buckets, x)
        for x in bounds
    }
    return Snapshot(a.requests + b.requests, a.errors + b.errors, buckets)


def _cumulative_at(buckets: Mapping[float, int], bound: float) -> int:
    """Cumulative count at ``bound`` for a layout that may not contain it (lower bucket wins)."""
    best = 0
    for b, c in buckets.items():
        if b <= bound:
            best = max(best, c)
    return best


def quantile(buckets: Mapping[float, int], q: float) -> float | None:
    """Latency quantile in ms from cumulative buckets, interpolated inside the bucket.

    Returns ``None`` with no observations. A quantile in the ``inf`` bucket returns the largest
    finite bound (what Prometheus' ``histogram_quantile`` does).
    """
    items = sorted(buckets.items())
    if not items or items[-1][1] <= 0:
        return None
    total = items[-1][1]
    rank = q * total
    lower_bound, lower_count = 0.0, 0
    for bound, count in items:
        if count >= rank and count > lower_count:
            if math.isinf(bound):
                return lower_bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / (
                count - lower_count
            )
        lower_bound, lower_count = bound, count
    return lower_bound


@dataclass(frozen=True, slots=True)
class WindowStats:
    """What one revision served during a window."""

    seconds: float
    requests: int
    errors: int
    latency_ms_buckets: Mapping[float, int]

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.requests if self.requests else None

    @property
    def request_rate(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    def latency(self, q: float) -> float | None:
        return quantile(self.latency_ms_buckets, q)


class Series:
    """Monotonic totals of one revision over time, bounded to ``keep`` seconds of history."""

    def __init__(self, keep: float = 3600.0) -> None:
        self._keep = keep
        self._last_raw: Snapshot | None = None
        self._points: deque[tuple[float, Snapshot]] = deque()

    def push(self, t: float, raw: Snapshot) -> None:
        total = self._points[-1][1] if self._points else Snapshot.empty()
        total = add(total, delta(self._last_raw, raw)) if self._last_raw is not None else total
        self._last_raw = raw
        self._points.append((t, total))
        while len(self._points) > 2 and self._points[1][0] < t - self._keep:
            self._points.popleft()

    @property
    def total(self) -> Snapshot:
        return self._points[-1][1] if self._points else Snapshot.empty()

    def window(self, seconds: float) -> WindowStats:
        """Stats over the last ``seconds`` (or all history if shorter)."""
        if len(self._points) < 2:
            return WindowStats(0.0, 0, 0, {})
        now, last = self._points[-1]
        base_t, base = self._points[0]
        for t, snap in self._points:
            if t > now - seconds:
                break
            base_t, base = t, snap
        d = delta(base, last)
        return WindowStats(now - base_t, d.requests, d.errors, dict(d.latency_ms_buckets))
