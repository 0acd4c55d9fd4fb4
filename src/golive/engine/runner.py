"""The reconcile loop: lease -> observe -> decide -> commit -> act, until the rollout ends.

Each pass starts from observed reality, so a crash anywhere is harmless: the next run takes the
lease (a dead owner's lease is free at once), rebuilds the judge from the recorded
measurements, re-applies the desired split, and converges. The decision is committed *before*
it is acted on, so what golive wants is durable before the router sees it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import random
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from golive.analysis.judge import Judge, JudgeImpl, Verdict
from golive.analysis.snapshot import Series, Snapshot
from golive.analysis.splitcheck import SplitFinding, SplitWatch
from golive.analysis.triggers import DOWN, measure
from golive.checks.preflight import Preflight
from golive.core.actions import (
    Decision,
    Observation,
    PassView,
)
from golive.core.results import CheckResult, CheckStatus, Health
from golive.core.state import Event, Phase, RolloutState, Signoff
from golive.engine.acting import CALL_TIMEOUT, Acting, kept, skipped
from golive.engine.backoff import Backoff, Episodes
from golive.engine.clock import Clock
from golive.engine.decide import current_step, decide, start_rollback
from golive.engine.migrating import MigrationJobs
from golive.engine.providers import Providers
from golive.engine.served import ServedSplits
from golive.engine.takeover import Takeover
from golive.errors import (
    GoliveError,
    NoData,
    StateError,
)
from golive.notify.notice import Figures
from golive.notify.route import status_due
from golive.plan.kinds import SOURCES
from golive.plan.model import PREFLIGHT, ApproveStep, CheckStep, Plan, Revision, Split
from golive.report.gather import write_reports
from golive.store.base import Store
from golive.store.leases import owner_id
from golive.store.sqlite import SQLiteStore

T = TypeVar("T")
log = logging.getLogger(__name__)
REPORT_TIMEOUT = 30.0


class Runner(Acting, Takeover):
    def __init__(
        self,
        plan: Plan,
        store: Store,
        providers: Providers,
        clock: Clock,
        on_pass: Callable[[PassView], None] = lambda view: None,
        state_dir: Path | None = None,
    ) -> None:
        self.plan, self.store, self.p, self.clock = plan, store, providers, clock
        self.on_pass = on_pass
        self.owner = owner_id(os.getpid())
        self.state_dir = state_dir if state_dir is not None else _beside(store)
        self.judge: JudgeImpl = Judge(plan.judge)
        self.stable, self.canary = Series(), Series()
        self.verdict: Verdict | None = None
        self.split_watch = SplitWatch(plan.split_check.tolerance if plan.split_check else 0.0)
        self._finding: SplitFinding | None = None
        # counters may lag the read-back: by one interval, or as long as the source says (a
        # minute through Prometheus)
        lag = SOURCES.get(plan.metrics.source).lag
        carry = math.ceil(lag / max(1.0, plan.metrics.interval)) if lag else 1
        self.served = ServedSplits(
            plan.route.sticky is not None, plan.split_check is not None, carry
        )
        self.last_sample = 0.0
        self._warned: set[str] = set()
        self._alarms: list[Event] = []
        self._decided_at = 0.0
        self._leased_at = -math.inf  # when the lease was last renewed
        self.preflight = Preflight(plan)
        self.backoff, self.rng, self.episodes = Backoff(), random.Random(), Episodes()
        self._broken: str | None = None  # a permanent failure that fails the step
        self._status_at: float | None = None  # the last status notification (plan.notify.every)
        self._safe_ms: float | None = None
        self.migrations = MigrationJobs(plan, self.state_dir)

    async def run(self, rollout_id: str) -> RolloutState:
        record = await self.store.load(rollout_id)
        state, version = record.state, record.version
        await self.store.acquire_lease(state.id, self.owner, self._ttl(), self.clock.now())
        try:
            state, version = await self._after_failsafe(state, version)
            await self._replay(state.id)
            if not state.phase.terminal:
                state, version = await self._start_router(state, version)
            elif not kept(state):  # a retirement pending: the router is read, not changed
                await self._try_start(state)
            ended_at: float | None = None
            while not state.settled:
                if state.idle(self.clock.now()):
                    return state  # the previous revision is kept: a later controller retires it
                if state.phase.terminal:
                    ended_at = self.clock.now() if ended_at is None else ended_at
                    if self.clock.now() - ended_at > self.plan.drain.timeout:
                        return await self._reported(await self._give_up(state, version))
                state, version, again = await self._pass(state, version)
                if not again and not state.settled:
                    await self.clock.sleep(self._pause())
            return await self._reported(state)
        except StateError as exc:  # the record can no longer be written: fail safe, then stop
            raise await self._failsafe(state, exc) from exc
        finally:
            self.migrations.stop_all()  # a migration job stops at its next safe point
            with contextlib.suppress(StateError):
                await self.store.release_lease(state.id, self.owner)

    async def _reported(self, state: RolloutState) -> RolloutState:
        """After the terminal commit: the report in ``<state-dir>/reports``. Traffic is safe
        and the record complete by now, so a failure to write it (a full disk, a bug) is
        journaled and shown, never raised: it must not change how the rollout ended."""
        if state.phase.terminal:
            try:
                await asyncio.wait_for(
                    write_reports(self.store, state.id, self.state_dir), REPORT_TIMEOUT
                )
            except Exception as exc:
                why = f"the report was not written: {type(exc).__name__}: {exc}"
                log.warning("rollout %s: %s", state.id, why)
                with contextlib.suppress(GoliveError):
                    await self.store.note(state.id, Event("report_failed", why), self.clock.now())
        return state

    def _ttl(self) -> float:
        return max(30.0, 3 * self.plan.metrics.interval)

    def _pause(self) -> float:
        return min(1.0, self.plan.metrics.interval)

    async def _replay(self, rollout_id: str) -> None:
        for at, weight, stable, canary in await self.store.measurements(rollout_id):
            self._feed(at, weight, stable, canary)
            self.last_sample = at

    def _feed(
        self,
        at: float,
        weight: float,
        stable: Snapshot,
        canary: Snapshot,
        weights: tuple[float, float] | None = None,
    ) -> SplitFinding | None:
        """Feed one measurement to the series, the judge and the split check (whose finding
        is only acted on live: a replayed interval's alarm is in the journal already)."""
        self.stable.push(at, stable)
        self.canary.push(at, canary)
        self.verdict = self.judge.update(at, stable, canary, weight / 100.0)
        return self.split_watch.update(stable, canary, weights)

    async def _pass(self, state: RolloutState, version: int) -> tuple[RolloutState, int, bool]:
        now = self.clock.now()
        if now - self._leased_at >= self._ttl() / 3:  # a commit with an owner checks the lease
            await self.store.acquire_lease(state.id, self.owner, self._ttl(), now)
            self._leased_at = now
        obs = await self._observe(state, now)
        observed = list(self._alarms)  # alarms and scorecards: what was seen, before deciding
        self._alarms.clear()
        decision = decide(self.plan, state, obs)
        self._decided_at = self.clock.now()
        events = [*observed, *decision.events]
        figures = self._figures(decision.state, obs, now)
        changed = events or decision.consumed or decision.state != state or figures is not None
        if changed:  # a pass that changed nothing (and owes no status notice) is not written:
            version = await self._commit(  # the lease renewal says the controller lives
                state, decision.state, events, version, now, decision.consumed, figures
            )
        done, outcome = await self._act(decision)
        acted = [*self._alarms, *outcome]
        self._alarms.clear()
        state, again = decision.state.retired(done), decision.again
        if self._broken is not None:  # a permanent failure: the step fails, traffic goes back
            failed = start_rollback(state, self.clock.now(), self._broken, Phase.FAILED)
            state, again, self._broken = failed.state, True, None
            acted += failed.events
        if acted or done:
            version = await self._commit(decision.state, state, acted, version, self.clock.now())
            events += acted
        self.on_pass(PassView(state, obs, decision, self.stable, self.canary, events))
        return state, version, again

    def _figures(self, state: RolloutState, obs: Observation, now: float) -> Figures | None:
        """Stable against canary for a status notification, when one is due."""
        if not status_due(self.plan, state, self._status_at, now):
            return None
        self._status_at = now
        window = 60.0  # the last minute

        def side(series: Series) -> tuple[int, float | None, float | None]:
            w = series.window(window)
            return w.requests, w.error_rate, w.latency(0.95)

        weight = (obs.split or state.desired).canary_weight
        verdict = self.verdict
        said = "no verdict yet" if verdict is None else (
            f"{verdict.decision.value}: {verdict.reason}"
        )  # fmt: skip
        return Figures(weight, side(self.stable), side(self.canary), said)

    # -- observe -----------------------------------------------------------------------------

    async def _observe(self, state: RolloutState, now: float) -> Observation:
        migration, noted = await self.migrations.observe(state)  # a thread's: never waited on
        self._alarms.extend(noted)
        split, stable, canary, commands, check, signoffs = await asyncio.gather(
            self._guard("router", self.p.router.observe()),
            self._guard("stable", self.p.deployer.status(Revision.STABLE)),
            self._guard("canary", self.p.deployer.status(Revision.CANARY)),
            self.store.pending_commands(state.id),
            self._check(state),
            self._signoffs(state),
        )
        note = self.served.see(split)
        if note is not None:
            self._alarms.append(note)
        if now - self.last_sample >= self.plan.metrics.interval * 0.95:
            await self._sample(state, now, split)
        health = {
            Revision.STABLE: stable or Health.ABSENT,
            Revision.CANARY: canary or Health.ABSENT,
        }
        down = 0.0 if health[Revision.CANARY] is Health.READY else 1.0
        values = tuple(
            down if t.metric == DOWN else measure(t, self.canary.window(t.window))
            for t in self.plan.triggers
        )
        finding, self._finding = self._finding, None
        return Observation(
            now,
            split,
            health,
            check,
            self.verdict,
            values,
            tuple(commands),
            signoffs,
            finding,
            migration,
        )

    async def _sample(self, state: RolloutState, now: float, split: Split | None) -> None:
        pair = await asyncio.gather(
            self._guard("metrics", self.p.metrics.sample(Revision.STABLE)),
            self._guard("metrics", self.p.metrics.sample(Revision.CANARY)),
        )
        stable, canary = pair
        if stable is None or canary is None:
            return
        weight = (split or state.desired).canary_weight
        shares = self.served.measured(split)
        self._finding = self._feed(now, weight, stable, canary, shares)
        self.last_sample = now
        await self.store.add_measurement(state.id, (now, weight, stable, canary))

    async def _check(self, state: RolloutState) -> CheckResult | None:
        if state.watching:
            return await self._watch_checks(state)
        step = current_step(self.plan, state)
        if not isinstance(step, CheckStep) or state.phase.terminal:
            return None
        if step.check == PREFLIGHT:
            confirmations = await self.store.confirmations(state.id)
            result, card = await self.preflight.observe(state.step_started, confirmations)
            if card is not None:
                self._alarms.append(card)
            return result
        return await self.p.check(self.plan.checks[step.check])

    async def _watch_checks(self, state: RolloutState) -> CheckResult | None:
        """The plan's watch checks, all of them, when the window's schedule says they are due
        (``decide`` sets the next time); the first failure, or how many passed."""
        watch, due = self.plan.watch, state.watch_next
        if watch is None or due is None or state.phase is not Phase.PROGRESSING:
            return None
        if self.clock.now() < due:
            return None
        results = await asyncio.gather(*(self.p.check(self.plan.checks[c]) for c in watch.checks))
        for name, result in zip(watch.checks, results, strict=True):
            if result.status is CheckStatus.FAILED:
                return CheckResult(CheckStatus.FAILED, f"{name}: {result.message}")
        waiting = [n for n, r in zip(watch.checks, results, strict=True) if r.status is not
                   CheckStatus.PASSED]  # fmt: skip
        said = f"{len(results) - len(waiting)} of {len(results)} passed"
        return CheckResult(
            CheckStatus.PASSED, said + (f" ({', '.join(waiting)} waiting)" if waiting else "")
        )

    async def _signoffs(self, state: RolloutState) -> tuple[Signoff, ...]:
        step = current_step(self.plan, state)
        if not isinstance(step, ApproveStep) or state.phase.terminal:
            return ()
        return tuple(await self.store.signoffs(state.id))

    async def _guard(self, what: str, call: Awaitable[T]) -> T | None:
        """Await a provider call with a timeout; a failure becomes ``None`` and one alarm."""
        try:
            async with asyncio.timeout(CALL_TIMEOUT):
                result = await call
        except NoData:
            return None
        except (GoliveError, TimeoutError) as exc:
            self._alarm(what, str(exc) or "timed out")
            return None
        except Exception as exc:  # a provider's bug is an alarm, not a crash
            self._alarm(what, f"{type(exc).__name__}: {exc}")
            return None
        self._warned.discard(what)
        return result

    def _alarm(self, what: str, message: str) -> None:
        if what not in self._warned:
            self._warned.add(what)
            self._alarms.append(Event("alarm", f"{what}: {message}"))

    async def _give_up(self, state: RolloutState, version: int) -> RolloutState:
        """An ended rollout whose router never served its final split again: what it still had
        to retire is left running, and the record says why (the loop is bounded)."""
        limit = self.plan.drain.timeout
        events = [
            skipped(
                r,
                f"{r} not stopped: the router did not serve the final split within "
                f"{limit:g}s; golive down stops it",
            )
            for r in state.retiring
        ]
        before, state = state, state.retired(state.retiring)
        await self._commit(before, state, events, version, self.clock.now())
        self.on_pass(
            PassView(
                state,
                Observation(self.clock.now(), None),
                Decision(state),
                self.stable,
                self.canary,
                events,
            )
        )
        return state


def _beside(store: Store) -> Path:
    """Where fail-safe markers go when no state directory is given: beside the database (an
    in-memory store has no such place, so whoever drives it says where)."""
    if isinstance(store, SQLiteStore):
        return store.path.parent
    raise TypeError("Runner(state_dir=...) is needed with a store that has no database file")
