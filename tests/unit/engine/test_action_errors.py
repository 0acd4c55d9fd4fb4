"""What the runner does when an action fails, by the error's kind: a transient failure is
retried with backoff and recorded once; a permanent one fails the step with its reason and the
rollout rolls back at once (traffic back on stable), instead of waiting for the step's timeout."""

from __future__ import annotations

from pathlib import Path

from golive.core.state import Phase
from golive.engine.runner import Runner
from golive.errors import PermanentError, TransientError
from golive.plan.model import Revision, Split
from golive.store.sqlite import SQLiteStore
from golive.testing import FakeClock, FakeDeployer, FakeRouter
from tests.unit.engine.test_runner import PLAN, new_rollout, world


class Refusing(FakeRouter):
    """Refuses one weight, as a proxy refuses a configuration it cannot load."""

    def __init__(self, weight: float) -> None:
        super().__init__(lag=1)
        self.weight, self.tries = weight, 0

    async def apply(self, split: Split) -> None:
        if split.canary_weight == self.weight:
            self.tries += 1
            raise PermanentError(f"the proxy refused {self.weight:g}%")
        await super().apply(split)


class Flapping(FakeRouter):
    """Its write of 50% fails ``times`` in a row (connection refused), then works."""

    def __init__(self, times: int) -> None:
        super().__init__(lag=1)
        self.left = times

    async def apply(self, split: Split) -> None:
        if split.canary_weight == 50 and self.left > 0:
            self.left -= 1
            raise TransientError("connection refused")
        await super().apply(split)


class NoBinary(FakeDeployer):
    async def ensure(self, revision: Revision) -> None:
        raise PermanentError(f"cannot start {revision}: ./app: no such file")


async def test_a_transient_failure_is_retried_and_recorded_once(tmp_path: Path) -> None:
    clock = FakeClock()
    store = SQLiteStore(tmp_path / "g.db")
    providers, router, _ = world(clock, router=Flapping(times=2))
    rid = await new_rollout(store, PLAN, clock)
    final = await Runner(PLAN, store, providers, clock).run(rid)
    assert final.phase is Phase.PROMOTED and router.served == Split(100.0)
    events = await store.events(rid)
    assert "action_failed" not in [e.kind for e in events]
    retried = [e for e in events if e.kind == "action_retried"]
    assert len(retried) == 1, retried
    assert retried[0].message == "ApplySplit: done at try 3 (first failure: connection refused)"


async def test_a_refused_split_fails_the_step_and_rolls_back_at_once(tmp_path: Path) -> None:
    clock = FakeClock()
    store = SQLiteStore(tmp_path / "g.db")
    router = Refusing(50)
    providers, _, deployer = world(clock, router=router)
    rid = await new_rollout(store, PLAN, clock)
    final = await Runner(PLAN, store, providers, clock).run(rid)
    assert final.phase is Phase.FAILED and "the proxy refused 50%" in final.reason
    assert router.served == Split.all_stable() and deployer.retired == [Revision.CANARY]
    assert router.tries == 1  # never retried: it would be refused again
    events = await store.events(rid)
    kinds = [e.kind for e in events]
    failed = events[kinds.index("action_failed")]
    assert failed.message == "ApplySplit: the proxy refused 50%" and failed.data["permanent"]
    started = events[kinds.index("rollback_started")]
    assert started.at == failed.at  # in the same pass, not after the shift's 30s timeout
    assert kinds.index("rollback_started") < kinds.index("traffic_safe") < kinds.index("retired")


async def test_a_canary_that_cannot_be_started_fails_before_any_traffic(tmp_path: Path) -> None:
    clock = FakeClock()
    store = SQLiteStore(tmp_path / "g.db")
    providers, router, _ = world(clock, deployer=NoBinary())
    rid = await new_rollout(store, PLAN, clock)
    start = clock.now()
    final = await Runner(PLAN, store, providers, clock).run(rid)
    assert final.phase is Phase.FAILED and "./app: no such file" in final.reason
    assert all(s == Split.all_stable() for s in router.applied)
    events = await store.events(rid)
    ended = next(e for e in events if e.kind == "failed")
    assert ended.message.startswith("failed before any traffic reached the canary: EnsureRevision")
    assert ended.at - start < 5  # not the deploy step's 30s timeout
