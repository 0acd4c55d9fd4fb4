"""The migration rollback rules, pure: what happens to the database once traffic is back on
stable (traffic always goes back first, the database after).

* the down files, when every migrated step has them and the lint finds none destructive;
* otherwise the backup taken before the step, restored;
* but once the canary may have written rows (traffic reached it after a migration ran), a
  destructive rollback (a restore) is refused unless the step sets
  ``allow_destructive_rollback``: the rollout pauses, saying why and what to run.

:func:`rollback_rules` is the one place these are decided; :func:`database_rollback` is what
``decide`` calls while rolling back (and what a post-promote watch window calls to run them).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from golive.core.actions import Decision, Observation
from golive.core.results import MigrationStatus
from golive.core.state import Event, PauseKind, Phase, RolloutState
from golive.plan.model import MigrateStep, Plan

MODES = ("down", "restore", "keep")


@dataclass(frozen=True, slots=True)
class Revert:
    mode: str  # down | restore


@dataclass(frozen=True, slots=True)
class Refused:
    why: str
    run: str  # the command a person runs


def migrated_steps(plan: Plan, state: RolloutState) -> list[MigrateStep]:
    return [s for i in state.migrated if isinstance(s := plan.steps[i], MigrateStep)]


def rollback_rules(plan: Plan, state: RolloutState) -> Revert | Refused:
    steps = migrated_steps(plan, state)
    if all(s.downs_safe for s in steps):
        return Revert("down")
    allowed = all(s.allow_destructive_rollback for s in steps)
    if state.canary_wrote and not allowed:
        names = ", ".join(s.name for s in steps)
        why = (
            f"traffic is back on stable, but the database is not rolled back: the canary took "
            f"traffic after migration {names} ran, so it may have written rows that restoring "
            "the backup would lose, and the down migrations are missing or destructive (the "
            "plan does not set allow_destructive_rollback)"
        )
        return Refused(why, command_for(state))
    return Revert("restore")


def command_for(state: RolloutState) -> str:
    rid = state.id
    return (
        f"golive migrate rollback {rid} --restore (the backup; loses rows written since), "
        f"--down (the down files), or --keep (leave the schema as it is)"
    )


def database_rollback(plan: Plan, state: RolloutState, obs: Observation) -> Decision | None:
    """While rolling back with 100% on stable: the database's part, or None when none is left."""
    if not state.migrated:
        return None
    if state.migration_revert == "keep":
        kept = dataclasses.replace(state, migrated=(), migration_revert="")
        note = Event("migration_kept", "the database is left as the migration made it")
        return Decision(kept, (), (note,), again=True)
    if not state.migration_revert:
        rule = rollback_rules(plan, state)
        if isinstance(rule, Refused):
            return hold(state, obs, rule.why, rule.run, "migration_rollback_refused")
        nxt = dataclasses.replace(
            state, migration_revert=rule.mode, waiting_for=f"the database rollback ({rule.mode})"
        )
        event = Event(
            "migration_rollback_started",
            f"rolling the database back ({rule.mode}), traffic being on stable",
            {"mode": rule.mode},
        )
        return Decision(nxt, (), (event,), again=True)
    report = obs.migration
    if report is None or report.status is MigrationStatus.RUNNING:
        waiting = f"the database rollback ({state.migration_revert})"
        return Decision(dataclasses.replace(state, waiting_for=waiting))
    if report.status is MigrationStatus.DONE:
        done = dataclasses.replace(state, migrated=(), migration_revert="", waiting_for="")
        return Decision(done, (), (Event("migration_rolled_back", report.message),), again=True)
    why = f"the database rollback ({state.migration_revert}) failed: {report.message}"
    again = dataclasses.replace(state, migration_revert="")
    return hold(again, obs, why, command_for(state), "migration_rollback_failed")


def hold(state: RolloutState, obs: Observation, why: str, run: str, kind: str) -> Decision:
    """Pause for a person: why, and what to run."""
    nxt = dataclasses.replace(
        state,
        phase=Phase.PAUSED,
        reason=why,
        waiting_for=run,
        pause_kind=PauseKind.MIGRATION,
        paused_at=obs.now,
    )
    return Decision(nxt, (), (Event(kind, f"{why}. Run: {run}", {"run": run}),))


def chosen(reason: str) -> str | None:
    """The database decision a ``golive migrate rollback`` resume carries (``database: X``)."""
    head, _, mode = reason.partition(":")
    mode = mode.strip().split(" ")[0] if head.strip() == "database" else ""
    return mode if mode in MODES else None
