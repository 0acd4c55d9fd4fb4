"""Pure analysis: the judge contract, judges, window statistics, triggers. No I/O, no clock."""

from golive.analysis.judge import (
    Call,
    Judge,
    JudgeConfig,
    MetricVerdict,
    Status,
    Verdict,
)
from golive.analysis.snapshot import Snapshot

__all__ = [
    "Call",
    "Judge",
    "JudgeConfig",
    "MetricVerdict",
    "Snapshot",
    "Status",
    "Verdict",
]
