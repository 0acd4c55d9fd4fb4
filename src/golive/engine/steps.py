"""The steps of a plan, one small pure function per kind, and the transitions they share
(advance, wait, roll back). ``decide`` calls :func:`progress` while a rollout progresses."""

from __future__ import annotations

import dataclasses
import time
from typing import assert_never

from golive.analysis.judge import Call, Status
from golive.core.actions import (
    Action,
    ApplySplit,
    Decision,
    EnsureRevision,
    Observation,
    RetireRevision,
)
from golive.core.results import CheckStatus, Health, MigrationStatus
from golive.core.state import Event, PauseKind, Phase, RolloutState
from golive.engine.gates import describe_approvers, gate_status
from golive.plan.model import (
    PREFLIGHT,
    AnalyzeStep,
    ApproveStep,
    CheckStep,
    DeployStep,
    MigrateStep,
    PauseStep,
    Plan,
    PromoteStep,
    Revision,
    ShiftStep,
    Split,
    Step,
    Watch,
)
from golive.units import format_duration

SHIFT_TIMEOUT = 30.0
_OCCUPIED = (
    "its port already answers, and not from a process this rollout started; stop that "
    "server ('golive down SERVICE' if golive started it), or set 'process: {adopt: true}'"
)


def current_step(plan: Plan, state: RolloutState) -> Step:
    if state.force_promote or state.step >= len(plan.steps):
        return PromoteStep()
    return plan.steps[state.step]


def skippable(step: Step) -> bool:
    """Whether a person may complete ``step`` without its condition (``golive skip``): an
    analysis or a pause only; every other step does something the rollout needs done."""
    match step:
        case AnalyzeStep() | PauseStep():
            return True
        case DeployStep() | CheckStep() | ApproveStep() | ShiftStep() | PromoteStep():
            return False
        case MigrateStep():
            return False
        case _:
            assert_never(step)


# -- transitions shared by every phase -------------------------------------------------------


def start_rollback(
    state: RolloutState, now: float, reason: str, end: Phase, consumed: tuple[int, ...] = ()
) -> Decision:
    """Send 100% to stable first; the canary is retired once that is read back. In the watch
    window the previous revision (stable) is health-checked first: traffic stays where it is
    until the next pass sees it ready (:func:`golive.engine.watch.back_to_previous`)."""
    if not state.shifted and not state.migrated:  # a migration is rolled back after traffic
        return _fail_before_traffic(state, now, reason, end, consumed)
    if state.watching:
        nxt = dataclasses.replace(
            state,
            phase=Phase.ROLLING_BACK,
            end_phase=end,
            reason=reason,
            rollback_at=now,
            pause_kind=None,
            paused_at=None,
            waiting_for="the previous revision (stable) to be health-checked",
        )
        event = Event(
            "rollback_started",
            f"rolling back to the previous revision (watch window): {reason}",
            {"end": end.value, "watch": True},
        )
        return Decision(nxt, (), (event,), consumed, True)
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
        state,
        phase=final,
        reason=reason,
        waiting_for="",
        desired=Split.all_stable(),
        retiring=retire_later(state, Revision.CANARY),
    )
    event = Event(final.value, f"{final.value} before any traffic reached the canary: {reason}")
    return Decision(nxt, (RetireRevision(Revision.CANARY),), (event,), consumed)


def retire_later(state: RolloutState, revision: Revision) -> tuple[Revision, ...]:
    """The pending retirements once ``revision`` is added: recorded with the decision that
    asks for it, so a crash before it is done leaves the record saying what is left."""
    return state.retiring if revision in state.retiring else (*state.retiring, revision)


def reconcile(state: RolloutState, obs: Observation) -> tuple[Action, ...]:
    """Re-apply the desired split whenever the router disagrees (or could not be read)."""
    return () if obs.split == state.desired else (ApplySplit(state.desired),)


# -- progressing: one function per step kind -------------------------------------------------


def progress(plan: Plan, state: RolloutState, obs: Observation) -> Decision:
    step = current_step(plan, state)
    elapsed = obs.now - state.step_started
    match step:
        case DeployStep():
            return _deploy(plan, state, obs, step, elapsed)
        case CheckStep():
            return _check(plan, state, obs, step, elapsed)
        case ApproveStep():
            return _approve(plan, state, obs, step, elapsed)
        case ShiftStep():
            return _shift(state, obs, Split(step.weight, step.segment), elapsed)
        case AnalyzeStep():
            return _analyze(state, obs, step, elapsed)
        case PauseStep():
            return _pause(state, obs, step, elapsed)
        case PromoteStep():
            return _promote(plan, state, obs, step, elapsed)
        case MigrateStep():
            return _migrate(state, obs, step)
        case _:
            assert_never(step)


def advance(state: RolloutState, obs: Observation, message: str) -> Decision:
    nxt = dataclasses.replace(state, step=state.step + 1, step_started=obs.now, waiting_for="")
    return Decision(nxt, (), (Event("step_completed", message, {"step": state.step}),), again=True)


def _wait(
    state: RolloutState, obs: Observation, why: str, actions: tuple[Action, ...] = ()
) -> Decision:
    nxt = dataclasses.replace(state, waiting_for=why)
    return Decision(nxt, (*reconcile(state, obs), *actions))


def _deploy(
    plan: Plan, state: RolloutState, obs: Observation, step: DeployStep, elapsed: float
) -> Decision:
    spec = plan.revision(step.revision)
    health = obs.health.get(step.revision, Health.ABSENT)
    if health is Health.READY:
        return advance(state, obs, f"deploy {step.revision}: {spec.version} is ready")
    timeout = spec.process.timeout if spec.process else 30.0
    if health in (Health.FAILED, Health.OCCUPIED) or elapsed > timeout:
        why = f"{step.revision} {spec.version} did not become ready within {timeout:g}s"
        if health is Health.FAILED:
            why = f"{step.revision} {spec.version} failed to start"
        if health is Health.OCCUPIED:
            why = f"{step.revision} {spec.version}: {_OCCUPIED}"
        return start_rollback(state, obs.now, why, Phase.FAILED)
    return _wait(state, obs, f"{step.revision} to become ready", (EnsureRevision(step.revision),))


def _check(
    plan: Plan, state: RolloutState, obs: Observation, step: CheckStep, elapsed: float
) -> Decision:
    if obs.check is None:
        return _wait(state, obs, f"check {step.check}")
    if obs.check.status is CheckStatus.WAIT:
        limit = plan.confirm_within if step.check == PREFLIGHT else None
        if limit is not None and elapsed > limit:
            why = f"pre-flight: {obs.check.message} not given within {limit:g}s"
            return start_rollback(state, obs.now, why, Phase.ABORTED)
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
        reached = target.canary_weight > 0 or target.segment is not None
        nxt = dataclasses.replace(
            state,
            shifted=state.shifted or reached,
            canary_wrote=state.canary_wrote or (reached and bool(state.migrated)),
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
        waiting = "golive resume (runs the analysis again), skip or abort"
        nxt = paused(state, obs.now, why, PauseKind.INCONCLUSIVE, waiting)
        return Decision(nxt, (), (Event("paused", why),))
    left = step.duration - elapsed
    why = f"analysis until {_until(state, step.duration)}" if left > 0 else "a verdict"
    return _wait(state, obs, why)


def _pause(state: RolloutState, obs: Observation, step: PauseStep, elapsed: float) -> Decision:
    if step.duration is not None:
        if elapsed >= step.duration:
            return advance(state, obs, "pause: elapsed")
        return _wait(state, obs, f"pause until {_until(state, step.duration)}")
    why = step.reason or "the plan pauses here"
    nxt = paused(state, obs.now, why, PauseKind.PLAN, "golive resume")
    return Decision(nxt, reconcile(state, obs), (Event("paused", why),))


def paused(
    state: RolloutState, now: float, why: str, kind: PauseKind, waiting: str
) -> RolloutState:
    return dataclasses.replace(
        state, phase=Phase.PAUSED, reason=why, waiting_for=waiting, pause_kind=kind, paused_at=now
    )


def _migrate(state: RolloutState, obs: Observation, step: MigrateStep) -> Decision:
    """The migration runs in a thread (the runner's); this reads what it reports. An expand
    migration that fails rolls the rollout back (traffic first, the database after); one that
    was interrupted, or a contract migration that fails, waits for a person."""
    report = obs.migration
    contract = step.phase == "contract"
    if report is None or report.status is MigrationStatus.RUNNING:
        said = report.message if report is not None and report.message else "running"
        if not contract and state.step not in state.migrated:
            # from now on it may change the database: a rollback meanwhile waits for the job
            # to stop, then rolls the database back too
            state = dataclasses.replace(state, migrated=(*state.migrated, state.step))
        return _wait(state, obs, f"migration {step.name}: {said}")
    others = tuple(i for i in state.migrated if i != state.step)
    mine = (*others, state.step) if report.changed and not contract else others
    live = state.desired.canary_weight > 0 or state.desired.segment is not None
    nxt = dataclasses.replace(state, migrated=mine, canary_wrote=state.canary_wrote or live)
    match report.status:
        case MigrationStatus.DONE:
            return advance(nxt, obs, f"migrate {step.name}: applied and verified")
        case MigrationStatus.FAILED if not contract:
            why = f"migration {step.name} failed: {report.message}"
            return start_rollback(nxt, obs.now, why, Phase.FAILED)
        case MigrationStatus.FAILED | MigrationStatus.HELD:
            why = f"migration {step.name}: {report.message}"
            run = (
                f"golive migrate rollback {state.id} --restore (traffic goes back to stable "
                "first), or golive resume once the database is fixed"
            )
            if contract:
                run = f"fix the database, then golive resume {state.id} (runs it again)"
            held = paused(nxt, obs.now, why, PauseKind.MIGRATION, run)
            return Decision(held, reconcile(state, obs), (Event("paused", f"{why}. Run: {run}"),))
        case _:
            assert_never(report.status)


def _promote(
    plan: Plan, state: RolloutState, obs: Observation, step: PromoteStep, elapsed: float
) -> Decision:
    full = Split(100.0)
    canary = obs.health.get(Revision.CANARY)
    if state.desired != full and canary is not None and canary is not Health.READY:
        # never send all traffic to a revision that does not answer its readiness check
        if elapsed > SHIFT_TIMEOUT:
            why = f"the canary is not ready for promotion ({canary.value} for {elapsed:.0f}s)"
            return start_rollback(state, obs.now, why, Phase.ROLLED_BACK)
        return _wait(state, obs, f"canary to be ready before promotion (it is {canary.value})")
    if state.desired != full:
        nxt = dataclasses.replace(
            state,
            desired=full,
            step_started=obs.now,
            shifted=True,
            canary_wrote=state.canary_wrote or bool(state.migrated),
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
    if plan.watch is not None and state.promoted_at is None:
        return _begin_watch(plan.watch, state, obs)  # contract migrations follow the window
    if not state.force_promote and state.step < len(plan.steps) - 1:
        # contract migrations follow: they run with 100% on the canary, then the promotion ends
        return advance(state, obs, "promote: 100% on canary; contract migrations next")
    # the old stable is retired when golive runs it (an earlier rollout started and promoted
    # it; the runner asks the deployer); one golive did not start is never stopped
    nxt = dataclasses.replace(
        state,
        phase=Phase.PROMOTED,
        waiting_for="",
        reason="",
        retiring=retire_later(state, Revision.STABLE),
    )
    event = Event("promoted", "canary promoted: 100% of traffic")
    return Decision(nxt, (RetireRevision(Revision.STABLE),), (event,))


def _until(state: RolloutState, duration: float) -> str:
    return ends_at(state.step_started + duration)


def ends_at(at: float) -> str:
    """When a wait ends, as a clock time: the text stays the same for the whole wait, so a
    pass that only waits changes nothing and is not written (engine/runner.py)."""
    return time.strftime("%H:%M:%S UTC", time.gmtime(at))


def _begin_watch(watch: Watch, state: RolloutState, obs: Observation) -> Decision:
    """100% is read back on the new version: the watch window opens (the previous revision
    stays deployed, out of the route, until ``keep_previous`` runs out)."""
    now = obs.now
    nxt = dataclasses.replace(
        state,
        promoted_at=now,
        watch_until=now + watch.duration,
        watch_next=now + watch.interval(0.0) if watch.checks else None,
        keep_until=now + watch.keep_previous,
        waiting_for=f"watch window until {ends_at(now + watch.duration)}",
        reason="",
    )
    event = Event(
        "watch_started",
        f"canary serves 100%: watching it for {format_duration(watch.duration)}; the previous "
        f"revision (stable) stays deployed for {format_duration(watch.keep_previous)}",
        {"watch_until": nxt.watch_until, "keep_until": nxt.keep_until},
    )
    return Decision(nxt, (), (event,))
