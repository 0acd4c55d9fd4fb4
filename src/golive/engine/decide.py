"""The pure heart of the engine: ``decide(plan, state, observation) -> Decision``.

No I/O and no clock: ``observation.now`` is the time. Operator commands, triggers (evaluated
once per pass by :func:`golive.analysis.triggers.evaluate`, acted on here) and each phase are
handled here; each step kind has one small function in :mod:`golive.engine.steps`.
Safety rules live in these two modules, once:

* a rollback's first action is the router write that sends 100% to stable (``urgent``), and the
  canary is retired only after a later observation reads that split back; in the watch window
  after a promotion (:mod:`golive.engine.watch`) the previous revision is health-checked (and
  deployed again if it is gone) before that write, since no traffic reaches it then;
* triggers are armed from the first shift until the rollout ends, in every non-terminal phase;
* terminal phases absorb: nothing changes once promoted, rolled back, aborted or failed, except
  that a retirement still pending (``state.retiring``) is asked for again until the runner
  records it done or given up.
"""

from __future__ import annotations

import dataclasses
from typing import assert_never

from golive.analysis import triggers as trig
from golive.core.actions import Action, ApplySplit, Decision, Observation, RetireRevision
from golive.core.state import Command, CommandVerb, Event, PauseKind, Phase, RolloutState
from golive.engine import migrations
from golive.engine.permissions import unfinished_gate
from golive.engine.steps import (
    current_step,
    paused,
    progress,
    reconcile,
    retire_later,
    skippable,
    start_rollback,
)
from golive.engine.watch import back_to_previous, watching
from golive.plan.model import PauseStep, Plan, Revision, Split, describe_step


def decide(plan: Plan, state: RolloutState, obs: Observation) -> Decision:
    if state.phase.terminal:
        return _by_phase(plan, state, obs)
    after_commands = _commands(plan, state, obs)
    if after_commands is not None:
        return after_commands
    values = obs.trigger_values if state.shifted else None  # armed from the first shift
    checked = trig.evaluate(plan.triggers, state.trigger_since, state.notified, values, obs.now)
    fired = _fired(state, obs, checked)
    if fired is not None:
        return fired
    stopped, alarms = _split_alarm(plan, state, obs)
    if stopped is not None:
        return stopped
    state = dataclasses.replace(state, trigger_since=checked.since, notified=checked.notified)
    notes = (*alarms, *(_notice(f) for f in checked.notices))
    d = _by_phase(plan, state, obs)
    return dataclasses.replace(d, events=(*notes, *d.events)) if notes else d


def _by_phase(plan: Plan, state: RolloutState, obs: Observation) -> Decision:
    match state.phase:
        case Phase.PROGRESSING if state.watching:
            return watching(plan, state, obs)
        case Phase.PROGRESSING:
            return progress(plan, state, obs)
        case Phase.PAUSED:
            return Decision(state, reconcile(state, obs))
        case Phase.ROLLING_BACK:
            return _rolling_back(plan, state, obs)
        case Phase.PROMOTED | Phase.ROLLED_BACK | Phase.ABORTED | Phase.FAILED:
            consumed = tuple(c.id for c in obs.commands)  # an ended rollout ignores commands
            return Decision(state, _pending(state, obs), consumed=consumed)
        case _:
            assert_never(state.phase)


def _pending(state: RolloutState, obs: Observation) -> tuple[Action, ...]:
    """An ended rollout's retirements still to do, once the router serves its final split;
    the previous revision a watch window kept, once ``keep_previous`` ran out (it has been
    out of the route since the promotion: the router is not asked again)."""
    due = state.retire_due(obs.now)
    if not due:
        return ()
    if state.keep_until is not None and state.phase is Phase.PROMOTED:
        return tuple(RetireRevision(r) for r in due)
    return reconcile(state, obs) or tuple(RetireRevision(r) for r in due)


def without_router(plan: Plan, state: RolloutState, obs: Observation, why: str) -> Decision:
    """The router cannot start, and no traffic ever reached the canary, so nothing needs it
    to be put back: an abort or rollback ends the rollout as asked, and otherwise it fails
    with the reason rather than waiting for a proxy that will not come."""
    assert not state.shifted, "after a shift, traffic may be on the canary: only a router helps"
    asked = _commands(plan, state, obs)
    if asked is not None and asked.state.phase.terminal:
        return asked
    consumed = tuple(c.id for c in obs.commands)
    failed = start_rollback(state, obs.now, f"the router cannot start: {why}", Phase.FAILED)
    noted = asked.events if asked is not None else ()
    return dataclasses.replace(failed, events=(*noted, *failed.events), consumed=consumed)


def _commands(plan: Plan, state: RolloutState, obs: Observation) -> Decision | None:
    if not obs.commands:
        return None
    consumed = tuple(c.id for c in obs.commands)
    events: list[Event] = []
    paused_here: float | None = None  # an operator pause applied by this batch of commands
    for cmd in obs.commands:
        who = cmd.by + (f" ({cmd.source})" if cmd.source else "")
        events.append(  # the request itself is in the journal since it was made
            Event(
                "command_applied",
                f"{cmd.verb.value} by {who} taken up",
                {"verb": cmd.verb.value, "by": cmd.by, "source": cmd.source},
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
        before = state
        state, refused = _apply_command(plan, state, cmd, obs.now, paused_here)
        if cmd.verb is CommandVerb.PAUSE and not refused:
            paused_here = state.paused_at
        if refused:
            events.append(Event("command_refused", refused, {"verb": cmd.verb.value}))
        elif cmd.verb is CommandVerb.SKIP:
            what = describe_step(current_step(plan, before))
            events.append(
                Event(
                    "step_skipped",
                    f"{what} skipped by {who}: {cmd.reason}",
                    {"step": before.step, "by": cmd.by, "reason": cmd.reason},
                )
            )
    return Decision(state, reconcile(state, obs), tuple(events), consumed, again=True)


def _apply_command(
    plan: Plan, state: RolloutState, cmd: Command, now: float, paused_here: float | None = None
) -> tuple[RolloutState, str]:
    """The state after one operator command, and why it changed nothing when it was refused."""
    verb, phase = cmd.verb, state.phase
    if _withdraws(cmd, state, paused_here):  # resume asked after a pause nobody applied yet
        return _resume(plan, state, now), ""
    if _stale(cmd, state):
        assert cmd.step is not None
        return state, (
            f"{verb.value} refused: it was asked at step {cmd.step + 1}"
            + (" while paused" if cmd.paused_at is not None else "")
            + f"; the rollout has moved on since (step {state.step + 1}, "
            f"{phase.value.replace('_', ' ')}): ask again if it still applies"
        )
    if verb is CommandVerb.PAUSE and phase is Phase.PROGRESSING:
        why = f"paused by {cmd.by}" + (f": {cmd.reason}" if cmd.reason else "")
        return paused(state, now, why, PauseKind.OPERATOR, "golive resume"), ""
    if verb is CommandVerb.RESUME and phase is Phase.PAUSED:
        if state.pause_kind is PauseKind.MIGRATION:
            return _database(state, cmd, now)
        return _resume(plan, state, now), ""
    window = state.watching and phase in (Phase.PROGRESSING, Phase.PAUSED)
    if verb is CommandVerb.PROMOTE and window:  # ends the watch window now
        return dataclasses.replace(state, phase=Phase.PROGRESSING, watch_until=now), ""
    if verb is CommandVerb.PROMOTE and phase in (Phase.PROGRESSING, Phase.PAUSED):
        blocked = unfinished_gate(plan, state)
        if blocked:
            return state, f"promote refused: {blocked}"
        promoted = dataclasses.replace(
            state, phase=Phase.PROGRESSING, force_promote=True, step_started=now, reason=""
        )
        return _unpaused(promoted), ""
    if verb is CommandVerb.SKIP and phase in (Phase.PROGRESSING, Phase.PAUSED):
        step = current_step(plan, state)
        if not skippable(step) or state.force_promote:
            return state, f"skip refused: {describe_step(step)} cannot be skipped"
        nxt = dataclasses.replace(
            state, phase=Phase.PROGRESSING, step=state.step + 1, step_started=now, reason=""
        )
        return _unpaused(nxt), ""
    return state, f"{verb.value} ignored: the rollout is {phase.value.replace('_', ' ')}"


def _database(state: RolloutState, cmd: Command, now: float) -> tuple[RolloutState, str]:
    """A resume of a rollout paused for its database: ``golive migrate rollback`` names what to
    do with it (traffic goes back to stable first); a plain resume runs a migration again only
    while the rollout is not rolling back."""
    mode = migrations.chosen(cmd.reason)
    if mode is None:
        if state.end_phase is not None or state.migration_revert:
            return state, f"resume refused: the database waits for a decision: {cmd_help(state)}"
        return _resume_same(state, now), ""
    end = state.end_phase or Phase.ROLLED_BACK
    why = state.reason if state.end_phase is not None else f"database {mode} by {cmd.by}"
    rolling = start_rollback(_unpaused(state), now, why, end).state
    return dataclasses.replace(rolling, migration_revert=mode), ""


def cmd_help(state: RolloutState) -> str:
    return migrations.command_for(state)


def _resume_same(state: RolloutState, now: float) -> RolloutState:
    paused_for = now - state.paused_at if state.paused_at is not None else 0.0
    nxt = dataclasses.replace(
        state, phase=Phase.PROGRESSING, reason="", step_started=state.step_started + paused_for
    )
    return _unpaused(nxt)


def _stale(cmd: Command, state: RolloutState) -> bool:
    """A resume or skip that would apply to another step, or another pause, than the one its
    author saw: applied, it would pass something nobody looked at."""
    if cmd.verb not in (CommandVerb.RESUME, CommandVerb.SKIP) or cmd.step is None:
        return False
    return cmd.step != state.step or cmd.paused_at != state.paused_at


def _withdraws(cmd: Command, state: RolloutState, paused_here: float | None) -> bool:
    """A resume asked while the rollout was progressing, at this step, behind a pause no
    controller had applied yet (nobody drove the rollout): taken up together, the pause is
    applied and then lifted, both recorded. Only that operator pause: a pause of any other
    kind, or one applied earlier, was never seen by the person who resumed."""
    return (
        cmd.verb is CommandVerb.RESUME
        and cmd.step == state.step
        and cmd.paused_at is None
        and state.pause_kind is PauseKind.OPERATOR
        and paused_here is not None
        and state.paused_at == paused_here
    )


def _unpaused(state: RolloutState) -> RolloutState:
    return dataclasses.replace(state, waiting_for="", pause_kind=None, paused_at=None, held=None)


def _resume(plan: Plan, state: RolloutState, now: float) -> RolloutState:
    """Resume continues the step it paused; it never skips one. Only the plan's own ``pause``
    step is completed by resuming; an inconclusive analysis runs again from the start."""
    kind, step = state.pause_kind, current_step(plan, state)
    nxt = dataclasses.replace(state, phase=Phase.PROGRESSING, reason="")
    paused_for = now - state.paused_at if state.paused_at is not None else 0.0
    # the clock of the step stops while paused: a deploy or gate timeout is not eaten
    same_step = dataclasses.replace(nxt, step_started=state.step_started + max(0.0, paused_for))
    match kind:
        case PauseKind.PLAN:
            nxt = dataclasses.replace(nxt, step=state.step + 1, step_started=now)
        case None if isinstance(step, PauseStep):
            nxt = dataclasses.replace(nxt, step=state.step + 1, step_started=now)
        case PauseKind.INCONCLUSIVE:
            nxt = dataclasses.replace(nxt, step_started=now)
        case PauseKind.FAILSAFE:
            held = state.held if state.held is not None else state.desired
            nxt = dataclasses.replace(same_step, desired=held)
        case PauseKind.OPERATOR | PauseKind.TRIGGER | PauseKind.SPLIT | PauseKind.MIGRATION:
            nxt = same_step
        case None:
            nxt = same_step
        case _:
            assert_never(kind)
    return _unpaused(nxt)


def _fired(state: RolloutState, obs: Observation, checked: trig.TriggerPass) -> Decision | None:
    """The first trigger that fires and acts: a rollback, or a pause while progressing (a
    rollout rolling back has nothing left for a trigger to do)."""
    if state.phase is Phase.ROLLING_BACK:
        return None
    for f in checked.fired:
        event = Event("trigger_fired", f.why, {"trigger": f.trigger.label})
        match f.trigger.action:
            case trig.TriggerAction.ROLLBACK:
                d = start_rollback(state, obs.now, f.why, Phase.ROLLED_BACK)
                return dataclasses.replace(d, events=(event, *d.events))
            case trig.TriggerAction.PAUSE:
                if state.phase is Phase.PROGRESSING:
                    nxt = paused(state, obs.now, f.why, PauseKind.TRIGGER, "golive resume")
                    nxt = dataclasses.replace(nxt, trigger_since=checked.since)
                    return Decision(nxt, (), (event,))
            case trig.TriggerAction.NOTIFY:
                pass  # noted once per episode (``checked.notices``), the rollout goes on
            case _:
                assert_never(f.trigger.action)
    return None


def _notice(f: trig.Firing) -> Event:
    return Event("trigger_notified", f"{f.why}: watching", {"trigger": f.trigger.label})


def _split_alarm(
    plan: Plan, state: RolloutState, obs: Observation
) -> tuple[Decision | None, tuple[Event, ...]]:
    """The proxy's counters depart from the split golive set: one alarm per interval, and what
    the plan's ``split_check`` says (by default a canary over-exposed is rolled back, one
    under-exposed pauses the rollout); armed, as triggers are, from the first shift."""
    finding, check = obs.split_finding, plan.split_check
    if finding is None or check is None or not state.shifted:
        return None, ()
    if state.phase not in (Phase.PROGRESSING, Phase.PAUSED):
        return None, ()
    action, why = check.action(finding), finding.describe()

    def alarm(doing: str) -> Event:
        return Event("split_alarm", f"{why}; {doing}", {**finding.to_data(), "then": action.value})

    match action:
        case trig.TriggerAction.ROLLBACK:
            d = start_rollback(state, obs.now, why, Phase.ROLLED_BACK)
            return dataclasses.replace(d, events=(alarm("rolling back"), *d.events)), ()
        case trig.TriggerAction.PAUSE if state.phase is Phase.PROGRESSING:
            nxt = paused(state, obs.now, why, PauseKind.SPLIT, "golive resume (or rollback)")
            return Decision(nxt, reconcile(state, obs), (alarm("pausing"),)), ()
        case trig.TriggerAction.PAUSE:
            return None, (alarm("paused"),)
        case trig.TriggerAction.NOTIFY:
            return None, (alarm("watching"),)
        case _:
            assert_never(action)


def _rolling_back(plan: Plan, state: RolloutState, obs: Observation) -> Decision:
    if state.watch_until is not None and state.desired != Split.all_stable():
        return back_to_previous(plan, state, obs)  # the watch window: previous revision first
    if obs.split != Split.all_stable():
        return Decision(state, (ApplySplit(Split.all_stable(), urgent=True),), again=False)
    database = migrations.database_rollback(plan, state, obs)  # traffic first, the data after
    if database is not None:
        return database
    end = state.end_phase or Phase.ROLLED_BACK
    nxt = dataclasses.replace(
        state,
        phase=end,
        safe_at=state.safe_at or obs.now,
        waiting_for="",
        retiring=retire_later(state, Revision.CANARY),
    )
    event = Event(  # the reason was said when the rollback started; the data keeps it
        end.value,
        f"{end.value.replace('_', ' ')}: 100% of traffic is on stable",
        {"reason": state.reason},
    )
    return Decision(nxt, (RetireRevision(Revision.CANARY),), (event,))


__all__ = ["current_step", "decide", "paused", "start_rollback", "without_router"]
