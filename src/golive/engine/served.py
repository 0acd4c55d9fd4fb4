"""The splits the router read back between two measurements: what the split check expects.

The runner reads the split back on every pass and measures once per ``metrics.interval``; the
canary's share of an interval's requests is expected between the lowest and the highest share
read back during it (:mod:`golive.analysis.splitcheck`). An interval is not checked when that is
unknown: a header segment or sticky users (who is sent to the canary depends on who sends what),
a split that could not be read, or the first interval after a (re)start, which may span a
controller's absence.

Counters may lag the read-back: a request counted at its end, nginx's old workers finishing, a
Prometheus that scraped the proxy a while ago. So the shares read back during the ``carry``
intervals before are expected too (one for the router's own counters, a minute's worth for
Prometheus). Pure: the runner feeds it.
"""

from __future__ import annotations

from collections import deque

from golive.core.state import Event
from golive.plan.model import Split

Shares = tuple[float, float]


class ServedSplits:
    def __init__(self, sticky: bool, checked: bool, carry: int = 1) -> None:
        self._sticky, self._checked = sticky, checked
        self._before: deque[Shares | None] = deque(maxlen=carry)
        self._range: Shares | None = None
        self._known = False  # the first interval after a start may span a controller's absence
        self._said: set[str] = set()

    def see(self, split: Split | None) -> Event | None:
        """Widen the interval's range with a split read back; a note, once per cause, when
        it cannot be checked."""
        return None if self._widen(split) else self._unchecked(split)

    def _widen(self, split: Split | None) -> bool:
        if split is None or split.segment is not None or self._sticky:
            self._known = False
            return False
        w = split.canary_weight / 100.0
        low, high = self._range or (w, w)
        self._range = (min(low, w), max(high, w))
        return True

    def measured(self, split: Split | None) -> tuple[float, float] | None:
        """The range to check the interval that ends now against (None: not checked); the
        next interval starts at ``split``."""
        now = self._range if self._known else None
        window = [now, *self._before]
        self._before.appendleft(now)
        self._range, self._known = None, True
        self._widen(split)
        if any(r is None for r in window):
            return None
        return min(r[0] for r in window if r), max(r[1] for r in window if r)

    def _unchecked(self, split: Split | None) -> Event | None:
        if (
            split is None
            or not self._checked
            or (split.segment is None and not split.canary_weight)
        ):
            return None
        why = (
            f"a header segment is set ({split.segment.describe()})"
            if split.segment is not None
            else "users are sticky"
        )
        if why in self._said:
            return None
        self._said.add(why)
        return Event(
            "split_unchecked",
            f"split check: not done while {why}: who is sent to the canary depends on who "
            "sends what, so the share to expect is unknown",
        )
