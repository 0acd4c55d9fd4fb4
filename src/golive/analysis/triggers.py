"""Always-on rollback triggers: ``error_rate > 5% for 2m``.

A trigger is evaluated on every measurement tick from the first shift to the end of the
rollout, over the canary's last ``window`` seconds. It fires when its condition has held
continuously for ``hold`` seconds. Too little traffic in the window is "not yet known": it
neither starts nor clears the clock.

:func:`evaluate` is the one pass over every trigger the engine makes per observation: since
when each condition holds, which triggers fire, and which ``notify`` episodes start or clear.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from golive.analysis.snapshot import WindowStats
from golive.units import format_duration, parse_duration, parse_percent

_CONDITION = re.compile(r"^\s*([a-z_0-9]+)\s*(>=|<=|>|<)\s*(\S+)\s*$")
_OPS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}
_LATENCY = re.compile(r"^latency_p(\d{1,2}(?:\.\d+)?)$")
METRICS_HELP = (
    "error_rate (a percentage), latency_p50 / latency_p95 / latency_p99 (a duration), "
    "or canary_down"
)
DOWN = "canary_down"  # the canary does not answer its health check (the seeds' "service down")


class TriggerAction(StrEnum):
    ROLLBACK = "rollback"
    PAUSE = "pause"
    NOTIFY = "notify"


@dataclass(frozen=True, slots=True)
class Trigger:
    text: str
    metric: str
    op: str
    threshold: float  # a fraction for error_rate, milliseconds for latency
    hold: float
    window: float
    min_requests: int
    action: TriggerAction

    @property
    def label(self) -> str:
        return f"{self.text} for {format_duration(self.hold)}"


def parse_condition(text: str) -> tuple[str, str, float]:
    """``"error_rate > 5%"`` -> ``("error_rate", ">", 0.05)``; latency thresholds in ms."""
    if text.strip() == DOWN:
        return DOWN, ">", 0.5
    match = _CONDITION.match(text)
    if match is None:
        raise ValueError(f"expected a condition like 'error_rate > 5%' using {METRICS_HELP}")
    metric, op, raw = match.groups()
    if metric == "error_rate":
        return metric, op, parse_percent(raw)
    quantile = _LATENCY.match(metric)
    if quantile:
        if not 0 < float(quantile.group(1)) < 100:
            raise ValueError(f"{metric}: a percentile is between latency_p1 and latency_p99.9")
        return metric, op, parse_duration(raw) * 1000.0
    raise ValueError(f"unknown metric {metric!r}; expected {METRICS_HELP}")


def measure(trigger: Trigger, stats: WindowStats) -> float | None:
    """The trigger's metric over the window, or ``None`` when not yet known."""
    if trigger.metric == DOWN:
        raise ValueError("canary_down is measured from the canary's health, not its traffic")
    if stats.requests < trigger.min_requests:
        return None
    if trigger.metric == "error_rate":
        return stats.error_rate
    match = _LATENCY.match(trigger.metric)
    assert match is not None
    return stats.latency(float(match.group(1)) / 100.0)


def advance(
    trigger: Trigger, since: float | None, value: float | None, now: float
) -> tuple[float | None, bool]:
    """Next "condition true since" time and whether the trigger fires now."""
    if value is None:
        return since, since is not None and now - since >= trigger.hold
    if not _OPS[trigger.op](value, trigger.threshold):
        return None, False
    start = now if since is None else since
    return start, now - start >= trigger.hold


@dataclass(frozen=True, slots=True)
class Firing:
    """A trigger whose condition has held for its ``hold``, with the value that shows it."""

    trigger: Trigger
    value: float | None

    @property
    def why(self) -> str:
        return describe(self.trigger, self.value)


@dataclass(frozen=True, slots=True)
class TriggerPass:
    """Every trigger evaluated on one observation."""

    since: tuple[float | None, ...]  # per trigger: its condition holds since then
    notified: tuple[bool, ...]  # per trigger: its notification for this episode is out
    fired: tuple[Firing, ...]  # whatever the action, in the plan's order
    notices: tuple[Firing, ...]  # ``notify`` triggers whose episode starts now


def evaluate(
    triggers: tuple[Trigger, ...],
    since: tuple[float | None, ...],
    notified: tuple[bool, ...],
    values: tuple[float | None, ...] | None,
    now: float,
) -> TriggerPass:
    """Advance every trigger's clock by one observation.

    ``values`` are the triggers' metrics, in order (``None`` for one not yet known); without
    them (triggers not armed yet, or not measured on this pass) nothing changes. A ``notify``
    trigger notifies once per episode: when it fires, and again only after its condition
    stopped holding.
    """
    held = since or (None,) * len(triggers)
    if values is None or len(values) != len(triggers):
        return TriggerPass(held, notified, (), ())
    nxt: list[float | None] = []
    out = list(notified or (False,) * len(triggers))
    fired: list[Firing] = []
    notices: list[Firing] = []
    for i, (t, s, v) in enumerate(zip(triggers, held, values, strict=True)):
        start, fires = advance(t, s, v, now)
        nxt.append(start)
        if fires:
            fired.append(Firing(t, v))
        if t.action is not TriggerAction.NOTIFY:
            continue
        if start is None:
            out[i] = False
        elif fires and not out[i]:
            out[i] = True
            notices.append(Firing(t, v))
    return TriggerPass(tuple(nxt), tuple(out), tuple(fired), tuple(notices))


def describe(trigger: Trigger, value: float | None) -> str:
    if trigger.metric == DOWN:
        return f"trigger '{trigger.label}' fired: the canary does not answer its health check"
    if value is None:
        shown = "n/a"
    elif trigger.metric == "error_rate":
        shown = f"{value * 100:.2f}%"
    else:
        shown = f"{value:.0f}ms"
    return f"trigger '{trigger.label}' fired: canary {trigger.metric} is {shown}"
