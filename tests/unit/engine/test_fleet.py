"""A fleet of proxies is driven as one router: all confirm, or the step holds."""

from __future__ import annotations

from pathlib import Path

import pytest

from golive.analysis.snapshot import Snapshot
from golive.core.state import Phase
from golive.engine.providers import Providers
from golive.engine.runner import Runner
from golive.errors import PermanentError, TransientError
from golive.metrics.fleet import FleetStats
from golive.plan.model import Revision, Split
from golive.store.sqlite import SQLiteStore
from golive.testing import FakeClock, FakeDeployer, FakeRouter, ScriptedMetrics, passing_check
from golive.traffic.base import Verification
from golive.traffic.fleet import FleetRouter
from tests.unit.engine.test_runner import PLAN, new_rollout, noop


async def test_a_split_is_served_only_when_every_proxy_serves_it() -> None:
    a, b = FakeRouter(), FakeRouter(lag=3)
    fleet = FleetRouter([a, b], ["a", "b"])
    await fleet.apply(Split(5.0))
    with pytest.raises(TransientError, match="disagree"):
        await fleet.observe()
    assert await fleet.verify(Split(5.0)) is Verification.PENDING
    assert await fleet.verify(Split(5.0)) is Verification.VERIFIED
    b.unreachable = True
    with pytest.raises(TransientError, match="proxy b of the fleet"):
        await fleet.observe()
    with pytest.raises(TransientError, match="not applied on every proxy: b"):
        await fleet.apply(Split(25.0))


async def test_a_split_one_proxy_refuses_is_a_permanent_failure_of_the_fleet() -> None:
    a, b = FakeRouter(), FakeRouter()
    b.refusing = True
    with pytest.raises(PermanentError, match="not applied on every proxy: b: fake router refused"):
        await FleetRouter([a, b], ["a", "b"]).apply(Split(25.0))


class Counting:
    def __init__(self, values: list[int]) -> None:
        self.values = values

    async def sample(self, revision: Revision) -> Snapshot:
        return Snapshot(self.values.pop(0), 0)

    async def in_flight(self, revision: Revision) -> int:
        return 1


async def test_fleet_counters_survive_one_proxy_restarting() -> None:
    stats = FleetStats([Counting([100, 150, 20]), Counting([200, 260, 300])])
    assert (await stats.sample(Revision.CANARY)).requests == 300
    assert (await stats.sample(Revision.CANARY)).requests == 410
    assert (await stats.sample(Revision.CANARY)).requests == 470  # +20 after a's restart, +40
    assert await stats.in_flight(Revision.CANARY) == 2


async def test_an_unreachable_proxy_holds_the_rollout_then_it_completes(tmp_path: Path) -> None:
    clock = FakeClock()
    store = SQLiteStore(tmp_path / "g.db")
    a, b = FakeRouter(lag=1), FakeRouter(lag=1)
    fleet = FleetRouter([a, b], ["a", "b"])
    metrics = ScriptedMetrics(clock, a, rps=200, stable_error=0.01)
    providers = Providers(fleet, metrics, FakeDeployer(ready_after=2), passing_check, a.start, noop)
    rid = await new_rollout(store, PLAN, clock)
    start = clock.now()

    def outage(view: object) -> None:
        # proxy b is down for 22s, mid-rollout: less than a shift may take (in time, not in
        # passes: a pass that retries a write with backoff lasts longer than one that does not)
        b.unreachable = 4 <= clock.now() - start < 26

    final = await Runner(PLAN, store, providers, clock, on_pass=outage).run(rid)
    assert final.phase is Phase.PROMOTED
    assert a.served == b.served == Split(100.0)
    events = await store.events(rid)
    assert any(e.kind == "alarm" and "proxy b of the fleet" in e.message for e in events)
