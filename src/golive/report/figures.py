"""How every format writes a time, a duration, a figure, and a string it did not write itself.

Strings in a report come from people and programs (service names, notes, check output, a
rollback reason): ``clip`` bounds them, and each renderer escapes what it shows.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from golive.report.stages import MetricRow

LIMIT = 2000  # characters of one string shown in a table; the JSON report keeps them whole
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # tab, CR and LF are text


def clip(text: str, limit: int = LIMIT) -> str:
    text = _CONTROL.sub("\N{REPLACEMENT CHARACTER}", text)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit} more characters)"


def when(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def clock(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%H:%M:%S")


def duration(seconds: float) -> str:
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def value(v: float | None, unit: str) -> str:
    if v is None:
        return "–"
    if unit == "%":
        return f"{v:.2f}%"
    if unit == "ms":
        return f"{v:.1f} ms"
    return f"{v:.0f}"


def weight(w: float) -> str:
    return f"{w:g}%"


def stage_title(w: float) -> str:
    return f"Canary at {w:g}%" if w > 0 else "Canary at 0% (its segment only)"


OUTCOME = {
    "promoted": "promoted",
    "rolled_back": "rolled back",
    "aborted": "aborted",
    "failed": "failed",
    "progressing": "in progress",
    "paused": "paused",
    "rolling_back": "rolling back",
}


def outcome(phase: str) -> str:
    return OUTCOME.get(phase, phase)


def cells(row: MetricRow) -> tuple[str, str, str, str, str]:
    """A diff table row as text: Metric | Baseline | Current | Change | Status."""
    return (row.metric, value(row.baseline, row.unit), value(row.current, row.unit),
            row.change or "–", row.status or "–")  # fmt: skip


def signoff_decision(approve: bool) -> str:
    return "approved" if approve else "rejected"
