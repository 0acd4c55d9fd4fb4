"""The sequential judge (default): anytime-valid tests on every scrape.

It looks at each scrape interval on its own (see :mod:`golive.analysis.evidence`) and keeps
running e-processes, so it may decide at any look without inflating its error rate:

- **rollback** when a metric's evidence of "canary worse beyond tolerance" reaches
  ``1/alpha``; ``false_rollback_rate`` is split evenly over the metrics, so it bounds the chance
  of a false rollback across all metrics and all looks;
- **promote** (early) when every metric has evidence that the canary is *not* worse beyond
  tolerance (at ``false_promotion_rate``) after ``min_exposure`` seconds of canary traffic;
- otherwise continue. A metric is "not yet known" until the canary served ``min_requests``.

``min_requests`` gates promotion and "not yet known", never a rollback: an e-process is valid
at any sample size, so evidence that already reached ``1/alpha`` rolls back at once, however
few requests the canary served (at 1% of little traffic, 50 requests can take minutes).

Absolute limits (an error rate above 5%) are the job of triggers, not of this comparison.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from golive.analysis.evidence import RateRatioTest, ShiftTest
from golive.analysis.histogram import aligned_counts, deflate, slower_share, tail_bounds
from golive.analysis.judge import Call, JudgeConfig, MetricVerdict, Status, Verdict, register
from golive.analysis.snapshot import Snapshot, add, delta, quantile

MIN_REQUESTS_FOR_TAILS = 200
TAILS_QUIET = math.log(3.0)  # no promotion while a tail test holds more evidence than this


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x * 100:.2f}%"


def _ms(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.0f}ms"


@dataclass(frozen=True, slots=True, kw_only=True)
class SequentialConfig(JudgeConfig):
    """``error_tolerance=0.05`` means the canary is regressed only if its error rate exceeds
    1.05 x stable's; ``latency_tolerance`` likewise on latency."""

    kind: ClassVar[str] = "sequential"
    false_rollback_rate: float = 0.01
    false_promotion_rate: float = 0.05
    error_tolerance: float = 0.05
    latency_tolerance: float = 0.01
    min_exposure: float = 60.0
    min_requests: int = 50


class SequentialJudge:
    def __init__(self, config: SequentialConfig) -> None:
        self.config = config
        n = max(1, len(config.metrics))
        self._log_rollback = math.log(n / config.false_rollback_rate)
        self._log_promote = math.log(n / config.false_promotion_rate)
        self.errors = RateRatioTest(1.0 + config.error_tolerance)
        self.latency = ShiftTest()
        self._pending_stable = Snapshot.empty()
        self._prev: tuple[Snapshot, Snapshot] | None = None
        self._total = (Snapshot.empty(), Snapshot.empty())
        self._weight: float | None = None
        self._first_canary: float | None = None

    def update(self, t: float, stable: Snapshot, canary: Snapshot, canary_weight: float) -> Verdict:
        prev_s, prev_c = self._prev if self._prev else (None, None)
        ds, dc = delta(prev_s, stable), delta(prev_c, canary)
        self._prev = (stable, canary)
        if self._weight is not None and canary_weight != self._weight:
            self.errors.restart()
            self.latency.restart()
        self._weight = canary_weight
        if dc.requests > 0 and self._first_canary is None:
            self._first_canary = t
        self._total = (add(self._total[0], ds), add(self._total[1], dc))
        self.errors.add(dc.errors, dc.errors + ds.errors, dc.requests, ds.requests)
        self._feed_latency(ds, dc)
        metrics: list[MetricVerdict] = []
        if "error_rate" in self.config.metrics:
            metrics.append(self._error_verdict(t))
        if "latency" in self.config.metrics:
            metrics.append(self._latency_verdict(t))
        if any(m.status is Status.REGRESSED for m in metrics):
            return Verdict(Call.ROLLBACK, tuple(metrics))
        proven = all(m.rule == "proven" for m in metrics) and bool(metrics)
        return Verdict(Call.PROMOTE if proven else Call.CONTINUE, tuple(metrics))

    def _feed_latency(self, ds: Snapshot, dc: Snapshot) -> None:
        if "latency" not in self.config.metrics:
            return
        if not self.latency.tail_bounds:
            # tail bounds are chosen from stable's first requests, then tested on later ones
            self._pending_stable = add(self._pending_stable, ds)
            if self._pending_stable.requests >= MIN_REQUESTS_FOR_TAILS:
                self.latency.watch_tails(tail_bounds(self._pending_stable.latency_ms_buckets))
        bounds, s_counts, c_counts = aligned_counts(ds.latency_ms_buckets, dc.latency_ms_buckets)
        if len(bounds) > 1:
            c_counts = deflate(bounds, c_counts, 1.0 + self.config.latency_tolerance)
            self.latency.add(bounds, s_counts, c_counts)

    def _exposed(self, t: float) -> bool:
        first = self._first_canary
        return first is not None and t - first >= self.config.min_exposure

    def _unknown(self, metric: str, stable: float | None, canary: float | None) -> MetricVerdict:
        served, need = self._total[1].requests, self.config.min_requests
        return MetricVerdict(
            metric,
            stable,
            canary,
            Status.UNKNOWN,
            f"{metric}: not yet known (canary served {served} of {need} requests needed)",
        )

    def _error_verdict(self, t: float) -> MetricVerdict:
        s, c = self._total
        sr = s.errors / s.requests if s.requests else None
        cr = c.errors / c.requests if c.requests else None
        test = self.errors
        ratio, interval = test.ratio(), test.interval()
        evidence = test.worse.log_value()
        if c.requests < self.config.min_requests and evidence < self._log_rollback:
            return self._unknown("error_rate", sr, cr)
        head = f"canary error rate {_pct(cr)} vs {_pct(sr)} on stable{_effect(ratio, interval)}"
        tol = f"x{test.null:g}"
        if evidence >= self._log_rollback:
            return MetricVerdict(
                "error_rate", sr, cr, Status.REGRESSED,
                f"{head}: regression beyond the {tol} tolerance, rolling back",
                _finite(ratio), interval, math.exp(evidence), "regressed",
            )  # fmt: skip
        if test.better.log_value() >= self._log_promote and self._exposed(t):
            return MetricVerdict(
                "error_rate", sr, cr, Status.OK,
                f"{head}: not worse than stable beyond {tol}, proven",
                _finite(ratio), interval, math.exp(evidence), "proven",
            )  # fmt: skip
        found = "no errors yet" if ratio is None else "no regression found so far"
        sentence = f"{head}: {found}"
        return MetricVerdict(
            "error_rate", sr, cr, Status.OK, sentence,
            _finite(ratio), interval, math.exp(evidence), "watching",
        )  # fmt: skip

    def _latency_verdict(self, t: float) -> MetricVerdict:
        q = self.config.latency_quantile
        name = f"latency_p{q * 100:g}"
        s, c = self._total
        sl, cl = quantile(s.latency_ms_buckets, q), quantile(c.latency_ms_buckets, q)
        test = self.latency
        evidence = test.log_worse()
        few = c.requests < self.config.min_requests and evidence < self._log_rollback
        if few or cl is None:
            return self._unknown(name, sl, cl)
        ratio = cl / sl if sl else None
        head = f"canary p{q * 100:g} latency {_ms(cl)} vs {_ms(sl)} on stable"
        if ratio is not None:
            head += f" (x{ratio:.2f})"
        tol = f"x{1 + self.config.latency_tolerance:g}"
        if evidence >= self._log_rollback:
            return MetricVerdict(
                name, sl, cl, Status.REGRESSED,
                f"{head}: slower than stable beyond {tol} ({self._where()}), rolling back",
                ratio, None, math.exp(evidence), "regressed",
            )  # fmt: skip
        tails_quiet = all(e.log_value() <= TAILS_QUIET for e in test.tail_worse)
        if test.rank_better.log_value() >= self._log_promote and tails_quiet and self._exposed(t):
            return MetricVerdict(
                name, sl, cl, Status.OK, f"{head}: not slower than stable beyond {tol}, proven",
                ratio, None, math.exp(evidence), "proven",
            )  # fmt: skip
        return MetricVerdict(
            name, sl, cl, Status.OK, f"{head}: no regression found so far",
            ratio, None, math.exp(evidence), "watching",
        )  # fmt: skip

    def _where(self) -> str:
        """What carries the evidence: a tail bound, or the whole distribution."""
        test = self.latency
        s, c = self._total
        rank = test.rank_worse.log_value()
        best = max(
            zip(test.tail_bounds, test.tail_worse, strict=True),
            key=lambda pair: pair[1].log_value(),
            default=None,
        )
        if best is None or best[1].log_value() <= rank:
            share = slower_share(s.latency_ms_buckets, c.latency_ms_buckets)
            return f"a canary request is slower than a stable one {_pct(share)} of the time"
        return (
            f"{_pct(_above(c, best[0]))} of canary requests over {_ms(best[0])}"
            f" vs {_pct(_above(s, best[0]))} on stable"
        )


def _effect(ratio: float | None, interval: tuple[float, float] | None) -> str:
    """The ratio and its interval in words where a count is zero (no "x3" from no errors)."""
    if ratio is None or interval is None:
        return ""
    low, high = interval
    if math.isinf(ratio):
        return f" (no errors on stable; 95% interval {_x(low)} or more)"
    if ratio == 0:
        return f" (no errors on canary; 95% interval up to {_x(high)})"
    return f" ({_x(ratio)}, 95% interval {_x(low)}-{_x(high)})"


def _x(ratio: float) -> str:
    return f"x{ratio:.2g}" if ratio < 100 else f"x{ratio:,.0f}"


def _finite(ratio: float | None) -> float | None:
    return None if ratio is None or math.isinf(ratio) else ratio


def _above(snap: Snapshot, bound: float) -> float | None:
    buckets = snap.latency_ms_buckets
    if not buckets:
        return None
    total = max(buckets.values())
    at = max((n for b, n in buckets.items() if b <= bound), default=0)
    return (total - at) / total if total else None


@register(SequentialConfig)
def _build(config: SequentialConfig) -> SequentialJudge:
    return SequentialJudge(config)
