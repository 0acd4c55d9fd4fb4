"""Step kinds, phases and actions are exact sum types: a match over one ends in
``assert_never``, so adding a kind makes mypy name every place that has to handle it."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import golive

SRC = Path(golive.__file__).parent

MISSING_ONE_CASE = """\
from typing import assert_never

from golive.core.actions import Action, ApplySplit, EnsureRevision
from golive.core.state import Phase
from golive.plan.model import (
    AnalyzeStep, ApproveStep, CheckStep, DeployStep, PauseStep, ShiftStep, Step,
)


def step(s: Step) -> None:
    match s:
        case DeployStep() | CheckStep() | ApproveStep() | ShiftStep() | AnalyzeStep() | PauseStep():
            pass
        case _:
            assert_never(s)


def phase(p: Phase) -> None:
    match p:
        case Phase.PROGRESSING | Phase.PAUSED | Phase.ROLLING_BACK | Phase.PROMOTED:
            pass
        case Phase.ROLLED_BACK | Phase.ABORTED:
            pass
        case _:
            assert_never(p)


def action(a: Action) -> None:
    match a:
        case ApplySplit() | EnsureRevision():
            pass
        case _:
            assert_never(a)
"""


def test_mypy_names_the_case_a_match_forgot(tmp_path: Path) -> None:
    snippet = tmp_path / "snippet.py"
    snippet.write_text(MISSING_ONE_CASE)
    mypy = [
        sys.executable,
        "-m",
        "mypy",
        "--strict",
        "--no-incremental",
        "--cache-dir",
        "/dev/null",
    ]
    out = subprocess.run(
        [*mypy, "--follow-imports=silent", str(snippet)],
        capture_output=True,
        text=True,
    ).stdout
    errors = [line for line in out.splitlines() if ": error:" in line]
    assert len(errors) == 3, out
    assert '"PromoteStep | MigrateStep"; expected "Never"' in errors[0]
    assert 'type "Literal[Phase.FAILED]"; expected "Never"' in errors[1]
    assert '"RetireRevision"; expected "Never"' in errors[2]


def test_every_match_in_golive_ends_in_assert_never() -> None:
    open_ended = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Match):
                continue
            last = node.cases[-1]
            call = last.body[0] if len(last.body) == 1 else None
            if not (
                isinstance(last.pattern, ast.MatchAs)
                and last.pattern.pattern is None
                and isinstance(call, ast.Expr)
                and isinstance(call.value, ast.Call)
                and isinstance(call.value.func, ast.Name)
                and call.value.func.id == "assert_never"
            ):
                open_ended.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert open_ended == []
