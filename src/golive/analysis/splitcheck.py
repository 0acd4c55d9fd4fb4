"""Is the proxy serving the split golive set? The measured share checked against the set one.

A router's read-back says what it was *told* (its configuration, its runtime weights); its own
request counters say what it *did*. They part when a proxy fails over on its own (nginx marks a
server down after one failed request and sends everything to the other), when two proxies share
a port, or when a fleet member is stale. Every measured interval is tested here: the canary's
requests are binomial with the set share when the proxy does what it was told (Envoy picks at
random; round robin is even closer to the set share, so the test is conservative for it). An
alarm needs both a departure beyond ``tolerance`` (percentage points, for what a proxy does not
split exactly) and a p-value below ``LEVEL`` (one false alarm in a million intervals: about 2%
over a day of 5 s scrapes). An interval in which stable served nothing is judged the same way:
at 1% a handful of requests all on the canary is already far beyond chance.

When the weight changed during the interval, any share between the lowest and the highest weight
the router read back during it is expected. With a header segment or sticky users the expected
share is unknown (it depends on who sends what), and so it is for an interval that spans a
controller's restart or a split that could not be read: those intervals are not checked.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from golive.analysis.snapshot import Snapshot, delta
from golive.analysis.triggers import TriggerAction

LEVEL = 1e-6


class Departure(StrEnum):
    OVER = "over"  # the canary served more than set: users exposed beyond what was agreed
    UNDER = "under"  # the canary served less than set (stable more, or the canary nothing)


@dataclass(frozen=True, slots=True)
class SplitCheck:
    """What the plan's ``split_check`` says: the tolerance and what to do on each side."""

    tolerance: float = 0.02  # a fraction: 0.02 is 2 percentage points
    then: TriggerAction = TriggerAction.PAUSE  # the canary served less than set
    over: TriggerAction = TriggerAction.ROLLBACK  # the canary served more than set

    def action(self, finding: SplitFinding) -> TriggerAction:
        return self.over if finding.departure is Departure.OVER else self.then


@dataclass(frozen=True, slots=True)
class SplitFinding:
    """One interval whose measured split departs from the set one beyond chance."""

    stable: int
    canary: int
    low: float  # the canary share set during the interval (a fraction): low..high
    high: float
    departure: Departure
    p_value: float

    @property
    def share(self) -> float:
        return self.canary / (self.stable + self.canary)

    def describe(self) -> str:
        total = self.stable + self.canary
        lo, hi = self.low * 100, self.high * 100
        set_ = f"{hi:g}%" if lo == hi else f"{lo:g}-{hi:g}%"
        if self.stable == 0:
            what = f"stable served nothing: the canary served all {total} requests"
        else:
            what = (
                f"the canary served {self.canary} of {total} requests "
                f"({self.share:.1%}; stable {self.stable})"
            )
        return (
            f"split alarm: {what} while {set_} was set, according to the proxy's counters "
            f"(beyond chance: p = {self.p_value:.1g})"
        )

    def to_data(self) -> dict[str, object]:
        return {
            "stable": self.stable,
            "canary": self.canary,
            "set_low": self.low,
            "set_high": self.high,
            "departure": self.departure.value,
            "p_value": self.p_value,
        }


def _log_pmf(k: int, n: int, p: float) -> float:
    return (
        math.lgamma(n + 1)
        - math.lgamma(k + 1)
        - math.lgamma(n - k + 1)
        + k * math.log(p)
        + (n - k) * math.log1p(-p)
    )


def upper_tail(k: int, n: int, p: float) -> float:
    """``P(X >= k)`` for ``X ~ Binomial(n, p)``; exact where it is below 1/2."""
    if k <= 0 or p >= 1:
        return 1.0
    if k > n or p <= 0:
        return 0.0
    if k <= n * p:
        return 1.0  # at least about 1/2: never an alarm, not worth summing
    first = _log_pmf(k, n, p)
    total, term, j = 1.0, 1.0, k
    while j < n:  # pmf(j+1)/pmf(j) = (n-j)/(j+1) * p/(1-p), below 1 past the mode
        term *= (n - j) / (j + 1) * p / (1 - p)
        total += term
        j += 1
        if term < 1e-17 * total:
            break
    return min(1.0, math.exp(first + math.log(total)))


def lower_tail(k: int, n: int, p: float) -> float:
    """``P(X <= k)`` for ``X ~ Binomial(n, p)``."""
    return upper_tail(n - k, n, 1.0 - p)


def check(
    stable: int, canary: int, weights: tuple[float, float], tolerance: float
) -> SplitFinding | None:
    """The finding for one interval (``weights``: the canary share set at its start and end, as
    fractions), or None when the counts agree with the set split within tolerance and chance."""
    n = stable + canary
    if n <= 0:
        return None
    low, high = min(weights), max(weights)
    p_over = upper_tail(canary, n, min(1.0, high + tolerance))
    p_under = lower_tail(canary, n, max(0.0, low - tolerance))
    if p_over < LEVEL:
        return SplitFinding(stable, canary, low, high, Departure.OVER, p_over)
    if p_under < LEVEL:
        return SplitFinding(stable, canary, low, high, Departure.UNDER, p_under)
    return None


class SplitWatch:
    """Feeds :func:`check` from cumulative counters, one interval per measurement."""

    def __init__(self, tolerance: float) -> None:
        self.tolerance = tolerance
        self._prev: tuple[Snapshot, Snapshot] | None = None

    def update(
        self, stable: Snapshot, canary: Snapshot, weights: tuple[float, float] | None
    ) -> SplitFinding | None:
        """``weights``: the lowest and highest canary share the router read back during the
        interval (fractions), or None when the expected share is unknown (a header segment,
        sticky users, a split that could not be read, an interval across a restart)."""
        prev = self._prev
        self._prev = (stable, canary)
        if prev is None or weights is None:
            return None
        ds, dc = delta(prev[0], stable), delta(prev[1], canary)
        return check(ds.requests, dc.requests, weights, self.tolerance)
