"""The pure heart of the engine: ``decide(plan, state, observation) -> Decision``.

No I/O and no clock: ``observation.now`` is the time. Each phase and each step kind has one
small function. Safety rules live here, once:

* a rollback's first action is the router write that sends 100% to stable (``urgent``), and the
  canary is retired only after a later observation reads that split back;
* triggers are armed from the first shift until the rollout ends, in every non-terminal phase;
* terminal phases absorb: nothing changes once promoted, rolled back, aborted or failed.
"""

from __future__ import annotations

import dataclasses

from golive.analysis import triggers as trig
from golive.analysis.judge import Decision as Call
from golive.analysis.judge import Status
from golive.engine.gates import describe_approvers, gate_status
from golive.engine.state import (
    Action,
    ApplySplit,
    CheckStatus,
    Command,
    CommandVerb,
    Decision,
    EnsureRevision,
    Event,
    Health,
    Observation,
    Phase,
    RetireRevision,
    RolloutState,
)
from golive.plan.model import (
    AnalyzeStep,
    ApproveStep,
    CheckStep,
    DeployStep,
    PauseStep,
    Plan,
    PromoteStep,
    Revision,
    ShiftStep,
    Split,
    Step,
)

SHIFT_TIMEOUT = 30.0


def decide(plan: Plan, state: RolloutState, obs: Observation) -> Decision:
    if state.phase.terminal:
        return Decision(state, consumed=tuple(c.id for c in obs.commands))
    after_commands = _commands(plan, state, obs)
    if after_commands is not None:
        return after_commands
    fired = _triggers(plan, state, obs)
    if fired is not None:
        return fired
    state = dataclasses.replace(state, trigger_since=_next_since(plan, state, obs))
    state, notes = _notify(plan, state, obs)
    if state.phase is Phase.ROLLING_BACK:
        d = _rolling_back(state, obs)
    elif state.phase is Phase.PAUSED:
        d = Decision(state, _reconcile(state, obs))
    else:
        d = _progress(plan, state, obs)
    return dataclasses.replace(d, events=(*notes, *d.events)) if notes else d


def current_step(plan: Plan, state: RolloutState) -> Step:
    if state.force_promote or state.step >= len(plan.steps):
        return PromoteStep()
    return plan.steps[state.step]


# -- transitions shared by every phase -------------------------------------------------------


def start_rollback(
    state: RolloutState, now: float, reason: str, end: Phase, consumed: tuple[int, ...] = ()
) -> Decision:
    """Send 100% to stable first; the canary is retired once that is read back."""
    if not state.shifted:
        return _fail_before_traffic(state, now, reason, end, consumed)
    nxt = dataclasses.replace(
        state,
        phase=Phase.ROLLING_BACK,
        desired=Split.all_stable(),
        end_phase=end,
        reason=reason,
        rollback_at=now,
        waiting_for="100% stable to be read back",
    )
    event = Event("rollback_started", f"rolling back: {reason}", {"end": end.value})
    return Decision(nxt, (ApplySplit(Split.all_stable(), urgent=True),), (event,), consumed, True)


def _fail_before_traffic(
    state: RolloutState, now: float, reason: str, end: Phase, consumed: tuple[int, ...]
) -> Decision:
    final = Phase.FAILED if end is Phase.ROLLED_BACK else end
    nxt = dataclasses.replace(
        state, phase=final, reason=reason, waiting_for="", desired=Split.all_stable()
    )
    event = Event(final.value, f"{final.value} before any traffic reached the canary: {reason}")
    return Decision(nxt, (RetireRevision(Revision.CANARY),), (event,), consumed)


def _commands(plan: Plan, state: RolloutState, obs: Observation) -> Decision | None:
    if not obs.commands:
        return None
    consumed = tuple(c.id for c in obs.commands)
    events: list[Event] = []
    for cmd in obs.commands:
        events.append(
            Event(
                "command",
                f"{cmd.verb.value} requested by {cmd.by}",
                {"verb": cmd.verb.value, "by": cmd.by, "reason": cmd.reason},
            )
        )
        if (
            cmd.verb in (CommandVerb.ABORT, CommandVerb.ROLLBACK)
            and state.phase is not Phase.ROLLING_BACK
        ):
            end = Phase.ABORTED if cmd.verb is CommandVerb.ABORT else Phase.ROLLED_BACK
            why = cmd.reason or f"{cmd.verb.value} requested by {cmd.by}"
            d = start_rollback(state, obs.now, why, end, consumed)
            return dataclasses.replace(d, events=(*events, *d.events))
        state = _apply_command(state, cmd, obs.now)
    return Decision(state, _reconcile(state, obs), tuple(events), consumed, again=True)


def _apply_command(state: RolloutState, cmd: Command, now: float) -> RolloutState:
    if cmd.verb is CommandVerb.PAUSE and state.phase is Phase.PROGRESSING:
        return dataclasses.replace(
            state, phase=Phase.PAUSED, reason=f"paused by {cmd.by}", waiting_for="golive resume"
        )
    if cmd.verb is CommandVerb.RESUME and state.phase is Phase.PAUSED:
        return _resume(state, now)
    if cmd.verb is CommandVerb.PROMOTE and state.phase in (Phase.PROGRESSING, Phase.PAUSED):
        return dataclasses.replace(
            state,
            phase=Phase.PROGRESSING,
            force_promote=True,
            step_started=now,
            reason="",
            waiting_for="",
        )
    return state


def _resume(state: RolloutState, now: float) -> RolloutState:
    # resuming a plan's pause step (or an inconclusive analysis) completes that step
    return dataclasses.replace(
        state,
        phase=Phase.PROGRESSING,
        step=state.step + 1,
        step_started=now,
        reason="",
        waiting_for="",
    )


def _next_since(plan: Plan, state: RolloutState, obs: Observation) -> tuple[float | None, ...]:
    if not state.shifted or len(obs.trigger_values) != len(plan.triggers):
        return state.trigger_since or tuple(None for _ in plan.triggers)
    since = state.trigger_since or tuple(None for _ in plan.triggers)
    return tuple(
        trig.advance(t, s, v, obs.now)[0]
        for t, s, v in zip(plan.triggers, since, obs.trigger_values, strict=True)
    )


def _triggers(plan: Plan, state: RolloutState, obs: Observation) -> Decision | None:
    if (
        not state.shifted
        or state.phase is Phase.ROLLING_BACK
        or len(obs.trigger_values) != len(plan.triggers)
    ):
        return None
    since = state.trigger_since or tuple(None for _ in plan.triggers)
    for t, s, v in zip(plan.triggers, since, obs.trigger_values, strict=True):
        _, fired = trig.advance(t, s, v, obs.now)
        if not fired:
            continue
        why = trig.describe(t, v)
        if t.action is trig.TriggerAction.NOTIFY:
            continue  # recorded by _notify, the rollout goes on
        if t.action is trig.TriggerAction.ROLLBACK:
            d = start_rollback(state, obs.now, why, Phase.ROLLED_BACK)
            return dataclasses.replace(
                d, events=(Event("trigger_fired", why, {"trigger": t.label}), *d.events)
            )
        if state.phase is Phase.PROGRESSING:
            nxt = dataclasses.replace(
                state,
                phase=Phase.PAUSED,
                reason=why,
                waiting_for="golive resume",
                trigger_since=_next_since(plan, state, obs),
            )
            return Decision(nxt, (), (Event("trigger_fired", why, {"trigger": t.label}),))
    return None


def _notify(
    plan: Plan, state: RolloutState, obs: Observation
) -> tuple[RolloutState, tuple[Event, ...]]:
    """``then: notify`` triggers: one recorded notification per episode (until it clears)."""
    if not state.shifted or len(obs.trigger_values) != len(plan.triggers):
        return state, ()
    done = list(state.notified or (False,) * len(plan.triggers))
    events: list[Event] = []
    for i, (t, since, value) in enumerate(
        zip(plan.triggers, state.trigger_since, obs.trigger_values, strict=True)
    ):
        if t.action is not trig.TriggerAction.NOTIFY:
            continue
        if since is None:
            done[i] = False
        elif obs.now - since >= t.hold and not done[i]:
            done[i] = True
            why = trig.describe(t, value)
            events.append(Event("trigger_notified", f"{why}: watching", {"trigger": t.label}))
    return dataclasses.replace(state, notified=tuple(done)), tuple(events)


def _reconcile(state: RolloutState, obs: Observation) -> tuple[Action, ...]:
    """Re-apply the desired split whenever the router disagrees (or could not be read)."""
    return () if obs.split == state.desired else (ApplySplit(state.desired),)


def _rolling_back(state: RolloutState, obs: Observation) -> Decision:
    if obs.split != Split.all_stable():
        return Decision(state, (ApplySplit(Split.all_stable(), urgent=True),), again=False)
    end = state.end_phase or Phase.ROLLED_BACK
    nxt = dataclasses.replace(state, phase=end, safe_at=state.safe_at or obs.now, waiting_for="")
    event = Event(
        end.value, f"{end.value.replace('_', ' ')}: {state.reason}", {"reason": state.reason}
    )
    return Decision(nxt, (RetireRevision(Revision.CANARY),), (event,))


# -- progressing: one function per step kind -------------------------------------------------


def _progress(plan: Plan, state: RolloutState, obs: Observation) -> Decision:
    step = current_step(plan, state)
    elapsed = obs.now - state.step_started
    match step:
        case DeployStep():
            return _deploy(plan, state, obs, step, elapsed)
        case CheckStep():
            return _check(state, obs, step)
        case ApproveStep():
            return _approve(plan, state, obs, step, elapsed)
        case ShiftStep():
            return _shift(state, obs, Split(step.weight, step.segment), elapsed)
        case AnalyzeStep():
            return _analyze(state, obs, step, elapsed)
        case PauseStep():
            return _pause(state, obs, step, elapsed)
        case PromoteStep():
            return _promote(state, obs, step, elapsed)
    raise AssertionError(step)


def advance(state: RolloutState, obs: Observation, message: str) -> Decision:
    nxt = dataclasses.replace(state, step=state.step + 1, step_started=obs.now, waiting_for="")
    return Decision(nxt, (), (Event("step_completed", message, {"step": state.step}),), again=True)


def _wait(
    state: RolloutState, obs: Observation, why: str, actions: tuple[Action, ...] = ()
) -> Decision:
    nxt = dataclasses.replace(state, waiting_for=why)
    return Decision(nxt, (*_reconcile(state, obs), *actions))


def _deploy(
    plan: Plan, state: RolloutState, obs: Observation, step: DeployStep, elapsed: float
) -> Decision:
    spec = plan.revision(step.revision)
    health = obs.health.get(step.revision, Health.ABSENT)
    if health is Health.READY:
        return advance(state, obs, f"deploy {step.revision}: {spec.version} is ready")
    timeout = spec.process.timeout if spec.process else 30.0
    if health is Health.FAILED or elapsed > timeout:
        why = f"{step.revision} {spec.version} did not become ready within {timeout:g}s"
        if health is Health.FAILED:
            why = f"{step.revision} {spec.version} failed to start"
        return start_rollback(state, obs.now, why, Phase.FAILED)
    return _wait(state, obs, f"{step.revision} to become ready", (EnsureRevision(step.revision),))


def _check(state: RolloutState, obs: Observation, step: CheckStep) -> Decision:
    if obs.check is None:
        return _wait(state, obs, f"check {step.check}")
    if obs.check.status is CheckStatus.WAIT:
        return _wait(state, obs, f"check {step.check}: {obs.check.message}")
    if obs.check.status is CheckStatus.FAILED:
        return start_rollback(
            state, obs.now, f"check {step.check} failed: {obs.check.message}", Phase.FAILED
        )
    return advance(state, obs, f"check {step.check}: {obs.check.message}")


def _approve(
    plan: Plan, state: RolloutState, obs: Observation, step: ApproveStep, elapsed: float
) -> Decision:
    gate = plan.approvals[step.gate]
    status = gate_status(gate, state, obs.signoffs, plan.canary.version)
    if status.rejected is not None:
        r = status.rejected
        why = f"{step.gate} rejected by {r.by} as {r.role}" + (f": {r.note}" if r.note else "")
        return start_rollback(state, obs.now, why, Phase.ABORTED)
    if status.passed:
        who = describe_approvers(status.approvers)
        return advance(state, obs, f"approve {step.gate}: signed off by {who}")
    waiting = status.waiting_for(gate, state.started_by)
    if gate.timeout is not None and elapsed > gate.timeout:
        if gate.on_timeout == "abort":
            why = f"{waiting} not given within {gate.timeout:g}s"
            return start_rollback(state, obs.now, why, Phase.ABORTED)
        waiting += f" (overdue by {elapsed - gate.timeout:.0f}s)"
    return _wait(state, obs, waiting)


def _shift(state: RolloutState, obs: Observation, target: Split, elapsed: float) -> Decision:
    if state.desired != target:
        nxt = dataclasses.replace(
            state,
            desired=target,
            step_started=obs.now,
            waiting_for=f"router to serve {target.canary_weight:g}%",
        )
        return Decision(nxt, (ApplySplit(target),), again=True)
    if obs.split == target:
        nxt = dataclasses.replace(
            state, shifted=state.shifted or target.canary_weight > 0 or target.segment is not None
        )
        return advance(nxt, obs, f"shift: router serves {target.canary_weight:g}% to canary")
    if elapsed > SHIFT_TIMEOUT:
        return start_rollback(
            state,
            obs.now,
            f"the router did not apply {target.canary_weight:g}% within {SHIFT_TIMEOUT:g}s",
            Phase.FAILED,
        )
    return _wait(state, obs, f"router to serve {target.canary_weight:g}%")


def _analyze(state: RolloutState, obs: Observation, step: AnalyzeStep, elapsed: float) -> Decision:
    verdict = obs.verdict
    if verdict is not None and verdict.decision is Call.ROLLBACK:
        return start_rollback(state, obs.now, f"judge: {verdict.reason}", Phase.ROLLED_BACK)
    if verdict is not None and verdict.decision is Call.PROMOTE:
        return advance(state, obs, f"analyze: canary is not worse ({verdict.reason})")
    known = (
        verdict is not None
        and verdict.known
        and all(m.status is Status.OK for m in verdict.metrics)
    )
    if elapsed >= step.duration and known:
        assert verdict is not None
        return advance(state, obs, f"analyze: passed: {verdict.reason}")
    if elapsed >= step.timeout:
        why = "analysis inconclusive: " + (verdict.reason if verdict else "no measurements")
        nxt = dataclasses.replace(
            state, phase=Phase.PAUSED, reason=why, waiting_for="golive resume (or abort)"
        )
        return Decision(nxt, (), (Event("paused", why),))
    left = max(0.0, step.duration - elapsed)
    why = f"analysis ({left:.0f}s left)" if left else "enough data to judge the canary"
    return _wait(state, obs, why)


def _pause(state: RolloutState, obs: Observation, step: PauseStep, elapsed: float) -> Decision:
    if step.duration is not None:
        if elapsed >= step.duration:
            return advance(state, obs, "pause: elapsed")
        return _wait(state, obs, f"pause ({step.duration - elapsed:.0f}s left)")
    why = step.reason or "the plan pauses here"
    nxt = dataclasses.replace(state, phase=Phase.PAUSED, reason=why, waiting_for="golive resume")
    return Decision(nxt, _reconcile(state, obs), (Event("paused", why),))


def _promote(state: RolloutState, obs: Observation, step: PromoteStep, elapsed: float) -> Decision:
    full = Split(100.0)
    if state.desired != full:
        nxt = dataclasses.replace(
            state,
            desired=full,
            step_started=obs.now,
            shifted=True,
            waiting_for="router to serve 100% canary",
        )
        return Decision(nxt, (ApplySplit(full),), again=True)
    if obs.split != full:
        if elapsed > SHIFT_TIMEOUT:
            return start_rollback(
                state,
                obs.now,
                f"the router did not apply 100% within {SHIFT_TIMEOUT:g}s",
                Phase.FAILED,
            )
        return _wait(state, obs, "router to serve 100% canary")
    nxt = dataclasses.replace(state, phase=Phase.PROMOTED, waiting_for="", reason="")
    actions: tuple[Action, ...] = (RetireRevision(Revision.STABLE),) if step.retire_stable else ()
    return Decision(nxt, actions, (Event("promoted", "canary promoted: 100% of traffic"),))
