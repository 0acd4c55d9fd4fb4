"""Drain-verified retirement: a revision is stopped only when nothing can still reach it.

The main cause of outages in today's tools is stopping a revision that still gets requests.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from golive.engine.clock import Clock
from golive.plan.model import Drain, Revision, Split

Look = Callable[[Revision], Awaitable[tuple[Split | None, int | None, int | None]]]


def _still_serving(
    revision: Revision, split: Split | None, active: int | None, last: int | None, count: int | None
) -> str:
    """Why ``revision`` is not drained yet, or "" when this look found it quiet."""
    if split is None:
        return "the router could not be read"
    share = split.canary_weight if revision is Revision.CANARY else 100 - split.canary_weight
    if share > 0 or (revision is Revision.CANARY and split.segment is not None):
        return f"the router still sends it {share:g}%"
    if active is None or count is None:
        return "its metrics could not be read"
    if active:
        return f"{active} requests still in flight"
    if last is not None and count != last:
        return f"it still received {count - last} requests"
    return ""


async def drain(revision: Revision, plan: Drain, look: Look, clock: Clock) -> str:
    """Wait until ``revision`` may be stopped; the reason it may not, if it never may.

    It may once the router reads it back at 0%, nothing is in flight inside it, and its
    request counter has not moved for the plan's drain ``grace`` (the main cause of outages
    in today's tools is stopping a revision that still gets requests). After the drain
    ``timeout`` it is left running, and the record says why.
    """
    grace, timeout = plan.grace, plan.timeout
    start = quiet_since = clock.now()
    last: int | None = None
    why = "not read back yet"
    while True:
        split, active, count = await look(revision)
        now = clock.now()
        why = _still_serving(revision, split, active, last, count)
        if why:
            quiet_since = now
        last = count
        if now - quiet_since >= grace:
            return ""
        if now - start >= timeout:
            return f"{revision} not stopped: {why} after {timeout:g}s; golive down stops it"
        await clock.sleep(min(1.0, max(0.05, grace / 10)))
