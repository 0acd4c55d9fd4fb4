"""Fail safe when the record cannot be written.

A controller that can no longer record what it does (disk full, database gone, lease lost)
must not keep a canary exposed with nobody watching: it puts 100% of traffic on stable,
verified by read-back, before it exits, and leaves a marker file beside the database (an empty
file: it needs no free blocks) so that the next controller resumes the rollout *paused*,
waiting for a person, instead of re-exposing the canary on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import time
from pathlib import Path

from golive.core.state import PauseKind, Phase, RolloutState
from golive.plan.model import Split
from golive.traffic.base import Router, Verification

VERIFY_WITHIN = 5.0


INTENTS = ("pause", "rollback", "abort")  # what the next controller records, by file name


def marker(state_dir: Path, rollout_id: str, intent: str = "pause") -> Path:
    return state_dir / "failsafe" / f"{rollout_id}.{intent}"


def mark(state_dir: Path, rollout_id: str, intent: str = "pause") -> bool:
    """Leave the marker (empty: its name says it all); False when even that failed."""
    path = marker(state_dir, rollout_id, intent)
    try:
        path.parent.mkdir(mode=0o700, exist_ok=True)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o600))
    except OSError:
        return False
    return True


def intent(state_dir: Path, rollout_id: str) -> str | None:
    """The strongest intent left for this rollout (abort > rollback > pause), if any."""
    for name in reversed(INTENTS):
        if marker(state_dir, rollout_id, name).exists():
            return name
    return None


def clear(state_dir: Path, rollout_id: str) -> None:
    for name in INTENTS:
        with contextlib.suppress(OSError):
            marker(state_dir, rollout_id, name).unlink()


async def all_to_stable(router: Router) -> Verification:
    """Write 100% stable and poll the read-back; never raises (the caller is failing already)."""
    target = Split.all_stable()
    try:
        async with asyncio.timeout(VERIFY_WITHIN + 5.0):
            await router.apply(target)
            deadline = time.monotonic() + VERIFY_WITHIN
            verdict = Verification.PENDING
            while time.monotonic() < deadline:
                verdict = await router.verify(target)
                if verdict is not Verification.PENDING:
                    return verdict
                await asyncio.sleep(0.01)
            return verdict
    except Exception:  # a failing router: the caller says traffic is NOT known to be safe
        return Verification.PENDING


def interrupted(state: RolloutState, now: float, why: str) -> RolloutState:
    """The state a rollout resumes in after a fail-safe: paused, 100% stable, the split it had
    kept for a person's ``golive resume``."""
    if state.phase not in (Phase.PROGRESSING, Phase.PAUSED):
        return state  # rolling back (or ended): that continues as it was
    held = state.held if state.pause_kind is PauseKind.FAILSAFE else state.desired
    return dataclasses.replace(
        state, phase=Phase.PAUSED, pause_kind=PauseKind.FAILSAFE, paused_at=now, reason=why,
        waiting_for="golive resume (re-applies the split the rollout had), or abort",
        desired=Split.all_stable(), held=held,
    )  # fmt: skip
