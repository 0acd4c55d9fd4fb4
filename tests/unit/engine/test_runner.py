"""The reconcile loop with public fakes and a real SQLite store: whole rollouts, no waiting."""

from __future__ import annotations

from pathlib import Path

import pytest

from golive.engine.providers import Providers
from golive.engine.runner import Runner
from golive.engine.state import Phase, RolloutId, RolloutState
from golive.plan.loader import parse_plan
from golive.plan.model import Plan, Revision, Split
from golive.store.audit import Verdict
from golive.store.records import RolloutRecord
from golive.store.sqlite import SQLiteStore
from golive.testing import FakeClock, FakeDeployer, FakeRouter, ScriptedMetrics, passing_check
from tests.conftest import GOOD_PLAN

PLAN = parse_plan(GOOD_PLAN, "plan.yaml")


class Crash(Exception):
    pass


async def noop() -> None:
    return None


def world(
    clock: FakeClock,
    canary_error: float = 0.0,
    router: FakeRouter | None = None,
    deployer: FakeDeployer | None = None,
) -> tuple[Providers, FakeRouter, FakeDeployer]:
    router = router or FakeRouter(lag=1)
    deployer = deployer or FakeDeployer(ready_after=2)
    metrics = ScriptedMetrics(clock, router, rps=200, stable_error=0.01, canary_error=canary_error)
    providers = Providers(router, metrics, deployer, passing_check, router.start, noop)
    return providers, router, deployer


async def new_rollout(store: SQLiteStore, plan: Plan, clock: FakeClock) -> str:
    now = clock.now()
    st = RolloutState(RolloutId("r1"), Phase.PROGRESSING, 0, now, Split.all_stable(), now)
    await store.create(
        RolloutRecord(
            RolloutId("r1"),
            plan.service,
            "plan.yaml",
            plan.digest,
            plan.text,
            st,
            1,
            now,
            now,
            None,
        ),
        [],
        now,
    )
    return "r1"


async def test_a_healthy_canary_is_promoted(tmp_path: Path) -> None:
    clock = FakeClock()
    store = SQLiteStore(tmp_path / "g.db")
    providers, router, _ = world(clock)
    rid = await new_rollout(store, PLAN, clock)
    final = await Runner(PLAN, store, providers, clock).run(rid)
    assert final.phase is Phase.PROMOTED
    assert router.served == Split(100.0)
    events = await store.events(rid)
    kinds = [e.kind for e in events]
    assert kinds.count("step_completed") == 6 and kinds[-1] == "promoted"
    assert (await store.audit(rid)).verdict is Verdict.INTACT
    assert len(await store.measurements(rid)) > 40


async def test_a_bad_canary_is_rolled_back_and_retired_after_traffic_is_safe(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    store = SQLiteStore(tmp_path / "g.db")
    providers, router, deployer = world(clock, canary_error=0.2)
    rid = await new_rollout(store, PLAN, clock)
    final = await Runner(PLAN, store, providers, clock).run(rid)
    assert final.phase is Phase.ROLLED_BACK
    assert router.served == Split.all_stable()
    assert deployer.retired == [Revision.CANARY]
    events = await store.events(rid)
    kinds = [e.kind for e in events]
    assert kinds.index("rollback_started") < kinds.index("traffic_safe") < kinds.index("retired")
    safe = events[kinds.index("traffic_safe")].at
    assert events[kinds.index("retired")].at - safe >= PLAN.drain.grace  # drained first


class StillServed(ScriptedMetrics):
    """A canary that keeps receiving requests the router no longer sends it (another path)."""

    async def sample(self, revision: Revision):  # type: ignore[no-untyped-def]
        if revision is Revision.CANARY and self.router.served.canary_weight == 0:
            self.counts[revision][0] += 1
        return await super().sample(revision)


async def test_a_revision_that_still_gets_requests_is_never_stopped(tmp_path: Path) -> None:
    clock = FakeClock()
    store = SQLiteStore(tmp_path / "g.db")
    router, deployer = FakeRouter(lag=1), FakeDeployer(ready_after=2)
    metrics = StillServed(clock, router, rps=200, stable_error=0.01, canary_error=0.2)
    providers = Providers(router, metrics, deployer, passing_check, router.start, noop)
    rid = await new_rollout(store, PLAN, clock)
    final = await Runner(PLAN, store, providers, clock).run(rid)
    assert final.phase is Phase.ROLLED_BACK
    assert deployer.retired == []
    skipped = [e for e in await store.events(rid) if e.kind == "retire_skipped"]
    assert skipped[0].message.startswith("canary not stopped: it still received")
    assert "after 120s; golive down stops it" in skipped[0].message


@pytest.mark.parametrize("crash_after", [5, 12, 20, 33])
async def test_a_crash_at_any_pass_converges_to_the_same_end(
    tmp_path: Path, crash_after: int
) -> None:
    clock = FakeClock()
    store = SQLiteStore(tmp_path / "g.db")
    router, deployer = FakeRouter(lag=1), FakeDeployer(ready_after=2)
    providers, _, _ = world(clock, router=router, deployer=deployer)
    rid = await new_rollout(store, PLAN, clock)
    passes = 0

    def crash(view: object) -> None:
        nonlocal passes
        passes += 1
        if passes == crash_after:
            raise Crash

    with pytest.raises(Crash):
        await Runner(PLAN, store, providers, clock, on_pass=crash).run(rid)
    router.served = Split(0.0)  # the proxy lost its config meanwhile
    clock.advance(3)
    final = await Runner(PLAN, store, providers, clock).run(rid)
    assert final.phase is Phase.PROMOTED
    assert router.served == Split(100.0)
    assert (await store.audit(rid)).verdict is Verdict.INTACT


async def test_an_unreachable_router_holds_the_step_and_raises_an_alarm(tmp_path: Path) -> None:
    clock = FakeClock()
    store = SQLiteStore(tmp_path / "g.db")
    providers, router, _ = world(clock)
    rid = await new_rollout(store, PLAN, clock)
    router.unreachable = True
    stop_after = 30

    def watch(view: object) -> None:
        nonlocal stop_after
        stop_after -= 1
        if stop_after == 0:
            raise Crash

    with pytest.raises(Crash):
        await Runner(PLAN, store, providers, clock, on_pass=watch).run(rid)
    record = await store.load(rid)
    assert record.state.phase in (Phase.PROGRESSING, Phase.FAILED)
    assert not record.state.shifted
    alarms = [e for e in await store.events(rid) if e.kind == "alarm"]
    assert alarms and "fake router unreachable" in alarms[0].message
