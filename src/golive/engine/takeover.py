"""Taking a rollout over: what a controller does before its first pass, and when it must stop.

* A rollout whose previous controller failed safe (engine/failsafe.py) resumes paused, and a
  rollback asked for while nothing could be recorded is recorded now.
* The router is started (or attached to) and the desired split re-asserted; a router that cannot
  start ends a rollout that never shifted traffic, and is retried (bounded) after a shift.
* A controller that can no longer write its record puts 100% of traffic on stable first.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import TypeVar

from golive.analysis.judge import Verdict
from golive.analysis.snapshot import Series
from golive.core.actions import Decision, Observation, PassView
from golive.core.state import CommandVerb, Event, Phase, RolloutState
from golive.engine import failsafe
from golive.engine.clock import Clock
from golive.engine.decide import without_router
from golive.engine.providers import Providers
from golive.errors import GoliveError, PermanentError, StateError, TamperedError
from golive.notify.notice import Figures
from golive.notify.route import outbox_for
from golive.plan.model import Plan, Revision
from golive.store.base import Store
from golive.traffic.base import Verification

T = TypeVar("T")
ROUTER_RETRIES = (1.0, 2.0, 5.0, *(10.0,) * 29)  # seconds between starts: about 5 minutes


class Takeover:
    """Mixed into the Runner, which provides what is declared here."""

    plan: Plan
    store: Store
    p: Providers
    clock: Clock
    owner: str
    state_dir: Path
    verdict: Verdict | None
    stable: Series
    canary: Series
    on_pass: Callable[..., None]
    _safe_ms: float | None  # the last traffic_safe's figure, for the rollback's summary

    def _ttl(self) -> float:
        raise NotImplementedError

    async def _commit(
        self, before: RolloutState, state: RolloutState, events: Iterable[Event], version: int,
        now: float, consumed: Iterable[int] = (), figures: Figures | None = None,
    ) -> int:  # fmt: skip
        """Commit ``state`` and ``events`` with the notifications they make (the outbox row
        in the same transaction); the new version. Nothing here waits for a delivery."""
        events = list(events)
        for e in events:  # how fast traffic was safe, as measured by the read-back
            if e.kind == "traffic_safe" and isinstance(e.data.get("since_decision_ms"), float):
                self._safe_ms = float(str(e.data["since_decision_ms"]))
        notices = outbox_for(self.plan, before, state, events, version + 1, now, figures,
                             self._safe_ms)  # fmt: skip
        return await self.store.commit(
            state, events, version, now, consumed, self.owner, notices=notices
        )

    async def _act(self, decision: Decision) -> tuple[tuple[Revision, ...], list[Event]]:
        raise NotImplementedError

    async def _guard(self, what: str, call: Awaitable[T]) -> T | None:
        raise NotImplementedError

    async def _failsafe(self, state: RolloutState, exc: StateError) -> StateError:
        """Put 100% of traffic on stable (verified) before exiting; say what happened."""
        if state.phase is Phase.PROMOTED or state.watching:  # the canary is production now:
            # leave traffic alone (in the watch window the previous revision may be gone)
            doing = "in the watch window" if state.watching else "retiring the old stable"
            return StateError(f"the record of {state.id} cannot be written ({exc}) while "
                              f"{doing}; traffic is untouched")  # fmt: skip
        verdict = await failsafe.all_to_stable(self.p.router)
        marked = failsafe.mark(self.state_dir, state.id)
        safe = (
            "100% of traffic is on stable (verified by read-back)"
            if verdict is Verification.VERIFIED
            else "putting traffic back on stable could NOT be verified: check the router now"
        )
        then = (
            f"once the record can be written, 'golive resume {state.id}' continues it paused, "
            "waiting for a person"
            if marked
            else f"the marker file could not be written either; after fixing the store, "
            f"check the router before 'golive resume {state.id}'"
        )
        kind = TamperedError if isinstance(exc, TamperedError) else StateError  # exit 5 stays 5
        return kind(f"the record of {state.id} cannot be written ({exc}): {safe}; {then}")

    async def _after_failsafe(self, state: RolloutState, version: int) -> tuple[RolloutState, int]:
        """A rollout whose controller failed safe resumes paused, never re-exposing the canary;
        a rollback or abort asked for while nothing could be recorded is recorded now."""
        wanted = failsafe.intent(self.state_dir, state.id)
        if wanted is None:
            return state, version
        now = self.clock.now()
        if wanted in ("rollback", "abort") and not state.phase.terminal:
            why = f"{wanted} requested while the record could not be written"
            await self.store.add_command(state.id, CommandVerb(wanted), "failsafe", why, now)
        else:
            why = "the previous controller could not write the record and put 100% on stable"
            paused = failsafe.interrupted(state, now, why)
            if paused != state:
                held = paused.held.canary_weight if paused.held else None
                event = Event("failsafe", why, {"held": held})
                version = await self._commit(state, paused, [event], version, now)
                state = paused
        failsafe.clear(self.state_dir, state.id)
        return state, version

    # -- the router's start ------------------------------------------------------------------

    async def _start_router(self, state: RolloutState, version: int) -> tuple[RolloutState, int]:
        """Start (or attach to) the router and re-assert the desired split.

        A router that cannot start ends a rollout that never shifted traffic (nothing to put
        back; ``without_router``). After a shift traffic may be on the canary and only the
        router can move it: retry, with one alarm saying so, and give up after
        ``ROUTER_RETRIES`` with the rollout left as it is and what to do.
        """
        why = await self._try_start(state)
        if why is None:
            return state, version
        if not state.shifted:
            return await self._end_without_router(state, version, why)
        weight = state.desired.canary_weight
        alarm = Event(
            "alarm",
            f"router: cannot start: {why}. Traffic may be on the canary ({weight:g}% "
            f"desired), so the rollout stays {state.phase.value}; golive retries",
        )
        version = await self.store.commit(
            state, [alarm], version, self.clock.now(), owner=self.owner
        )
        for delay in ROUTER_RETRIES:
            await self.clock.sleep(delay)
            await self.store.acquire_lease(state.id, self.owner, self._ttl(), self.clock.now())
            why = await self._try_start(state)
            if why is None:
                started = Event("router_started", "router: started again")
                version = await self.store.commit(
                    state, [started], version, self.clock.now(), owner=self.owner
                )
                return state, version
        raise PermanentError(
            f"the router still cannot start: {why}. Traffic may be on the canary "
            f"({weight:g}% desired), so rollout {state.id} stays {state.phase.value}: free "
            f"the listen address or fix the proxy, then 'golive resume {state.id}' or "
            f"'golive rollback {state.id}'"
        )

    async def _try_start(self, state: RolloutState) -> str | None:
        """None once the router runs and serves the desired split; otherwise why not."""
        try:
            started = await self.p.start(state.desired)
        except (GoliveError, OSError) as exc:
            return str(exc) or type(exc).__name__
        if not started:
            await self._guard("router", self.p.router.apply(state.desired))  # re-assert first
        return None

    async def _end_without_router(
        self, state: RolloutState, version: int, why: str
    ) -> tuple[RolloutState, int]:
        now = self.clock.now()
        commands = tuple(await self.store.pending_commands(state.id))
        obs = Observation(now, None, {}, None, self.verdict, (), commands)
        decision = without_router(self.plan, state, obs, why)
        events = [Event("alarm", f"router: cannot start: {why}"), *decision.events]
        version = await self._commit(state, decision.state, events, version, now,
                                     decision.consumed)  # fmt: skip
        done, acted = await self._act(decision)  # retire the canary: no traffic to drain
        before, state = decision.state, decision.state.retired(done)
        if acted or done:
            version = await self._commit(before, state, acted, version, self.clock.now())
        self.on_pass(PassView(state, obs, decision, self.stable, self.canary, events + acted))
        return state, version
