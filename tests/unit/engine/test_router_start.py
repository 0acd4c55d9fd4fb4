"""A router that cannot start: the rollout still ends (or says why it cannot), never hangs on."""

from __future__ import annotations

from pathlib import Path

import pytest

from golive.core.state import CommandVerb, Phase, RolloutId, RolloutState
from golive.engine import takeover as runner
from golive.engine.runner import Runner
from golive.errors import PermanentError
from golive.plan.model import Revision, Split
from golive.store.records import RolloutRecord
from golive.store.sqlite import SQLiteStore
from golive.testing import FakeClock, FakeRouter
from tests.unit.engine.test_runner import PLAN, world


class DeadRouter(FakeRouter):
    """A proxy that does not start (its port taken) for its first ``failures`` starts."""

    def __init__(self, failures: int = 10**6) -> None:
        super().__init__()
        self.failures = failures
        self.starts = 0

    async def start(self, initial: Split) -> bool:
        self.starts += 1
        if self.starts <= self.failures:
            raise PermanentError("Envoy did not start on 127.0.0.1:8080: address in use")
        return True


async def rollout(store: SQLiteStore, clock: FakeClock, shifted: bool) -> str:
    now = clock.now()
    desired = Split(50.0) if shifted else Split.all_stable()
    state = RolloutState(RolloutId("r1"), Phase.PROGRESSING, 2, now, desired, now, shifted)
    record = RolloutRecord(
        RolloutId("r1"), PLAN.service, "plan.yaml", PLAN.digest, PLAN.text, state, 1, now, now, None
    )
    await store.create(record, [], now)
    return "r1"


async def test_an_abort_ends_a_rollout_whose_router_cannot_start_before_any_shift(
    tmp_path: Path,
) -> None:
    clock, store = FakeClock(), SQLiteStore(tmp_path / "g.db")
    router = DeadRouter()
    providers, _, deployer = world(clock, router=router)
    rid = await rollout(store, clock, shifted=False)
    await store.add_command(rid, CommandVerb.ABORT, "cli", "", clock.now())
    final = await Runner(PLAN, store, providers, clock).run(rid)
    assert final.phase is Phase.ABORTED
    assert final.reason == "abort requested by cli"
    assert deployer.retired == []  # nothing was started, so nothing is stopped
    assert await store.pending_commands(rid) == []
    messages = [e.message for e in await store.events(rid)]
    assert "router: cannot start: Envoy did not start on 127.0.0.1:8080: address in use" in messages
    assert router.starts == 1 and router.applied == []


async def test_without_a_command_a_rollout_whose_router_cannot_start_fails_with_the_reason(
    tmp_path: Path,
) -> None:
    clock, store = FakeClock(), SQLiteStore(tmp_path / "g.db")
    providers, _, _ = world(clock, router=DeadRouter())
    rid = await rollout(store, clock, shifted=False)
    final = await Runner(PLAN, store, providers, clock).run(rid)
    assert final.phase is Phase.FAILED
    assert final.reason == (
        "the router cannot start: Envoy did not start on 127.0.0.1:8080: address in use"
    )
    assert (await store.load(rid)).state == final


async def test_after_a_shift_golive_keeps_trying_the_router_and_then_carries_on(
    tmp_path: Path,
) -> None:
    clock, store = FakeClock(), SQLiteStore(tmp_path / "g.db")
    router = DeadRouter(failures=3)
    providers, _, deployer = world(clock, router=router)
    await deployer.ensure(Revision.CANARY)  # deployed before the controller died
    rid = await rollout(store, clock, shifted=True)
    final = await Runner(PLAN, store, providers, clock).run(rid)
    assert router.starts == 4
    assert final.phase is Phase.PROMOTED
    kinds = [e.kind for e in await store.events(rid)]
    assert kinds[:2] == ["alarm", "router_started"]


async def test_after_a_shift_a_router_that_never_starts_leaves_the_rollout_as_it_is_and_says_so(
    tmp_path: Path,
) -> None:
    clock, store = FakeClock(), SQLiteStore(tmp_path / "g.db")
    router = DeadRouter()
    providers, _, _ = world(clock, router=router)
    rid = await rollout(store, clock, shifted=True)
    before = (await store.load(rid)).state
    t0 = clock.now()
    with pytest.raises(PermanentError, match="Traffic may be on the canary") as info:
        await Runner(PLAN, store, providers, clock).run(rid)
    assert "'golive rollback r1'" in str(info.value)
    assert router.starts == 1 + len(runner.ROUTER_RETRIES)
    assert clock.now() - t0 == sum(runner.ROUTER_RETRIES)
    record = await store.load(rid)
    assert record.state == before  # traffic may be on the canary: untouched
    assert record.lease_owner is None  # released: 'golive resume' can take it at once
    alarms = [e for e in await store.events(rid) if e.kind == "alarm"]
    assert len(alarms) == 1 and "stays progressing" in alarms[0].message


async def test_a_rollback_of_a_rollout_whose_router_cannot_start_before_any_shift_fails_it(
    tmp_path: Path,
) -> None:
    clock, store = FakeClock(), SQLiteStore(tmp_path / "g.db")
    providers, _, _ = world(clock, router=DeadRouter())
    rid = await rollout(store, clock, shifted=False)
    await store.add_command(rid, CommandVerb.ROLLBACK, "cli", "bad build", clock.now())
    final = await Runner(PLAN, store, providers, clock).run(rid)
    assert (final.phase, final.reason) == (Phase.FAILED, "bad build")
