"""The server's controller on an in-memory store, with the drive replaced by a recorder: which
rollouts get a task, when, and that stopping lets every one go."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from pathlib import Path

import pytest

from golive.core.state import Phase, RolloutState
from golive.errors import LeaseError
from golive.identity import Identity
from golive.operations import rollouts
from golive.plan.loader import parse_plan
from golive.plan.model import Revision
from golive.server import controller as controller_module
from golive.server.controller import Controller
from golive.store.leases import owner_id
from golive.testing import MemoryStore

PLAN = """\
service: %s
revisions:
  stable: {version: 1.0.0, url: "http://127.0.0.1:9001"}
  canary: {version: 2.0.0, url: "http://127.0.0.1:9002"}
steps:
  - shift: 10
  - promote
"""
WHO = Identity("olga", ("operator",), "token")


class Recorder:
    def __init__(self, fail: BaseException | None = None) -> None:
        self.started: list[str] = []
        self.cancelled: list[str] = []
        self.fail = fail
        self.release = asyncio.Event()

    async def __call__(self, store: object, record: object, plan: object, state_dir: Path,
                       on_pass: object, clock: object = None) -> RolloutState:  # fmt: skip
        rid = record.id  # type: ignore[attr-defined]
        self.started.append(rid)
        if self.fail is not None:
            raise self.fail
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled.append(rid)
            raise
        return record.state  # type: ignore[attr-defined, no-any-return]


async def start(store: MemoryStore, service: str) -> str:
    plan = parse_plan(PLAN % service, "plan.yaml")
    record = await rollouts.start_or_continue(store, plan, WHO, time.time(), lambda s: None)
    return record.id


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    found = Recorder()
    monkeypatch.setattr(controller_module.rollouts, "drive", found)
    return found


async def test_each_active_rollout_gets_one_task_however_many_scans(
    recorder: Recorder, tmp_path: Path
) -> None:
    store = MemoryStore()
    ids = [await start(store, s) for s in ("shop", "cart")]
    ctl = Controller(store, tmp_path)
    for _ in range(5):
        await ctl.scan()
        await asyncio.sleep(0)
    assert sorted(recorder.started) == sorted(ids) and ctl.driving == sorted(ids)
    await ctl.stop()
    assert sorted(recorder.cancelled) == sorted(ids)


async def test_a_rollout_a_live_process_drives_is_shown_not_driven(
    recorder: Recorder, tmp_path: Path
) -> None:
    store = MemoryStore()
    rid = await start(store, "shop")
    await store.acquire_lease(rid, owner_id(1), 30.0, time.time())  # pid 1: always alive
    ctl = Controller(store, tmp_path)
    await ctl.scan()
    await asyncio.sleep(0)
    assert recorder.started == [] and ctl.driving == []
    await store.release_lease(rid, owner_id(1))  # its terminal exited
    await ctl.scan()
    await asyncio.sleep(0)
    assert recorder.started == [rid]
    await ctl.stop()


async def test_a_lease_lost_to_another_server_is_tried_again_later_not_at_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    recorder = Recorder(fail=LeaseError("rollout is driven by host:123"))
    monkeypatch.setattr(controller_module.rollouts, "drive", recorder)
    store = MemoryStore()
    await start(store, "shop")
    ctl = Controller(store, tmp_path)
    for _ in range(3):
        await ctl.scan()
        for _ in range(3):
            await asyncio.sleep(0)
    assert len(recorder.started) == 1 and ctl.driving == []


async def test_every_active_rollout_is_driven_not_only_the_newest_500(
    recorder: Recorder, tmp_path: Path
) -> None:
    """Found by ``scripts/bench serve``: the scan read the newest 500 rollouts, so with 1,000
    active the oldest 500 were never driven. It reads the active ones, all of them."""
    store = MemoryStore()
    ids = [await start(store, f"svc-{n}") for n in range(520)]
    ctl = Controller(store, tmp_path)
    await ctl.scan()
    await asyncio.sleep(0)
    assert ctl.driving == sorted(ids)
    await ctl.stop()


async def test_the_sqlite_store_lists_its_active_rollouts_oldest_first(tmp_path: Path) -> None:
    from golive.store.sqlite import SQLiteStore

    store = SQLiteStore(tmp_path / "g.db")
    try:
        plans = [parse_plan(PLAN % s, "plan.yaml") for s in ("a1", "b2", "c3")]
        ids = []
        for plan in plans:
            record = await rollouts.start_or_continue(store, plan, WHO, time.time(), lambda s: None)
            ids.append(record.id)
        found = await store.active()
        assert [r.id for r in found if not isinstance(r, Exception)] == ids
    finally:
        store.close()


async def test_a_wake_naming_a_rollout_cuts_its_runners_pause_short(tmp_path: Path) -> None:
    clocks: dict[str, object] = {}

    async def drive(store: object, record: object, plan: object, state_dir: Path,
                    on_pass: object, clock: object = None) -> RolloutState:  # fmt: skip
        clocks[record.id] = clock  # type: ignore[attr-defined]
        await clock.sleep(60)  # type: ignore[attr-defined]
        return record.state  # type: ignore[attr-defined, no-any-return]

    store = MemoryStore()
    rid = await start(store, "shop")
    ctl = Controller(store, tmp_path)
    original, controller_module.rollouts.drive = controller_module.rollouts.drive, drive  # type: ignore[assignment]
    try:
        await ctl.scan()
        await asyncio.sleep(0.01)
        assert rid in clocks and ctl.driving == [rid]
        ctl.wake(rid)
        await asyncio.wait_for(asyncio.gather(*ctl.tasks.values()), 5)  # not 60 s
        assert ctl.driving == []
    finally:
        controller_module.rollouts.drive = original  # type: ignore[assignment]
        await ctl.stop()


async def test_a_kept_previous_revision_is_driven_only_once_it_is_due(
    recorder: Recorder, tmp_path: Path
) -> None:
    """A promoted rollout whose watch window keeps the previous revision: the controller
    leaves it alone until ``keep_until``, then drives it (which retires it)."""
    store = MemoryStore()
    rid = await start(store, "shop")
    record = await store.load(rid)
    kept = dataclasses.replace(
        record.state, phase=Phase.PROMOTED, retiring=(Revision.STABLE,),
        watch_until=time.time() - 1, keep_until=time.time() + 3600,
    )  # fmt: skip
    version = await store.commit(kept, [], record.version, time.time())
    ctl = Controller(store, tmp_path)
    await ctl.scan()
    await asyncio.sleep(0)
    assert recorder.started == [] and ctl.driving == []
    due = dataclasses.replace(kept, keep_until=time.time() - 1)
    await store.commit(due, [], version, time.time())
    await ctl.scan()
    await asyncio.sleep(0)
    assert recorder.started == [rid]
    await ctl.stop()


async def test_a_command_through_the_api_retries_a_rollout_that_stopped_on_an_error_at_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Found by trying a full disk under 'golive serve': the drive stopped on the store's
    error (retry in 30 s); once space was freed an operator's abort answered 202 and was
    acted on only 28 s later. A command that names the rollout is a reason to try it now
    (not a tampered one: that one is never driven)."""
    from golive.errors import StateError

    recorder = Recorder(fail=StateError("state database error: database or disk is full"))
    monkeypatch.setattr(controller_module.rollouts, "drive", recorder)
    store = MemoryStore()
    rid = await start(store, "shop")
    ctl = Controller(store, tmp_path)
    await ctl.scan()
    for _ in range(3):
        await asyncio.sleep(0)
    assert recorder.started == [rid] and ctl.driving == []
    await ctl.scan()
    await asyncio.sleep(0)
    assert recorder.started == [rid]  # not in a loop: later
    ctl.wake("shop-other")  # another rollout's command changes nothing for this one
    await ctl.scan()
    await asyncio.sleep(0)
    assert recorder.started == [rid]
    ctl.wake(rid)  # the operator's abort, resume or rollback of this one
    await ctl.scan()
    for _ in range(3):
        await asyncio.sleep(0)
    assert recorder.started == [rid, rid]
