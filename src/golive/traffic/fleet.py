"""A fleet: several proxy instances in front of the same service, driven as one router.

A split is applied to every instance; it is served (``observe``) only when every instance reads
it back the same way, and ``verify`` is ``verified`` only when every instance confirms. An
instance that cannot be read makes the whole fleet unreadable, so the engine holds the step and
records an alarm rather than moving on with part of the fleet behind. Metrics are summed over
the instances (each proxy counts only the requests it carried).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from golive.analysis.snapshot import Snapshot, add, delta
from golive.errors import PermanentError, TransientError
from golive.metrics.base import MetricSource
from golive.plan.model import Revision, Split
from golive.traffic.base import Router, Verification


def instance_dir(service: str, index: int) -> str:
    """The state directory name of a fleet's ``index``-th proxy (the first keeps the plain name)."""
    return service if index == 0 else f"{service}.{index + 1}"


class FleetRouter:
    def __init__(self, routers: Sequence[Router], names: Sequence[str]) -> None:
        self.routers = list(routers)
        self.names = list(names)

    async def observe(self) -> Split:
        results = await asyncio.gather(*(r.observe() for r in self.routers), return_exceptions=True)
        for name, result in zip(self.names, results, strict=True):
            if isinstance(result, BaseException):
                raise TransientError(f"proxy {name} of the fleet: {result}")
        splits = [r for r in results if isinstance(r, Split)]
        if any(s != splits[0] for s in splits):
            served = ", ".join(
                f"{n}: {s.canary_weight:g}%" for n, s in zip(self.names, splits, strict=True)
            )
            raise TransientError(f"the fleet's proxies disagree ({served})")
        return splits[0]

    async def apply(self, split: Split) -> None:
        results = await asyncio.gather(
            *(r.apply(split) for r in self.routers), return_exceptions=True
        )
        failed = [
            f"{name}: {result}"
            for name, result in zip(self.names, results, strict=True)
            if isinstance(result, BaseException)
        ]
        if failed:
            # a proxy that refused the split will refuse it again: retrying the fleet won't help
            refused = any(isinstance(r, PermanentError) for r in results)
            kind = PermanentError if refused else TransientError
            raise kind("not applied on every proxy: " + "; ".join(failed))

    async def verify(self, split: Split) -> Verification:
        results = await asyncio.gather(*(r.verify(split) for r in self.routers))
        if all(v is Verification.VERIFIED for v in results):
            return Verification.VERIFIED
        return Verification.PENDING

    async def reset(self) -> None:
        await self.apply(Split.all_stable())


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


async def start_all(starts: Sequence[Callable[[Split], Awaitable[bool]]], split: Split) -> bool:
    """Start (or attach to) every proxy; True if any was started."""
    return any(await asyncio.gather(*(start(split) for start in starts)))
