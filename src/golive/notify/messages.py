"""The messages, in the runbook's shape: what each says, made from the plan, the state and the
journal events of one commit. Pure: no I/O, no clock.

* started: service, versions, the plan's steps, the expected duration;
* status: phase, weights, stable against canary, the judge's verdict (every ``notify.every``);
* incident: severity, the symptom, the action taken, the trigger's or the verdict's sentence;
* waiting: which gate waits for whose sign-off;
* succeeded: the summary of a promotion;
* rolled_back: the reason, and how fast traffic was safe.

Every text taken from a plan or an event is cut to a bound and stripped of control
characters: a 1 MB string in a plan makes a message of a few kilobytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from golive.core.state import Event, Phase, RolloutState
from golive.notify.notice import Figures
from golive.plan.model import AnalyzeStep, ApproveStep, PauseStep, Plan, Step, describe_step

FIELD = 300  # characters of one field taken from a plan or an event
TEXT = 4000  # characters of a message's text
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@dataclass(frozen=True, slots=True)
class Message:
    kind: str
    severity: str
    title: str
    text: str
    data: dict[str, object] = field(default_factory=dict)


def clip(text: str, limit: int = FIELD) -> str:
    text = _CONTROL.sub("", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _step(step: Step) -> str:
    if isinstance(step, PauseStep) and step.reason:
        return f"{describe_step(step)} ({clip(step.reason, 120)})"
    return describe_step(step)


def expected(plan: Plan) -> float:
    """Seconds the timed steps take: analyses and timed pauses (sign-offs come on top)."""
    total = 0.0
    for step in plan.steps:
        if isinstance(step, AnalyzeStep | PauseStep) and step.duration is not None:
            total += step.duration
    return total


def _head(plan: Plan) -> str:
    return f"{plan.service} {clip(plan.stable.version)} -> {clip(plan.canary.version)}"


def started(plan: Plan, state: RolloutState) -> Message:
    steps = [_step(s) for s in plan.steps]
    gates = any(isinstance(s, ApproveStep) for s in plan.steps)
    minutes = expected(plan) / 60
    text = (
        f"Rollout {state.id} of {_head(plan)} started by {clip(state.started_by, 64)}.\n"
        f"Plan: {'; '.join(steps)}.\n"
        f"Expected duration: {minutes:.0f} min" + (" plus sign-offs" if gates else "") + "."
    )
    data: dict[str, object] = {"service": plan.service, "stable": plan.stable.version[:FIELD],
            "canary": plan.canary.version[:FIELD], "steps": steps[:100],
            "expected_seconds": expected(plan), "by": state.started_by}  # fmt: skip
    return Message("started", "info", f"Rollout started: {_head(plan)}", clip(text, TEXT), data)


def status(plan: Plan, state: RolloutState, f: Figures) -> Message:
    def side(name: str, v: tuple[int, float | None, float | None]) -> str:
        err = "n/a" if v[1] is None else f"{v[1] * 100:.2f}%"
        p95 = "n/a" if v[2] is None else f"{v[2]:.0f} ms"
        return f"{name}: {v[0]} requests, errors {err}, p95 {p95}"

    step = _step(plan.steps[min(state.step, len(plan.steps) - 1)])
    text = (
        f"{_head(plan)}: {state.phase.value.replace('_', ' ')} at step {state.step + 1} "
        f"({step}); canary {f.canary_weight:g}%, stable {100 - f.canary_weight:g}%.\n"
        f"{side('stable', f.stable)}\n{side('canary', f.canary)}\nJudge: {clip(f.verdict, 600)}"
    )
    data: dict[str, object] = {
        "phase": state.phase.value, "step": state.step, "canary_weight": f.canary_weight,
        "stable": list(f.stable), "canary": list(f.canary), "verdict": clip(f.verdict, 600),
    }  # fmt: skip
    return Message("status", "info", f"Status: {_head(plan)}", clip(text, TEXT), data)


def waiting(plan: Plan, state: RolloutState) -> Message | None:
    step = plan.steps[state.step] if state.step < len(plan.steps) else None
    if not isinstance(step, ApproveStep) or state.phase not in (Phase.PROGRESSING, Phase.PAUSED):
        return None
    gate = plan.approvals.get(step.gate)
    roles = ", ".join(gate.roles) if gate else "?"
    text = (
        f"Rollout {state.id} of {_head(plan)} waits for sign-off at gate {step.gate}: "
        f"{roles} (golive approve {state.id} --role ROLE)."
    )
    data: dict[str, object] = {"gate": step.gate, "roles": list(gate.roles) if gate else []}
    return Message("waiting", "info", f"Sign-off needed: {step.gate} for {_head(plan)}",
                   clip(text, TEXT), data)  # fmt: skip


INCIDENTS = ("trigger_fired", "trigger_notified", "split_alarm", "failsafe")
ENDINGS = ("rolled_back", "aborted", "failed")


def from_event(
    plan: Plan, state: RolloutState, e: Event, now: float, safe_ms: float | None = None
) -> Message | None:
    """The message a journal event makes, if any."""
    if e.kind in INCIDENTS:
        return _incident(plan, state, e)
    if e.kind == "rollback_started":
        text = f"{_head(plan)}: {clip(e.message, 1000)}.\nSeverity: critical. Action taken: "
        data: dict[str, object] = {"symptom": clip(state.reason, 1000), "action": "rollback",
                                   "event": e.kind}  # fmt: skip
        return Message("incident", "critical", f"Rolling back: {_head(plan)}",
                       clip(text + "traffic back to stable.", TEXT), data)  # fmt: skip
    if e.kind == "promoted":
        took = max(0.0, now - state.started)
        text = (
            f"{_head(plan)}: promoted, 100% of traffic on {clip(plan.canary.version)} "
            f"after {took / 60:.1f} min."
        )
        return Message("succeeded", "info", f"Released: {_head(plan)}", clip(text, TEXT),
                       {"phase": "promoted", "seconds": took})  # fmt: skip
    if e.kind in ENDINGS:
        return _ended(plan, state, e, safe_ms)
    return None


def _incident(plan: Plan, state: RolloutState, e: Event) -> Message:
    why = clip(e.message, 1000)
    critical = e.kind == "failsafe" or state.phase is Phase.ROLLING_BACK
    doing = {Phase.ROLLING_BACK: "rolling back", Phase.PAUSED: "paused"}.get(
        state.phase, "watching, the rollout goes on"
    )
    sev = "critical" if critical else "warning"
    text = f"{_head(plan)}: {why}.\nSeverity: {sev}. Action taken: {doing}."
    data: dict[str, object] = {"symptom": why, "action": doing, "event": e.kind}
    return Message("incident", sev, f"Incident ({sev}): {_head(plan)}", clip(text, TEXT), data)


def _ended(plan: Plan, state: RolloutState, e: Event, safe_ms: float | None) -> Message:
    safe = (
        safe_ms / 1000.0
        if safe_ms is not None
        else None
        if state.safe_at is None or state.rollback_at is None
        else max(0.0, state.safe_at - state.rollback_at)
    )
    fast = (
        ""
        if safe is None
        else f" Traffic was safe {safe * 1000:.0f} ms after the rollback decision."
    )
    reason = clip(state.reason or str(e.data.get("reason", "")), 1000)
    text = f"{_head(plan)}: {e.kind.replace('_', ' ')}. Reason: {reason}.{fast}"
    data: dict[str, object] = {"phase": e.kind, "reason": reason, "safe_seconds": safe}
    return Message("rolled_back", "warning", f"Rolled back: {_head(plan)}", clip(text, TEXT), data)
