"""The threshold judge: absolute limits and canary/stable ratios over a sliding window.

This is the Argo Rollouts / Flagger style of judging, kept simple and honest: it never promotes
early (it has no notion of evidence), it says "not yet known" until the canary has served
``min_requests`` in the window, and a limit must be exceeded for ``hold`` seconds before it
rolls back.
"""

from __future__ import annotations

from golive.analysis.judge import (
    Decision,
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


class ThresholdJudge:
    def __init__(self, config: JudgeConfig) -> None:
        self.config = config
        self.stable = Series(keep=config.window * 2 + 60)
        self.canary = Series(keep=config.window * 2 + 60)
        self._breach_since: dict[str, float] = {}

    def update(self, t: float, stable: Snapshot, canary: Snapshot, canary_weight: float) -> Verdict:
        self.stable.push(t, stable)
        self.canary.push(t, canary)
        s = self.stable.window(self.config.window)
        c = self.canary.window(self.config.window)
        metrics: list[MetricVerdict] = []
        if "error_rate" in self.config.metrics:
            metrics.append(self._errors(s, c))
        if "latency" in self.config.metrics:
            metrics.append(self._latency(s, c))
        decision = Decision.CONTINUE
        for m in metrics:
            if m.status is Status.REGRESSED:
                since = self._breach_since.setdefault(m.metric, t)
                if t - since >= self.config.hold:
                    decision = Decision.ROLLBACK
            else:
                self._breach_since.pop(m.metric, None)
        return Verdict(decision, tuple(metrics))

    def _unknown(self, metric: str, c: WindowStats) -> MetricVerdict:
        need = self.config.min_requests
        return MetricVerdict(
            metric,
            None,
            None,
            Status.UNKNOWN,
            f"{metric}: not yet known (canary served {c.requests} of {need} requests needed)",
        )

    def _errors(self, s: WindowStats, c: WindowStats) -> MetricVerdict:
        cfg = self.config
        if c.requests < cfg.min_requests:
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
        if c.requests < cfg.min_requests:
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


@register("threshold")
def _build(config: JudgeConfig) -> ThresholdJudge:
    return ThresholdJudge(config)
