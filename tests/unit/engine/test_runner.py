"""The reconcile loop with public fakes and a real SQLite store: whole rollouts, no waiting."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from golive.core.actions import PassView
from golive.core.state import CommandVerb, PauseKind, Phase, RolloutId, RolloutState
from golive.engine.providers import Providers
from golive.engine.runner import Runner
from golive.errors import StateError
from golive.plan.loader import parse_plan
from golive.plan.model import Plan, Revision, Split
from golive.store.audit import Verdict
from golive.store.base import Store
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


async def new_rollout(store: Store, plan: Plan, clock: FakeClock) -> str:
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

    with contextlib.suppress(Crash):  # or it ends, failed: the shift timed out
        await Runner(PLAN, store, providers, clock, on_pass=watch).run(rid)
    record = await store.load(rid)
    assert record.state.phase in (Phase.PROGRESSING, Phase.FAILED)
    assert not record.state.shifted
    events = await store.events(rid)
    alarms = [e for e in events if e.kind == "alarm"]
    assert alarms and "fake router unreachable" in alarms[0].message
    failed = [e for e in events if e.kind == "action_failed"]  # once, not once per try or pass
    assert len(failed) == 1 and "(4 tries)" in failed[0].message, failed


class FullDisk(SQLiteStore):
    """A store whose writes start failing as a full disk makes them fail."""

    full = False

    async def add_measurement(self, rollout_id: str, m: object) -> None:  # type: ignore[override]
        if self.full:
            raise StateError("state database error: database or disk is full")
        await super().add_measurement(rollout_id, m)  # type: ignore[arg-type]


async def test_a_controller_that_cannot_record_puts_traffic_on_stable_then_resumes_paused(
    tmp_path: Path,
) -> None:
    """Issue #10.5: the controller exited on a full disk and left the canary exposed."""
    clock = FakeClock()
    store = FullDisk(tmp_path / "g.db")
    providers, router, _ = world(clock)
    rid = await new_rollout(store, PLAN, clock)

    def fill(view: PassView) -> None:
        if view.state.desired.canary_weight >= 50:
            store.full = True

    with pytest.raises(StateError, match=r"100% of traffic is on stable \(verified"):
        await Runner(PLAN, store, providers, clock, on_pass=fill).run(rid)
    assert router.served == Split.all_stable()
    assert (await store.load(rid)).state.desired == Split(50.0), "the record was not written"
    store.full = False
    clock.advance(5)
    passes = 0

    def look(view: PassView) -> None:
        nonlocal passes
        passes += 1
        assert view.state.phase is Phase.PAUSED, [e.message for e in view.events]
        assert router.served == Split.all_stable(), "the canary was re-exposed on its own"
        if passes == 10:
            raise Crash

    with pytest.raises(Crash):
        await Runner(PLAN, store, providers, clock, on_pass=look).run(rid)
    record = await store.load(rid)
    assert record.state.pause_kind is PauseKind.FAILSAFE
    assert record.state.held == Split(50.0)
    await store.add_command(rid, CommandVerb.RESUME, "ann", "checked", clock.now(), "token")
    final = await Runner(PLAN, store, providers, clock).run(rid)
    assert final.phase is Phase.PROMOTED
    kinds = [e.kind for e in await store.events(rid)]
    assert "failsafe" in kinds


class Killed(BaseException):
    """The controller dies (kill -9) in the middle of the canary's drain."""


class DiesWhileDraining(ScriptedMetrics):
    armed = True

    async def in_flight(self, revision: Revision) -> int:
        if self.armed:
            self.armed = False
            raise Killed
        return await super().in_flight(revision)


async def test_a_controller_killed_while_draining_leaves_the_retirement_on_record(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    store = SQLiteStore(tmp_path / "g.db")
    router, deployer = FakeRouter(lag=1), FakeDeployer(ready_after=2)
    metrics = DiesWhileDraining(clock, router, rps=200, stable_error=0.01, canary_error=0.2)
    providers = Providers(router, metrics, deployer, passing_check, router.start, noop)
    rid = await new_rollout(store, PLAN, clock)
    with pytest.raises(Killed):
        await Runner(PLAN, store, providers, clock).run(rid)
    record = await store.load(rid)
    assert record.state.phase is Phase.ROLLED_BACK
    assert record.state.retiring == (Revision.CANARY,) and deployer.retired == []
    assert [r.id for r in await store.retiring(PLAN.service)] == [rid]
    final = await Runner(PLAN, store, providers, clock).run(rid)
    assert final.phase is Phase.ROLLED_BACK and final.settled
    assert deployer.retired == [Revision.CANARY]
    assert (await store.load(rid)).state.retiring == () and await store.retiring() == []
    kinds = [e.kind for e in await store.events(rid)]
    assert kinds.count("rolled_back") == 1 and kinds[-1] == "retired"


async def test_a_promotion_leaves_a_stable_golive_did_not_start_running(tmp_path: Path) -> None:
    clock = FakeClock()
    store = SQLiteStore(tmp_path / "g.db")
    providers, _, deployer = world(clock)
    rid = await new_rollout(store, PLAN, clock)
    final = await Runner(PLAN, store, providers, clock).run(rid)
    assert final.phase is Phase.PROMOTED and final.settled
    assert deployer.retired == [] and Revision.STABLE in deployer.running
    assert "retire_skipped" not in [e.kind for e in await store.events(rid)]


async def test_an_ended_rollout_whose_router_stays_unreadable_gives_its_retirement_up(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    store = SQLiteStore(tmp_path / "g.db")
    router, deployer = FakeRouter(lag=1), FakeDeployer(ready_after=2)
    metrics = DiesWhileDraining(clock, router, rps=200, stable_error=0.01, canary_error=0.2)
    providers = Providers(router, metrics, deployer, passing_check, router.start, noop)
    rid = await new_rollout(store, PLAN, clock)
    with pytest.raises(Killed):
        await Runner(PLAN, store, providers, clock).run(rid)
    router.unreachable = True
    final = await Runner(PLAN, store, providers, clock).run(rid)  # bounded: it returns
    assert final.settled and deployer.retired == [], "stopped without the split read back"
    skipped = [e for e in await store.events(rid) if e.kind == "retire_skipped"]
    assert skipped[-1].message == (
        "canary not stopped: the router did not serve the final split within 120s; "
        "golive down stops it"
    )


class FailedOver(ScriptedMetrics):
    """A proxy that reads back 50% but sends nearly everything to the canary (nginx marking
    the stable server down on its own): its counters say so, its configuration does not."""

    def _tick(self) -> None:
        dt = self.clock.now() - self._last
        self._last = self.clock.now()
        w = self.router.served.canary_weight / 100.0
        w = 0.95 if w >= 0.5 and self.router.served.segment is None else w
        for rev, share in ((Revision.STABLE, 1 - w), (Revision.CANARY, w)):
            self.counts[rev][0] += self.rps * dt * share


async def test_a_proxy_serving_another_split_than_the_one_set_is_an_alarm_and_a_rollback(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    store = SQLiteStore(tmp_path / "g.db")
    router, deployer = FakeRouter(lag=1), FakeDeployer(ready_after=2)
    metrics = FailedOver(clock, router, rps=200)
    providers = Providers(router, metrics, deployer, passing_check, router.start, noop)
    rid = await new_rollout(store, PLAN, clock)
    final = await Runner(PLAN, store, providers, clock).run(rid)
    assert final.phase is Phase.ROLLED_BACK and router.served == Split.all_stable()
    events = await store.events(rid)
    kinds = [e.kind for e in events]
    assert kinds.index("split_alarm") < kinds.index("rollback_started")
    alarm = events[kinds.index("split_alarm")].message
    assert alarm.startswith("split alarm: the canary served ") and "% was set" in alarm
    assert "split alarm" in final.reason
    unchecked = [e.message for e in events if e.kind == "split_unchecked"]
    assert unchecked == [
        "split check: not done while a header segment is set (header x-beta-user): who is sent "
        "to the canary depends on who sends what, so the share to expect is unknown"
    ]
