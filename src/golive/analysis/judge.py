"""The judge contract: what every canary judge takes and returns.

A judge sees cumulative :class:`Snapshot` counters of stable and canary once per scrape
(``update``) and answers with a :class:`Verdict`: continue, roll back or promote, with one
explained line per metric. Judges are pure and deterministic: replaying the same updates gives
the same verdicts, which is how a restarted controller rebuilds one from the durable record.

``Judge(config)`` builds the judge a config is for: each judge kind has its own config class
(``SequentialConfig(...)``); :func:`config_for` picks the class by kind name, as a plan does.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar, Protocol, TypeVar

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


@dataclass(frozen=True, slots=True, kw_only=True)
class JudgeConfig:
    """What every judge's config has; each kind's class (``SequentialConfig``,
    ``MannWhitneyConfig``, ``ThresholdConfig``, in the judge's own module) adds the fields that
    kind reads, and nothing else, and names the kind. Fractions, not percentages (``0.01`` is
    1%)."""

    kind: ClassVar[str]
    metrics: tuple[str, ...] = ("error_rate", "latency")
    latency_quantile: float = 0.95  # shown by every judge; mann-whitney and threshold judge on it
    notes: tuple[str, ...] = ()  # said in every verdict (e.g. why a metric is not judged)


class JudgeImpl(Protocol):
    def update(
        self, t: float, stable: Snapshot, canary: Snapshot, canary_weight: float
    ) -> Verdict: ...


_C = TypeVar("_C", bound=JudgeConfig)
_KINDS: dict[str, tuple[type[JudgeConfig], Callable[[Any], JudgeImpl]]] = {}


def register(
    config: type[_C],
) -> Callable[[Callable[[_C], JudgeImpl]], Callable[[_C], JudgeImpl]]:
    """Register the judge built from a ``config`` of this class (whose ``kind`` names it)."""

    def add(factory: Callable[[_C], JudgeImpl]) -> Callable[[_C], JudgeImpl]:
        _KINDS[config.kind] = (config, factory)
        return factory

    return add


def known_kinds() -> list[str]:
    _load_builtins()
    return sorted(_KINDS)


def settings_of(kind: str) -> frozenset[str]:
    """The settings judge ``kind`` reads (its config's fields); ValueError for an unknown kind."""
    config, _ = _registered(kind)
    return frozenset(f.name for f in dataclasses.fields(config))


def config_for(kind: str, **settings: object) -> JudgeConfig:
    """The config of judge ``kind``, from settings of any kind: it takes the ones its kind reads
    (a plan's one ``judge`` mapping may hold others, ignored as they always were). An unknown
    kind is a ValueError naming the known."""
    config, _ = _registered(kind)
    names = {f.name for f in dataclasses.fields(config)}
    taken: dict[str, Any] = {k: v for k, v in settings.items() if k in names}
    return config(**taken)


def Judge(config: JudgeConfig) -> JudgeImpl:
    """Build the judge ``config`` is for."""
    _, factory = _registered(config.kind)
    judge = factory(config)
    return _Noted(judge, config.notes) if config.notes else judge


def _registered(kind: str) -> tuple[type[JudgeConfig], Callable[[Any], JudgeImpl]]:
    _load_builtins()
    found = _KINDS.get(kind)
    if found is None:
        raise ValueError(f"unknown judge {kind!r}; known: {', '.join(sorted(_KINDS))}")
    return found


class _Noted:
    """Adds the config's notes to every verdict of the judge it wraps."""

    def __init__(self, judge: JudgeImpl, notes: tuple[str, ...]) -> None:
        self._judge, self._notes = judge, notes

    def update(self, t: float, stable: Snapshot, canary: Snapshot, canary_weight: float) -> Verdict:
        v = self._judge.update(t, stable, canary, canary_weight)
        return Verdict(v.decision, v.metrics, (*v.notes, *self._notes))


def _load_builtins() -> None:
    from golive.analysis import mannwhitney, sequential, threshold  # noqa: F401  (they register)
