"""Approval gates, pure: whether an ``approve`` step may pass, from the sign-offs recorded.

A sign-off counts only for the step and the canary revision it was given for (a stale one,
from another step or for another revision, counts for nothing). Every role of the gate must
approve; any rejection aborts. Separation of duties: unless the plan allows it, the person who
started the rollout cannot be its only approver.
"""

from __future__ import annotations

from dataclasses import dataclass

from golive.core.state import RolloutState, Signoff
from golive.engine.permissions import person
from golive.plan.model import ApprovalGate


@dataclass(frozen=True, slots=True)
class GateStatus:
    passed: bool
    rejected: Signoff | None
    missing: tuple[str, ...]  # roles still to sign
    approvers: tuple[Signoff, ...]

    def waiting_for(self, gate: ApprovalGate, started_by: str) -> str:
        if self.missing:
            return f"approval {gate.name}: {', '.join(self.missing)}"
        return (
            f"approval {gate.name}: someone other than {started_by} (who started this rollout "
            "cannot be its only approver)"
        )


def bound(signoffs: tuple[Signoff, ...], step: int, revision: str) -> list[Signoff]:
    return [s for s in signoffs if s.step == step and s.revision == revision]


def self_only(approvers: list[Signoff], started_by: str, gate: ApprovalGate) -> bool:
    """True when the starter would be the only person approving (and the plan forbids it)."""
    if gate.allow_self_approval or not started_by:
        return False
    return bool(approvers) and {person(s.by) for s in approvers} == {person(started_by)}


def gate_status(
    gate: ApprovalGate, state: RolloutState, signoffs: tuple[Signoff, ...], revision: str
) -> GateStatus:
    mine = bound(signoffs, state.step, revision)
    rejected = next((s for s in mine if not s.approve), None)
    approvers = [s for s in mine if s.approve and s.role in gate.roles]
    signed = {s.role for s in approvers}
    missing = tuple(r for r in gate.roles if r not in signed)
    alone = not missing and self_only(approvers, state.started_by, gate)
    passed = rejected is None and not missing and not alone
    return GateStatus(passed, rejected, missing, tuple(approvers))


def describe_approvers(approvers: tuple[Signoff, ...]) -> str:
    return ", ".join(f"{s.by} ({s.role})" for s in approvers)
