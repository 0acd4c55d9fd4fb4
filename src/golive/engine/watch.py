"""The watch window after a promotion: pure functions ``decide`` calls while it is open.

At 100% there is no stable traffic to compare with, so the comparative judge is not evaluated:
the triggers (armed in every non-terminal phase, as before), the judge's absolute limits (a
regressed metric whose rule is not a ratio to stable) and the plan's watch checks (run by the
runner when ``state.watch_next`` is due, on the ``every`` schedule) are. When the window
passes the rollout is promoted; the previous revision is retired once ``keep_previous`` runs
out (``RolloutState.retire_due``). A trigger, a failed check, a breached limit or ``golive
rollback`` during the window sends traffic back to the previous revision: it is health-checked
first and redeployed if it is gone (:func:`back_to_previous`), the 100% on it is read back
like any rollback, then the database is rolled back by the migrate step's rules
(``engine/migrations.database_rollback``, called by ``decide`` for every rollback).
"""

from __future__ import annotations

import dataclasses

from golive.analysis.judge import Call, Status, Verdict
from golive.core.actions import (
    Action,
    ApplySplit,
    Decision,
    EnsureRevision,
    Observation,
    RetireRevision,
)
from golive.core.results import CheckStatus, Health
from golive.core.state import Event, Phase, RolloutState
from golive.engine.steps import ends_at, reconcile, retire_later, start_rollback
from golive.plan.model import Plan, Revision, Split
from golive.units import format_duration

REDEPLOY_TIMEOUT = 30.0  # a previous revision without a process section: how long to wait


def watching(plan: Plan, state: RolloutState, obs: Observation) -> Decision:
    """One pass of an open window (the rollout progresses past its promote step)."""
    watch, now, until = plan.watch, obs.now, state.watch_until
    assert watch is not None and until is not None and state.promoted_at is not None
    breach = absolute_breach(obs.verdict)
    if breach:
        return start_rollback(state, now, f"judge (watch window): {breach}", Phase.ROLLED_BACK)
    if obs.check is not None and obs.check.status is CheckStatus.FAILED:
        why = f"watch check failed: {obs.check.message}"
        return start_rollback(state, now, why, Phase.ROLLED_BACK)
    events: list[Event] = []
    if obs.check is not None:  # the checks that were due ran, and none failed
        every = watch.interval(now - state.promoted_at)
        state = dataclasses.replace(state, watch_next=now + every)
        events.append(
            Event(
                "watch_checked",
                f"watch checks: {obs.check.message}; next in {format_duration(every)}",
                {"checks": list(watch.checks)},
            )
        )
    if now >= until:
        if not state.force_promote and state.step < len(plan.steps) - 1:
            return _contract_next(state, obs, events)
        return _passed(state, obs, events)
    nxt = dataclasses.replace(state, waiting_for=f"watch window until {ends_at(until)}")
    return Decision(nxt, reconcile(state, obs), tuple(events))


def _contract_next(state: RolloutState, obs: Observation, events: list[Event]) -> Decision:
    """The window passed and contract migrations follow the promote step: they run now, with
    100% on the new version (the previous revision stays deployed until ``keep_previous``)."""
    nxt = dataclasses.replace(
        state, step=state.step + 1, step_started=obs.now, watch_until=None, watch_next=None,
        waiting_for="",
    )  # fmt: skip
    event = Event(
        "step_completed", "watch window passed; contract migrations next", {"step": state.step}
    )
    return Decision(nxt, (), (*events, event), again=True)


def _passed(state: RolloutState, obs: Observation, events: list[Event]) -> Decision:
    nxt = dataclasses.replace(
        state,
        phase=Phase.PROMOTED,
        waiting_for="",
        reason="",
        watch_next=None,
        retiring=retire_later(state, Revision.STABLE),
    )
    keep = state.keep_until if state.keep_until is not None else obs.now
    event = Event(
        "promoted",
        "watch window passed: canary promoted; the previous revision (stable) is retired "
        f"in {format_duration(max(0.0, keep - obs.now))}",
        {"keep_until": state.keep_until},
    )
    due = nxt.retire_due(obs.now)
    return Decision(nxt, _retire(due), (*events, event))


def _retire(due: tuple[Revision, ...]) -> tuple[Action, ...]:
    return tuple(RetireRevision(r) for r in due)


def back_to_previous(plan: Plan, state: RolloutState, obs: Observation) -> Decision:
    """A rollback in the window, before traffic moved: the previous revision answers its
    readiness check, then 100% goes to it (urgent, read back); if it is gone it is deployed
    again first. If it cannot be, traffic stays on the new version and the rollout fails
    saying so (sending users to a revision that does not answer is worse)."""
    health = obs.health.get(Revision.STABLE, Health.ABSENT)
    stable = plan.stable
    if health is Health.READY:
        nxt = dataclasses.replace(
            state, desired=Split.all_stable(), waiting_for="100% stable to be read back"
        )
        return Decision(nxt, (ApplySplit(Split.all_stable(), urgent=True),), again=True)
    timeout = stable.process.timeout if stable.process else REDEPLOY_TIMEOUT
    waited = obs.now - (state.rollback_at if state.rollback_at is not None else obs.now)
    waiting = f"the previous revision (stable {stable.version}) to be deployed again"
    # one that exited is deployed again once; failing again, or never ready, it is given up
    failed = health is Health.FAILED and state.waiting_for == waiting
    if failed or health is Health.OCCUPIED or waited > timeout or stable.process is None:
        within = f" within {timeout:g}s" if waited > timeout else ""
        why = (
            f"the previous revision (stable {stable.version}) is {health.value} and could not "
            f"be deployed again{within}: traffic stays on the canary"
        )
        if stable.process is None:
            why = (
                f"the previous revision (stable {stable.version}) is {health.value} and golive "
                "does not run it: traffic stays on the canary"
            )
        nxt = dataclasses.replace(
            state, phase=Phase.FAILED, reason=f"{state.reason}; {why}", waiting_for=""
        )
        return Decision(nxt, reconcile(state, obs), (Event("failed", f"rollback failed: {why}"),))
    events: tuple[Event, ...] = ()
    if state.waiting_for != waiting:
        events = (
            Event(
                "redeploying",
                f"the previous revision (stable {stable.version}) is {health.value}: "
                "deploying it again before traffic goes back to it",
                {"health": health.value},
            ),
        )
    nxt = dataclasses.replace(state, waiting_for=waiting)
    return Decision(nxt, (*reconcile(state, obs), EnsureRevision(Revision.STABLE)), events)


def absolute_breach(verdict: Verdict | None) -> str:
    """The judge's absolute limits that the new version breaches ("" when none): a regressed
    metric whose rule is a fixed limit, not a ratio to stable (which serves nothing now)."""
    if verdict is None or verdict.decision is not Call.ROLLBACK:
        return ""
    breached = [
        m.sentence
        for m in verdict.metrics
        if m.status is Status.REGRESSED and m.rule and m.rule != "error" and "stable" not in m.rule
    ]
    return "; ".join(breached)
