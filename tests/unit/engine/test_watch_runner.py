"""The watch window through the reconcile loop (fakes, a real SQLite store, the fake clock):
the window ends promoted without waiting for keep_previous, a later controller retires the
previous revision once it is due, and a rollback in the window redeploys a previous revision
that is gone before traffic goes back to it."""

from __future__ import annotations

import asyncio
from pathlib import Path

from golive.core.actions import PassView
from golive.core.state import CommandVerb, Phase
from golive.engine.runner import Runner
from golive.plan.loader import parse_plan
from golive.plan.model import Revision, Split
from golive.store.sqlite import SQLiteStore
from golive.testing import FakeClock
from tests.unit.engine.test_runner import new_rollout, world
from tests.unit.engine.test_watch import WATCHED

PLAN = parse_plan(
    WATCHED.replace("watch: 6h", "watch: 2m")
    .replace("keep_previous: 48h", "keep_previous: 10m")
    .replace("[{for: 2h, every: 5m}, {for: 4h, every: 15m}, {every: 1h}]", "[{every: 30s}]"),
    "plan.yaml",
)


async def test_the_window_ends_promoted_and_a_later_controller_retires_the_previous(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    store = SQLiteStore(tmp_path / "g.db")
    providers, router, deployer = world(clock)
    deployer.started.add(Revision.STABLE)  # golive runs the previous revision
    rid = await new_rollout(store, PLAN, clock)
    final = await Runner(PLAN, store, providers, clock).run(rid)
    assert final.phase is Phase.PROMOTED and final.retiring == (Revision.STABLE,)
    assert final.keep_until is not None and clock.now() < final.keep_until  # did not wait
    assert router.served == Split(100.0) and deployer.retired == []
    kinds = [e.kind for e in await store.events(rid)]
    assert kinds.count("watch_started") == 1 and kinds[-1] == "promoted"
    assert kinds.count("watch_checked") == 4  # every 30s for 2 minutes
    again = await Runner(PLAN, store, providers, clock).run(rid)  # not due yet: nothing done
    assert again.retiring == (Revision.STABLE,) and deployer.retired == []
    clock.advance(final.keep_until - clock.now() + 1)
    router.unreachable = True  # the router is not needed: the previous is out of the route
    done = await Runner(PLAN, store, providers, clock).run(rid)
    assert done.settled and deployer.retired == [Revision.STABLE]


async def test_a_rollback_in_the_window_redeploys_a_previous_that_is_gone(tmp_path: Path) -> None:
    clock = FakeClock()
    store = SQLiteStore(tmp_path / "g.db")
    providers, router, deployer = world(clock)
    rid = await new_rollout(store, PLAN, clock)
    tasks: list[asyncio.Task[None]] = []

    def on_pass(view: PassView) -> None:  # another terminal, once the window is open
        if view.state.watching and not tasks:
            deployer.running.pop(Revision.STABLE)  # killed -9 during the window
            ask = store.add_command(rid, CommandVerb.ROLLBACK, "alice", "tickets", clock.now())
            tasks.append(asyncio.get_running_loop().create_task(ask))

    runner = Runner(PLAN, store, providers, clock, on_pass)
    final = await runner.run(rid)
    assert final.phase is Phase.ROLLED_BACK, final.reason
    assert router.served == Split.all_stable()
    assert Revision.STABLE in deployer.started  # deployed again
    kinds = [e.kind for e in await store.events(rid)]
    assert kinds.index("redeploying") < kinds.index("traffic_safe") < kinds.index("rolled_back")
