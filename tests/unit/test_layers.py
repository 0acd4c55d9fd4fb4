"""The pure core imports no I/O library: plan, analysis and decide() are tested on plain values."""

from __future__ import annotations

import subprocess
import sys

PURE = [
    "golive.plan.loader",
    "golive.plan.model",
    "golive.analysis.judge",
    "golive.analysis.threshold",
    "golive.analysis.triggers",
    "golive.engine.decide",
    "golive.engine.steps",
    "golive.engine.gates",
    "golive.engine.served",
    "golive.analysis.splitcheck",
    "golive.analysis.scorecard",
    "golive.checks.base",
]
FORBIDDEN = [
    "httpx",
    "sqlite3",
    "subprocess",
    "asyncio",
    "golive.traffic.envoy",
    "golive.store.sqlite",
    "golive.deploy.process",
    "golive.metrics.envoy",
]


def test_pure_core_imports_no_io() -> None:
    code = (
        f"import sys\nfor m in {PURE!r}: __import__(m)\n"
        f"print([m for m in {FORBIDDEN!r} if m in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-X", "frozen_modules=off", "-c", code],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert out == "[]"
