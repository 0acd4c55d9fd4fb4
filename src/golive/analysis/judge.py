"""The judge contract: what every canary judge takes and returns.

A judge sees cumulative :class:`Snapshot` counters of stable and canary once per scrape
(``update``) and answers with a :class:`Verdict`: continue, roll back or promote, with one
explained line per metric. Judges are pure and deterministic: replaying the same updates gives
the same verdicts, which is how a restarted controller rebuilds one from the durable record.

``Judge(JudgeConfig(...))`` builds the judge the config's ``kind`` selects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from golive.analysis.snapshot import Snapshot


class Call(StrEnum):
    CONTINUE = "continue"
    ROLLBACK = "rollback"
    PROMOTE = "promote"


class Status(StrEnum):
    OK = "ok"
    REGRESSED = "regressed"
    UNKNOWN = "not yet known"


@dataclass(frozen=True, slots=True)
class MetricVerdict:
    """One metric's comparison, explained for a release manager."""

    metric: str
    stable: float | None
    canary: float | None
    status: Status
    sentence: str
    effect: float | None = None
    interval: tuple[float, float] | None = None
    evidence: float | None = None
    rule: str = ""


@dataclass(frozen=True, slots=True)
class Verdict:
    decision: Call
    metrics: tuple[MetricVerdict, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def known(self) -> bool:
        """True when every metric has enough data to be judged."""
        return bool(self.metrics) and all(m.status is not Status.UNKNOWN for m in self.metrics)

    @property
    def reason(self) -> str:
        regressed = [m.sentence for m in self.metrics if m.status is Status.REGRESSED]
        if regressed:
            return "; ".join(regressed)
        return "; ".join([*(m.sentence for m in self.metrics), *self.notes]) or "no metrics"


@dataclass(frozen=True, slots=True)
class JudgeConfig:
    """Selects and tunes a judge. Fractions, not percentages (``0.01`` is 1%).

    ``error_tolerance=0.2`` means the canary is regressed only if its error rate exceeds
    1.2 x stable's; ``latency_tolerance`` likewise on latency. Absolute limits (``max_*``) are
    SLOs that apply whatever stable does.

    Which fields matter depends on ``kind``: ``sequential`` uses the rates, tolerances,
    ``min_requests`` and ``min_exposure``; ``mann-whitney`` judges every ``interval`` (default
    5 minutes); ``threshold`` measures every ``interval`` (default every update) over ``window``
    and counts failures the way ``style`` (``golive``, ``argo`` or ``flagger``) does.
    """

    kind: str = "sequential"
    false_rollback_rate: float = 0.01
    false_promotion_rate: float = 0.05
    min_exposure: float = 60.0
    error_tolerance: float = 0.05
    latency_tolerance: float = 0.01
    max_error_rate: float | None = 0.05
    max_latency_ms: float | None = None
    max_error_ratio: float | None = None
    max_latency_ratio: float | None = None
    latency_quantile: float = 0.95
    min_requests: int = 50
    window: float = 60.0
    hold: float = 0.0
    interval: float = 0.0
    style: str = "golive"
    failure_limit: int = 0
    consecutive_error_limit: int = 4
    metrics: tuple[str, ...] = field(default=("error_rate", "latency"))
    notes: tuple[str, ...] = ()  # said in every verdict (e.g. why a metric is not judged)


class JudgeImpl(Protocol):
    def update(
        self, t: float, stable: Snapshot, canary: Snapshot, canary_weight: float
    ) -> Verdict: ...


_KINDS: dict[str, Callable[[JudgeConfig], JudgeImpl]] = {}


def register(
    kind: str,
) -> Callable[[Callable[[JudgeConfig], JudgeImpl]], Callable[[JudgeConfig], JudgeImpl]]:
    def add(factory: Callable[[JudgeConfig], JudgeImpl]) -> Callable[[JudgeConfig], JudgeImpl]:
        _KINDS[kind] = factory
        return factory

    return add


def known_kinds() -> list[str]:
    _load_builtins()
    return sorted(_KINDS)


def Judge(config: JudgeConfig) -> JudgeImpl:
    """Build the judge ``config.kind`` selects; an unknown kind is a ValueError naming the known."""
    _load_builtins()
    factory = _KINDS.get(config.kind)
    if factory is None:
        raise ValueError(f"unknown judge {config.kind!r}; known: {', '.join(sorted(_KINDS))}")
    judge = factory(config)
    return _Noted(judge, config.notes) if config.notes else judge


class _Noted:
    """Adds the config's notes to every verdict of the judge it wraps."""

    def __init__(self, judge: JudgeImpl, notes: tuple[str, ...]) -> None:
        self._judge, self._notes = judge, notes

    def update(self, t: float, stable: Snapshot, canary: Snapshot, canary_weight: float) -> Verdict:
        v = self._judge.update(t, stable, canary, canary_weight)
        return Verdict(v.decision, v.metrics, (*v.notes, *self._notes))


def _load_builtins() -> None:
    from golive.analysis import mannwhitney, sequential, threshold  # noqa: F401  (they register)
