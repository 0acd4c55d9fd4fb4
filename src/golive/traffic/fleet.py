"""A fleet: several proxy instances in front of the same service, driven as one router.

A split is applied to every instance; it is served (``observe``) only when every instance reads
it back the same way, and ``verify`` is ``verified`` only when every instance confirms. An
instance that cannot be read makes the whole fleet unreadable, so the engine holds the step and
records an alarm rather than moving on with part of the fleet behind. Metrics are summed over
the instances by :class:`golive.metrics.fleet.FleetStats`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from golive.errors import PermanentError, TransientError
from golive.plan.model import Split
from golive.traffic.base import Router, Verification


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


async def start_all(starts: Sequence[Callable[[Split], Awaitable[bool]]], split: Split) -> bool:
    """Start (or attach to) every proxy; True if any was started."""
    return any(await asyncio.gather(*(start(split) for start in starts)))
