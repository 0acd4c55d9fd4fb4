"""The metric source seam: cumulative counters for a revision, and its requests in flight."""

from __future__ import annotations

from typing import Protocol

from golive.analysis.snapshot import Snapshot
from golive.plan.model import Revision


class MetricSource(Protocol):
    async def sample(self, revision: Revision) -> Snapshot:
        """Cumulative counters now; raises NoData when the source has nothing yet."""
        ...

    async def in_flight(self, revision: Revision) -> int:
        """Requests inside the revision right now (to drain it before it is stopped)."""
        ...
