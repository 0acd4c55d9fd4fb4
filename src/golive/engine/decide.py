"""The pure heart of the engine: ``decide(plan, state, observation) -> Decision``.

No I/O and no clock: ``observation.now`` is the time. Operator commands, triggers and each
phase are handled here; each step kind has one small function in :mod:`golive.engine.steps`.
Safety rules live in these two modules, once:

* a rollback's first action is the router write that sends 100% to stable (``urgent``), and the
  canary is retired only after a later observation reads that split back;
* triggers are armed from the first shift until the rollout ends, in every non-terminal phase;
* terminal phases absorb: nothing changes once promoted, rolled back, aborted or failed.
"""

from __future__ import annotations

import dataclasses

from golive.analysis import triggers as trig
from golive.engine.state import (
    ApplySplit,
    Command,
    CommandVerb,
    Decision,
    Event,
    Observation,
    Phase,
    RetireRevision,
    RolloutState,
)
from golive.engine.steps import current_step, progress, reconcile, start_rollback
from golive.plan.model import (
    Plan,
    Revision,
    Split,
)


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
        d = Decision(state, reconcile(state, obs))
    else:
        d = progress(plan, state, obs)
    return dataclasses.replace(d, events=(*notes, *d.events)) if notes else d


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
    return Decision(state, reconcile(state, obs), tuple(events), consumed, again=True)


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


def _rolling_back(state: RolloutState, obs: Observation) -> Decision:
    if obs.split != Split.all_stable():
        return Decision(state, (ApplySplit(Split.all_stable(), urgent=True),), again=False)
    end = state.end_phase or Phase.ROLLED_BACK
    nxt = dataclasses.replace(state, phase=end, safe_at=state.safe_at or obs.now, waiting_for="")
    event = Event(
        end.value, f"{end.value.replace('_', ' ')}: {state.reason}", {"reason": state.reason}
    )
    return Decision(nxt, (RetireRevision(Revision.CANARY),), (event,))


__all__ = ["current_step", "decide", "start_rollback", "without_router"]
