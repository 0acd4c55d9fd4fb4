"""The threshold judge: absolute limits and canary/stable ratios over a sliding window.

Every ``interval`` (default: every update) it measures the canary over the last ``window``
and compares with fixed limits. It never promotes early (it has no notion of evidence). How
failed measurements turn into a rollback depends on ``style``:

- ``golive``: "not yet known" until the canary served ``min_requests`` in the window; a limit
  must be exceeded for ``hold`` seconds.
- ``argo`` (Argo Rollouts AnalysisRun): a window without canary requests is NaN, and
  ``result <= limit`` is false for NaN, so the measurement *fails*; an error rate whose error
  series does not exist yet (no canary error ever) is an empty result, a measurement *error*.
  Roll back when failed measurements exceed ``failure_limit`` or more than
  ``consecutive_error_limit`` errors come in a row.
- ``flagger`` (Flagger canary analysis): NaN or no values is a failed check ("halt
  advancement"); roll back when failed checks reach ``failure_limit`` (Flagger's ``threshold``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from golive.analysis.judge import (
    Call,
    JudgeConfig,
    MetricVerdict,
    Status,
    Verdict,
    register,
)
from golive.analysis.snapshot import Series, Snapshot, WindowStats


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x * 100:.2f}%"


def _ms(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.0f}ms"


@dataclass(frozen=True, slots=True, kw_only=True)
class ThresholdConfig(JudgeConfig):
    """Absolute limits (``max_*``) are SLOs that apply whatever stable does; the ratios bound
    the canary to that many times stable."""

    kind: ClassVar[str] = "threshold"
    max_error_rate: float | None = 0.05
    max_latency_ms: float | None = None
    max_error_ratio: float | None = None
    max_latency_ratio: float | None = None
    min_requests: int = 50
    window: float = 60.0
    hold: float = 0.0
    interval: float = 0.0
    style: str = "golive"
    failure_limit: int = 0
    consecutive_error_limit: int = 4


class ThresholdJudge:
    def __init__(self, config: ThresholdConfig) -> None:
        self.config = config
        self.stable = Series(keep=config.window * 2 + 60)
        self.canary = Series(keep=config.window * 2 + 60)
        self._breach_since: dict[str, float] = {}
        self._failures: dict[str, int] = {}
        self._errors_in_row: dict[str, int] = {}
        self._next: float | None = None
        self._last = Verdict(Call.CONTINUE, ())
        self._min = 1 if config.style in ("argo", "flagger") else config.min_requests

    def update(self, t: float, stable: Snapshot, canary: Snapshot, canary_weight: float) -> Verdict:
        self.stable.push(t, stable)
        self.canary.push(t, canary)
        every = self.config.interval
        if every > 0:
            if self._next is not None and t < self._next:
                return self._last
            if self._next is None:  # the first measurement comes one interval in
                self._next = t + every
                return self._last
            while self._next <= t:
                self._next += every
        s = self.stable.window(self.config.window)
        c = self.canary.window(self.config.window)
        metrics: list[MetricVerdict] = []
        if "error_rate" in self.config.metrics:
            m = self._errors(s, c)
            never_failed = self.canary.total.errors == 0
            metrics.append(_as_error(m) if self.config.style == "argo" and never_failed else m)
        if "latency" in self.config.metrics:
            metrics.append(self._latency(s, c))
        self._last = Verdict(self._decide(t, metrics), tuple(metrics))
        return self._last

    def _decide(self, t: float, metrics: list[MetricVerdict]) -> Call:
        cfg = self.config
        decision = Call.CONTINUE
        for m in metrics:
            if cfg.style == "golive":
                if m.status is Status.REGRESSED:
                    since = self._breach_since.setdefault(m.metric, t)
                    if t - since >= cfg.hold:
                        decision = Call.ROLLBACK
                else:
                    self._breach_since.pop(m.metric, None)
                continue
            error = m.rule == "error"
            failed = m.status is Status.REGRESSED or (m.status is Status.UNKNOWN and not error)
            if cfg.style == "argo" and error:
                self._errors_in_row[m.metric] = self._errors_in_row.get(m.metric, 0) + 1
            else:
                self._errors_in_row[m.metric] = 0
            if failed:
                self._failures[m.metric] = self._failures.get(m.metric, 0) + 1
            n = self._failures.get(m.metric, 0)
            if cfg.style == "argo" and (
                n > cfg.failure_limit or self._errors_in_row[m.metric] > cfg.consecutive_error_limit
            ):
                decision = Call.ROLLBACK
            if cfg.style == "flagger" and n >= max(1, cfg.failure_limit):
                decision = Call.ROLLBACK
        return decision

    def _unknown(self, metric: str, c: WindowStats) -> MetricVerdict:
        need = self._min
        return MetricVerdict(
            metric,
            None,
            None,
            Status.UNKNOWN,
            f"{metric}: not yet known (canary served {c.requests} of {need} requests needed)",
        )

    def _errors(self, s: WindowStats, c: WindowStats) -> MetricVerdict:
        cfg = self.config
        if c.requests < self._min:
            return self._unknown("error_rate", c)
        sr, cr = s.error_rate, c.error_rate or 0.0
        ratio = cr / sr if sr else None
        head = f"canary error rate {_pct(cr)} vs {_pct(sr)} on stable"
        if cfg.max_error_rate is not None and cr > cfg.max_error_rate:
            rule = f"error_rate > {_pct(cfg.max_error_rate)}"
            return MetricVerdict(
                "error_rate",
                sr,
                cr,
                Status.REGRESSED,
                f"{head}: above the {_pct(cfg.max_error_rate)} limit",
                effect=ratio,
                rule=rule,
            )
        if (
            cfg.max_error_ratio is not None
            and sr is not None
            and s.requests >= cfg.min_requests
            and cr > sr * cfg.max_error_ratio
            and cr > 0
        ):
            rule = f"error_rate > {cfg.max_error_ratio:g} x stable"
            return MetricVerdict(
                "error_rate",
                sr,
                cr,
                Status.REGRESSED,
                f"{head}: more than x{cfg.max_error_ratio:g} stable's",
                effect=ratio,
                rule=rule,
            )
        return MetricVerdict(
            "error_rate", sr, cr, Status.OK, f"{head}: within limits", effect=ratio
        )

    def _latency(self, s: WindowStats, c: WindowStats) -> MetricVerdict:
        cfg = self.config
        q = cfg.latency_quantile
        name = f"latency_p{q * 100:g}"
        if c.requests < self._min:
            return self._unknown(name, c)
        sl, cl = s.latency(q), c.latency(q)
        if cl is None:
            return self._unknown(name, c)
        ratio = cl / sl if sl else None
        head = f"canary p{q * 100:g} latency {_ms(cl)} vs {_ms(sl)} on stable"
        if cfg.max_latency_ms is not None and cl > cfg.max_latency_ms:
            return MetricVerdict(
                name,
                sl,
                cl,
                Status.REGRESSED,
                f"{head}: above the {_ms(cfg.max_latency_ms)} limit",
                effect=ratio,
                rule=f"{name} > {_ms(cfg.max_latency_ms)}",
            )
        if (
            cfg.max_latency_ratio is not None
            and ratio is not None
            and ratio > cfg.max_latency_ratio
        ):
            return MetricVerdict(
                name,
                sl,
                cl,
                Status.REGRESSED,
                f"{head}: more than x{cfg.max_latency_ratio:g} stable's",
                effect=ratio,
                rule=f"{name} > {cfg.max_latency_ratio:g} x stable",
            )
        return MetricVerdict(name, sl, cl, Status.OK, f"{head}: within limits", effect=ratio)


def _as_error(m: MetricVerdict) -> MetricVerdict:
    sentence = f"{m.metric}: query returned no series (no canary error yet): measurement error"
    return MetricVerdict(m.metric, m.stable, m.canary, Status.UNKNOWN, sentence, rule="error")


@register(ThresholdConfig)
def _build(config: ThresholdConfig) -> ThresholdJudge:
    return ThresholdJudge(config)
