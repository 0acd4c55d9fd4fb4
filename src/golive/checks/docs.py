"""Docs checks: the documents a release needs are there and not empty."""

from __future__ import annotations

from pathlib import Path

from golive.checks.base import Probe
from golive.plan.checks import Docs


async def probe(o: Docs) -> Probe:
    root = Path(o.path)
    missing = [f for f in o.files if not (root / f).is_file() or (root / f).stat().st_size == 0]
    present = len(o.files) - len(missing)
    value = f"{present}/{len(o.files)}"
    if missing:
        return Probe.failed(value, f"missing or empty: {', '.join(missing)}")
    return Probe.passed(value, f"all {len(o.files)} documents present")
