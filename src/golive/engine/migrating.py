"""The runner's migration jobs: a migrate step, or the database's rollback, run in a thread (it
is blocking I/O that can take minutes), so the reconcile loop and a rollback's router write are
never delayed. Each pass asks for the job its state wants and reads how far it is."""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable
from pathlib import Path

from golive.core.results import MigrationReport, MigrationStatus
from golive.core.state import Event, Phase, RolloutState
from golive.engine.steps import current_step
from golive.migrate import runner as db
from golive.plan.model import MigrateStep, Plan

Key = tuple[object, ...]


class MigrationJobs:
    def __init__(self, plan: Plan, state_dir: Path) -> None:
        self.plan, self.state_dir = plan, state_dir.resolve()
        self._tasks: dict[Key, tuple[asyncio.Task[db.Outcome], db.Outcome]] = {}
        self._told: dict[Key, int] = {}  # how many of a job's events are in the journal

    def wanted(
        self, state: RolloutState
    ) -> tuple[Key, Callable[[db.Outcome], db.Outcome], str] | None:
        step = current_step(self.plan, state)
        if state.phase is Phase.PROGRESSING and isinstance(step, MigrateStep):
            call = functools.partial(db.forward, step, self.state_dir, state.id, state.step)
            return ("forward", state.step, state.step_started), call, f"migrate {step.name}"
        if state.phase is Phase.ROLLING_BACK and state.migration_revert in ("down", "restore"):
            mode = state.migration_revert
            call = functools.partial(self._revert, state, mode)
            return ("rollback", state.migrated, mode, state.rollback_at), call, f"rollback {mode}"
        return None

    def _revert(self, state: RolloutState, mode: str, total: db.Outcome) -> db.Outcome:
        """Each migrated step, the last first (``total`` gathers their events)."""
        how: db.Mode = "down" if mode == "down" else "restore"
        for i in reversed(state.migrated):
            step = self.plan.steps[i]
            assert isinstance(step, MigrateStep)
            db.rollback(step, self.state_dir, state.id, i, how, total)
            if total.status != "done":
                total.message = f"{step.name}: {total.message}"
                return total
        return total

    async def observe(self, state: RolloutState) -> tuple[MigrationReport | None, list[Event]]:
        wanted = self.wanted(state)
        events: list[Event] = []
        for other, (_, its) in self._tasks.items():
            events += self._drain(other, its)  # a job no longer wanted still says what it did
        if wanted is None:  # paused, say: a running job goes on (and is journalled)
            return None, events
        key, call, what = wanted
        for other, (job, its) in self._tasks.items():
            if other != key and not job.done():
                its.stop()  # the rollout moved on (a rollback): stop at the next safe point
        if any(k != key and not job.done() for k, (job, _) in self._tasks.items()):
            # one job at a time: a rollback waits for the migration to stop
            return MigrationReport(MigrationStatus.RUNNING, "the migration stops first"), events
        if key not in self._tasks:
            out = db.Outcome(journaled=threading.Event(), cancel=threading.Event())
            self._tasks[key] = asyncio.create_task(asyncio.to_thread(call, out)), out
            events.append(Event("migration_started", f"{what}: started", {"step": state.step}))
        task, out = self._tasks[key]
        if not task.done():
            return MigrationReport(MigrationStatus.RUNNING), events
        try:
            task.result()
        except Exception as exc:  # a bug in the job is a failure with its reason
            out.status, out.message = "failed", f"{type(exc).__name__}: {exc}"
        events += self._drain(key, out)
        status = {"done": MigrationStatus.DONE, "failed": MigrationStatus.FAILED}.get(
            out.status, MigrationStatus.HELD
        )
        return MigrationReport(status, out.message, out.changed), events

    def stop_all(self) -> None:
        """The loop ends (Ctrl-C, the lease lost): no job starts another file; one in the middle
        of a statement finishes it (its markers say where it stopped)."""
        for _, out in self._tasks.values():
            out.stop()

    def _drain(self, key: Key, out: db.Outcome) -> list[Event]:
        """The job's events not journalled yet; and those of an earlier pass are committed by
        now, so a job waiting for them (its backup) goes on."""
        told = self._told.get(key, 0)
        if out.journaled is not None and out.mark and told >= out.mark:
            out.journaled.set()
        now = list(out.events)  # the thread appends; what is there now is journalled once
        self._told[key] = len(now)
        return [Event(kind, message, data) for kind, message, data in now[told:]]
