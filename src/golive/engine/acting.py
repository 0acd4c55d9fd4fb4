"""Acting on a decision, in the order decide() gave: apply a split (verified by read-back, the
proxy started again when golive's own died), ensure a revision, retire one after its drain.
Mixed into the Runner. A transient failure is retried (engine/backoff.py); a permanent one of
what takes the rollout forward fails its step, the Runner rolls back.
"""

from __future__ import annotations

import asyncio
import functools
import random
import time
from collections.abc import Awaitable
from typing import TypeVar, assert_never

from golive.core.actions import Action, ApplySplit, Decision, EnsureRevision, RetireRevision
from golive.core.state import Event, Phase, RolloutState
from golive.engine.backoff import Backoff, Episodes, retry
from golive.engine.clock import Clock
from golive.engine.drain import drain
from golive.engine.providers import Providers
from golive.errors import GoliveError, PermanentError, ProviderError, TransientError
from golive.plan.model import Plan, Revision, Split
from golive.traffic.base import Verification

T = TypeVar("T")
CALL_TIMEOUT = 5.0
URGENT_VERIFY = 5.0


class Acting:
    """Mixed into the Runner, which provides what is declared here."""

    plan: Plan
    p: Providers
    clock: Clock
    backoff: Backoff
    rng: random.Random
    episodes: Episodes
    _broken: str | None
    _decided_at: float

    async def _guard(self, what: str, call: Awaitable[T]) -> T | None:
        raise NotImplementedError

    async def _act(self, decision: Decision) -> tuple[tuple[Revision, ...], list[Event]]:
        """Act in order; the revisions whose retirement is done (or given up), and events.
        A transient failure is retried (engine/backoff.py); one that outlasts its retries, or
        a permanent one, stops the actions after it (the safe order is kept)."""
        events: list[Event] = []
        done: list[Revision] = []
        for action in decision.actions:
            attempt = functools.partial(self._attempt, action, decision.state)
            try:
                outcome, errors = await retry(attempt, self.clock, self.backoff, self.rng)
            except ProviderError as exc:
                events.extend(self._failed(action, exc, decision.state))
                if isinstance(action, RetireRevision):  # given up, with the reason recorded
                    done.append(action.revision)
                    events.append(skipped(action.revision, f"{_name(action)}: {exc}"))
                break
            events.extend(self.episodes.succeeded(action, errors))
            events.extend(outcome)
            if isinstance(action, RetireRevision):
                done.append(action.revision)
        return tuple(done), events

    async def _attempt(self, action: Action, state: RolloutState) -> list[Event]:
        limit = CALL_TIMEOUT + URGENT_VERIFY
        if isinstance(action, RetireRevision):
            limit += self.plan.drain.timeout
        async with asyncio.timeout(limit):
            match action:
                case ApplySplit():
                    return await self._apply_or_restart(action, state)
                case EnsureRevision(revision=r):
                    await self.p.deployer.ensure(r)
                    return []
                case RetireRevision(revision=r):
                    return await self._retire(r, state)
                case _:
                    assert_never(action)

    def _failed(self, action: Action, exc: ProviderError, state: RolloutState) -> list[Event]:
        """A permanent failure of what takes the rollout forward fails its step (``_pass``
        rolls back); one of a rollback's write is retried by the passes that follow."""
        urgent = isinstance(action, ApplySplit) and action.urgent
        forward = state.phase in (Phase.PROGRESSING, Phase.PAUSED)
        if isinstance(exc, PermanentError) and forward and not urgent:
            self._broken = f"{_name(action)}: {exc}"
        return self.episodes.failed(action, exc)

    async def _retire(self, r: Revision, state: RolloutState) -> list[Event]:
        """Drain, then stop ``r`` if golive owns it; anything else is left alone, silently."""
        if not await self.p.deployer.owns(r):
            return []
        version = self.plan.revision(r).version
        # no traffic was ever shifted: nothing can be in flight to drain; the previous revision
        # a watch window kept has been out of the route since the promotion was read back
        quiet = not state.shifted or (kept(state) and r is Revision.STABLE)
        why = "" if quiet else await drain(r, self.plan.drain, self._look, self.clock)
        if why:
            return [skipped(r, why)]
        await self.p.deployer.retire(r)
        return [Event("retired", f"{r} {version} stopped", {"revision": r.value})]

    async def _look(self, revision: Revision) -> tuple[Split | None, int | None, int | None]:
        """What the drain needs: the split read back, requests in flight, the request count."""
        split = await self._guard("router", self.p.router.observe())
        snap = await self._guard("metrics", self.p.metrics.sample(revision))
        active = await self._guard("metrics", self.p.metrics.in_flight(revision))
        return split, active, None if snap is None else snap.requests

    async def _apply_or_restart(self, action: ApplySplit, state: RolloutState) -> list[Event]:
        """Apply the split; when that fails transiently because a proxy golive started is gone
        (killed, crashed), start it again serving the split, then apply it as before. A proxy
        that runs, one golive attached to, or one 'golive down' stopped is not started."""
        try:
            return [await self._apply(action, state)]
        except TransientError as exc:
            try:
                started = await self.p.revive(action.split)
            except (GoliveError, OSError):
                raise exc from None
            if not started:
                raise
        weight = action.split.canary_weight
        again = Event(
            "router_started",
            f"router: its proxy was not running; started again ({weight:g}% to canary)",
        )
        return [again, await self._apply(action, state)]

    async def _apply(self, action: ApplySplit, state: RolloutState) -> Event:
        split = action.split
        t0 = time.perf_counter()
        await self.p.router.apply(split)
        deadline = t0 + (URGENT_VERIFY if action.urgent else 1.0)
        verdict = Verification.PENDING
        while time.perf_counter() < deadline:
            verdict = await self.p.router.verify(split)
            if verdict is not Verification.PENDING:
                break
            await asyncio.sleep(0.002)
        ms = (time.perf_counter() - t0) * 1000
        data: dict[str, object] = {
            "canary_weight": split.canary_weight,
            "apply_ms": round(ms, 1),
            "verification": verdict.value,
        }
        if action.urgent and state.rollback_at is not None:
            since = (self.clock.now() - max(state.rollback_at, self._decided_at)) * 1000
            data["since_decision_ms"] = round(since, 1)
            if verdict is Verification.VERIFIED:
                return Event(
                    "traffic_safe",
                    f"100% of traffic on stable {since:.0f} ms after the "
                    "rollback decision (verified by read-back)",
                    data,
                )
        return Event(
            "split_applied",
            f"canary {split.canary_weight:g}%: {verdict.value} in {ms:.0f} ms",
            data,
        )


def kept(state: RolloutState) -> bool:
    """Promoted after a watch window: what is left to retire is the previous revision, out of
    the route since the promotion (the router may serve a later rollout by now: not touched)."""
    return state.phase is Phase.PROMOTED and state.keep_until is not None


def skipped(revision: Revision, why: str) -> Event:
    return Event("retire_skipped", why, {"revision": revision.value})


def _name(action: object) -> str:
    return type(action).__name__
