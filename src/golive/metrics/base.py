"""The metric source seam: one async method returning cumulative counters for a revision."""

from __future__ import annotations

from typing import Protocol

from golive.analysis.snapshot import Snapshot
from golive.plan.model import Revision


class MetricSource(Protocol):
    async def sample(self, revision: Revision) -> Snapshot:
        """Cumulative counters now; raises NoData when the source has nothing yet."""
        ...
