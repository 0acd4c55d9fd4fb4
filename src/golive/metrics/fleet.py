"""A fleet's metrics: every proxy's own counters summed (each proxy counts only the requests it
carried). The fleet's router is :class:`golive.traffic.fleet.FleetRouter`."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from golive.analysis.snapshot import Snapshot, add, delta
from golive.metrics.base import MetricSource
from golive.plan.model import Revision


class FleetStats:
    """The sum of every proxy's own counters, each kept monotonic on its own.

    One proxy restarting resets only its counters; summing raw values would make the whole
    fleet look restarted, so each proxy's counters are accumulated across its resets first.
    """

    def __init__(self, sources: Sequence[MetricSource]) -> None:
        self.sources = list(sources)
        self._last: dict[tuple[int, Revision], Snapshot] = {}
        self._total: dict[tuple[int, Revision], Snapshot] = {}

    async def sample(self, revision: Revision) -> Snapshot:
        snaps = await asyncio.gather(*(s.sample(revision) for s in self.sources))
        total = Snapshot.empty()
        for i, raw in enumerate(snaps):
            key = (i, revision)
            last = self._last.get(key)
            mine = raw if last is None else add(self._total[key], delta(last, raw))
            self._last[key], self._total[key] = raw, mine
            total = add(total, mine)
        return total

    async def in_flight(self, revision: Revision) -> int:
        return sum(await asyncio.gather(*(s.in_flight(revision) for s in self.sources)))
