"""Who may do what to a rollout, pure: operator verbs by the plan's ``permissions``, people
compared as people (case and Unicode forms do not make a second person), and which steps a
``promote`` may never pass."""

from __future__ import annotations

import unicodedata
from typing import assert_never

from golive.core.state import RolloutState
from golive.plan.model import (
    ANYONE,
    STARTER,
    AnalyzeStep,
    ApproveStep,
    CheckStep,
    DeployStep,
    MigrateStep,
    PauseStep,
    Plan,
    PromoteStep,
    ShiftStep,
    Step,
    describe_step,
)


def person(name: str) -> str:
    """How names are compared: ``Alice``, ``alice`` and ``ａｌｉｃｅ`` are one person."""
    return unicodedata.normalize("NFKC", name).casefold().strip()


def same_person(a: str, b: str) -> bool:
    return bool(a) and bool(b) and person(a) == person(b)


def permitted(plan: Plan, verb: str, user: str, roles: tuple[str, ...], started_by: str) -> bool:
    allowed = plan.permissions.get(verb, ())
    if ANYONE in allowed:
        return True
    if STARTER in allowed and same_person(user, started_by):
        return True
    return any(r in allowed for r in roles if r not in (ANYONE, STARTER))  # never held


def describe_permission(plan: Plan, verb: str) -> str:
    names = [
        "the person who started the rollout" if w == STARTER else f"the {w} role"
        for w in plan.permissions.get(verb, ())
    ]
    return " or ".join(names) or "nobody"


def unfinished_gate(plan: Plan, state: RolloutState) -> str | None:
    """The first approve, check or deploy step still ahead of (or at) the rollout's step: a
    ``promote`` may never pass one. None when promotion skips only shifts, analyses, pauses."""
    for i in range(state.step, len(plan.steps)):
        step = plan.steps[i]
        if _gates(step):
            return f"step {i + 1} ({describe_step(step)}) is not finished"
    return None


def _gates(step: Step) -> bool:
    match step:
        case ApproveStep() | CheckStep() | DeployStep():
            return True
        case ShiftStep() | AnalyzeStep() | PauseStep() | PromoteStep():
            return False
        case MigrateStep(phase=phase):
            return phase == "expand"  # a contract migration runs after promotion
        case _:
            assert_never(step)
