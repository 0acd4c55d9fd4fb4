"""The pure core imports no I/O library: plan, analysis and decide() are tested on plain values."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

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


PROVIDERS = ("traffic", "metrics", "checks", "deploy", "store")
ABOVE_PROVIDERS = ("engine", "cli", "demo", "operations")


def _imports(package: str) -> set[tuple[str, str]]:
    """(module, imported golive package) for every import in ``package``, even in functions."""
    root = Path(__file__).resolve().parents[2] / "src" / "golive" / package
    found: set[tuple[str, str]] = set()
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            for name in names:
                parts = name.split(".")
                if parts[0] == "golive" and len(parts) > 1:
                    found.add((path.name, parts[1]))
    return found


def test_providers_are_independent_and_below_the_engine() -> None:
    """traffic, metrics, checks, deploy and store import none of each other (what a product's
    router and metric source share is in proxy/), and no provider imports the engine, the CLI,
    the demo or operations; the demo imports no CLI."""
    for package in (*PROVIDERS, "proxy"):
        wrong = {
            (module, other)
            for module, other in _imports(package)
            if other != package and other in (*PROVIDERS, *ABOVE_PROVIDERS)
        }
        assert not wrong, f"{package} imports {sorted(wrong)}"
    assert not {other for _, other in _imports("demo")} & {"cli", "engine"}
