"""The Store contract, shared by the SQLite store (a file in tmp_path) and the MemoryStore.

What is the SQLite store's alone (the seal, the audit of an edited row, the schema's
migrations, processes racing on one file) stays in tests/unit/store/.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from golive.analysis.snapshot import Snapshot
from golive.core.state import (
    CommandVerb,
    Confirmation,
    Event,
    Phase,
    RolloutId,
    RolloutState,
    Signoff,
)
from golive.engine.runner import Runner
from golive.errors import (
    ActiveRolloutError,
    AuthorizationError,
    ConflictError,
    LeaseError,
    StateError,
)
from golive.identity import Identity
from golive.notify.notice import Delivery, Notice, Outcome
from golive.operations import signoffs, tokens
from golive.plan.model import Revision, Split
from golive.store.audit import Verdict
from golive.store.base import Store
from golive.store.leases import owner_id
from golive.store.records import RolloutRecord
from golive.store.sqlite import SQLiteStore
from golive.testing import FakeClock, MemoryStore
from tests.unit.engine.test_runner import PLAN as RUNNER_PLAN
from tests.unit.engine.test_runner import new_rollout, world

PLAN = """\
service: svc
revisions:
  stable: {version: 1.0.0, url: "http://127.0.0.1:9001"}
  canary: {version: 2.0.0, url: "http://127.0.0.1:9002"}
approvals:
  go: {roles: [release-manager, tech-lead]}
steps:
  - approve: go
  - promote
"""
ME, LIVE, DEAD = owner_id(os.getpid()), owner_id(1), owner_id(2**22 + 7)  # pid 1 lives


@pytest.fixture(params=["sqlite", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    subject: Store = SQLiteStore(tmp_path / "g.db") if request.param == "sqlite" else MemoryStore()
    yield subject
    subject.close()


def state(rid: str = "svc-1", **changes: object) -> RolloutState:
    st = RolloutState(RolloutId(rid), Phase.PROGRESSING, 0, 1.0, Split.all_stable(), 1.0)
    return dataclasses.replace(st, **changes)  # type: ignore[arg-type]


async def create(store: Store, rid: str = "svc-1", service: str = "svc", at: float = 1.0,
                 **changes: object) -> RolloutState:  # fmt: skip
    st = state(rid, **changes)
    record = RolloutRecord(st.id, service, "p.yaml", "d", PLAN, st, 1, at, at, None)
    await store.create(record, [Event("rollout_started", "go")], at)
    return st


# -- rollouts --------------------------------------------------------------------------------


async def test_commit_is_optimistic(store: Store) -> None:
    st = await create(store)
    assert await store.commit(dataclasses.replace(st, step=1), [Event("a", "b")], 1, 2.0) == 2
    with pytest.raises(ConflictError):
        await store.commit(dataclasses.replace(st, step=2), [Event("lost", "x")], 1, 3.0)
    record = await store.load("svc-1")
    assert record.state.step == 1 and record.version == 2
    assert [e.kind for e in await store.events("svc-1")] == ["rollout_started", "a"]


async def test_a_commit_by_someone_not_holding_the_lease_is_refused(store: Store) -> None:
    st = await create(store)
    await store.acquire_lease("svc-1", LIVE, 30, 1.0)
    with pytest.raises(LeaseError, match="driven by"):
        await store.commit(st, [], 1, 2.0, owner=ME)
    assert (await store.load("svc-1")).version == 1
    assert await store.commit(st, [], 1, 2.0, owner=LIVE) == 2


async def test_state_round_trips_and_ids_resolve_by_prefix(store: Store) -> None:
    st = await create(store, shifted=True, started_by="alice")
    record = await store.load("svc-")
    assert record.state == st and record.service == "svc" and record.version == 1
    with pytest.raises(StateError, match="no rollout 'zzzz'"):
        await store.load("zzzz")


async def test_ids_match_exactly_or_by_a_prefix_of_four_characters_never_a_pattern(
    store: Store,
) -> None:
    """Issue #12.5: `golive abort ""`, `%` and `_` selected a rollout (an unescaped LIKE)."""
    await create(store)
    for given in ("", "%", "_", "s", "sv%", "svc_1", "%-1"):
        with pytest.raises(StateError, match="no rollout"):
            await store.load(given)
    assert (await store.load("svc-")).id == "svc-1"


async def test_a_prefix_of_two_rollouts_selects_neither(store: Store) -> None:
    await create(store, "svc-1", at=1.0, phase=Phase.PROMOTED)
    await create(store, "svc-2", at=2.0)
    with pytest.raises(StateError, match="matches 2 rollouts"):
        await store.load("svc-")
    assert [r.id for r in await store.recent() if isinstance(r, RolloutRecord)] == [
        "svc-2",
        "svc-1",
    ]


async def test_the_latest_rollouts_of_a_service_however_many_others_came_since(
    store: Store,
) -> None:
    await create(store, "old-1", service="old", at=1.0, phase=Phase.PROMOTED)
    for n in range(250):
        await create(store, f"busy-{n}", service="busy", at=2.0 + n, phase=Phase.PROMOTED)
    assert "old-1" not in [r.id for r in await store.recent(200) if isinstance(r, RolloutRecord)]
    assert [r.id for r in await store.recent(5, "old") if isinstance(r, RolloutRecord)] == ["old-1"]
    assert len(await store.recent(3, "busy")) == 3
    assert await store.recent(5, "nobody") == []


async def test_a_service_has_one_active_rollout_at_a_time(store: Store) -> None:
    await create(store, "svc-1")
    with pytest.raises(ActiveRolloutError, match="already has an active rollout svc-1"):
        await create(store, "svc-2")
    await create(store, "other-1", service="other")
    assert [r.id for r in await store.active_for_service("svc")] == ["svc-1"]
    st = (await store.load("svc-1")).state
    await store.commit(dataclasses.replace(st, phase=Phase.ROLLED_BACK), [], 1, 2.0)
    assert await store.active_for_service("svc") == []
    await create(store, "svc-2", at=3.0)


async def test_ended_rollouts_with_a_pending_retirement_are_listed(store: Store) -> None:
    st = await create(store)
    assert await store.retiring() == []
    ended = dataclasses.replace(st, phase=Phase.PROMOTED, retiring=(Revision.STABLE,))
    await store.commit(ended, [], 1, 2.0)
    assert [r.id for r in await store.retiring("svc")] == ["svc-1"]
    assert await store.retiring("other") == []
    await store.commit(dataclasses.replace(ended, retiring=()), [], 2, 3.0)
    assert await store.retiring() == []


async def test_events_are_chained_and_read_after_a_sequence_number(store: Store) -> None:
    st = await create(store)
    await store.commit(st, [Event("x", "one"), Event("y", "two", {"k": (1, 2)})], 1, 2.0)
    events = await store.events("svc-1")
    assert [e.kind for e in events] == ["rollout_started", "x", "y"]
    assert events[2].data == {"k": [1, 2]}  # as JSON gives it back
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(events))
    assert [e.kind for e in await store.events("svc-1", after=events[1].seq)] == ["y"]
    assert (await store.audit("svc-1")).verdict is Verdict.INTACT


async def test_a_note_joins_the_journal_without_touching_state_or_version(store: Store) -> None:
    st = await create(store)
    await store.note("svc-1", Event("api_request", "pause refused", {"from": "127.0.0.1"}), 2.0)
    record = await store.load("svc-1")
    assert record.version == 1 and record.state == st
    events = await store.events("svc-1")
    assert events[-1].kind == "api_request" and events[-1].data == {"from": "127.0.0.1"}
    assert events[-1].prev_hash == events[-2].hash
    await store.commit(st, [Event("x", "after")], 1, 3.0)  # the controller's commit still fits
    assert (await store.audit("svc-1")).verdict is Verdict.INTACT
    with pytest.raises(StateError):
        await store.note("nope-1", Event("x", "y"), 1.0)


async def test_the_stored_plan_is_the_one_the_rollout_was_created_with(store: Store) -> None:
    await create(store)
    record = await store.load("svc-1")
    assert store.plan_matches(record, PLAN) and not store.plan_matches(record, PLAN + "# x\n")
    assert store.load_plan(record).service == "svc"


async def test_measurements_are_replayed_in_time_order(store: Store) -> None:
    await create(store)
    a, b = Snapshot(10, 1, {0.1: 5, float("inf"): 10}), Snapshot(20, 0, {float("inf"): 20})
    await store.add_measurement("svc-1", (5.0, 10.0, b, a))
    await store.add_measurement("svc-1", (3.0, 5.0, a, b))
    assert await store.measurements("svc-1") == [(3.0, 5.0, a, b), (5.0, 10.0, b, a)]


# -- commands, sign-offs, confirmations ------------------------------------------------------


async def test_commands_are_pending_until_a_commit_consumes_them(store: Store) -> None:
    st = await create(store)
    await store.add_command("svc-1", CommandVerb.PAUSE, "ann", "lunch", 2.0, "token", 0, None)
    pending = await store.pending_commands("svc-1")
    assert [(c.verb, c.by, c.reason, c.step) for c in pending] == [
        (CommandVerb.PAUSE, "ann", "lunch", 0)
    ]
    assert (await store.events("svc-1"))[-1].message == "pause requested by ann (token): lunch"
    with pytest.raises(ConflictError):  # a lost commit consumes nothing
        await store.commit(st, [], 7, 3.0, consumed=[pending[0].id])
    assert len(await store.pending_commands("svc-1")) == 1
    await store.commit(st, [], 1, 3.0, consumed=[pending[0].id])
    assert await store.pending_commands("svc-1") == []


def signoff(role: str, by: str = "bob", approve: bool = True) -> Signoff:
    return Signoff(0, "2.0.0", "go", role, by, approve, "", 2.0, "token")


async def test_one_sign_off_per_role_and_the_guard_refuses_in_the_same_write(
    store: Store,
) -> None:
    await create(store)
    await store.add_signoff("svc-1", signoff("tech-lead"), Event("signoff", "tl"))
    with pytest.raises(StateError, match="tech-lead sign-off for this step is already recorded"):
        await store.add_signoff("svc-1", signoff("tech-lead", "eve"), Event("signoff", "again"))
    seen: list[list[Signoff]] = []

    def guard(recorded: list[Signoff]) -> None:
        seen.append(recorded)
        raise AuthorizationError("no")

    with pytest.raises(AuthorizationError):
        await store.add_signoff("svc-1", signoff("release-manager"), Event("s", "rm"), guard)
    assert seen == [[signoff("tech-lead")]]
    assert await store.signoffs("svc-1") == [signoff("tech-lead")]
    assert [e.kind for e in await store.events("svc-1")] == ["rollout_started", "signoff"]


async def test_two_sign_offs_by_the_starter_at_once_never_both_count(store: Store) -> None:
    """Separation of duties, checked in the write: the second sign-off sees the first."""
    await create(store, started_by="alice")
    alice = Identity("alice", ("release-manager", "tech-lead"), "identity file")

    async def sign(role: str) -> str:
        try:
            await signoffs.sign(store, "svc-1", role, True, "", None, alice, 2.0)
        except AuthorizationError as exc:
            return str(exc)
        return "recorded"

    results = sorted(await asyncio.gather(sign("release-manager"), sign("tech-lead")))
    assert results[0] == "recorded" and "separation of duties" in results[1], results
    assert len(await store.signoffs("svc-1")) == 1


async def test_an_item_is_confirmed_once(store: Store) -> None:
    await create(store)
    first = Confirmation("backup", "dba", "carol", "done", 2.0)
    await store.add_confirmation("svc-1", first, Event("confirmed", "backup"))
    with pytest.raises(StateError, match="'backup' is already confirmed"):
        await store.add_confirmation("svc-1", dataclasses.replace(first, by="dan"), Event("c", ""))
    assert await store.confirmations("svc-1") == [first]


# -- leases ----------------------------------------------------------------------------------


async def test_lease_is_exclusive_but_a_dead_owner_frees_it(store: Store) -> None:
    await create(store)
    await store.acquire_lease("svc-1", ME, 30, 10.0)
    with pytest.raises(LeaseError):
        await store.acquire_lease("svc-1", LIVE, 30, 11.0)
    await store.release_lease("svc-1", LIVE)  # not its lease: nothing happens
    with pytest.raises(LeaseError):
        await store.acquire_lease("svc-1", LIVE, 30, 11.0)
    await store.release_lease("svc-1", ME)
    await store.acquire_lease("svc-1", DEAD, 30, 12.0)
    await store.acquire_lease("svc-1", ME, 30, 13.0)  # the dead owner's lease is free at once
    assert (await store.load("svc-1")).lease_owner == ME


async def test_an_expired_lease_is_free(store: Store) -> None:
    await create(store)
    await store.acquire_lease("svc-1", LIVE, 30, 10.0)
    await store.acquire_lease("svc-1", LIVE, 30, 20.0)  # its holder renews it
    with pytest.raises(LeaseError):
        await store.acquire_lease("svc-1", ME, 30, 49.0)
    await store.acquire_lease("svc-1", ME, 30, 51.0)


# -- tokens ----------------------------------------------------------------------------------


async def test_the_first_admin_token_is_minted_once(store: Store) -> None:
    first = await tokens.bootstrap(store, "root", 1.0)
    with pytest.raises(AuthorizationError, match="an admin token already exists"):
        await tokens.bootstrap(store, "mallory", 2.0)
    found = await store.find_token(first)
    assert found is not None and found.admin and found.user == "root" and found.valid(3.0)
    assert await store.find_token("glv_not-a-token") is None


async def test_tokens_are_listed_and_revoked_by_a_prefix_of_their_id(store: Store) -> None:
    admin = Identity("root", (), "token", admin=True)
    ann = await tokens.add(store, admin, "ann", ("tech-lead",), False, None, 2.0)
    await tokens.add(store, admin, "bob", (), False, 100.0, 3.0)
    listed = await store.tokens()
    assert [(t.user, t.roles, t.expires_at) for t in listed] == [
        ("ann", ("tech-lead",), None),
        ("bob", (), 100.0),
    ]
    with pytest.raises(StateError, match="no token with id"):
        await store.revoke_token("ffffffffffff0", 4.0, Event("token_revoked", "x"))
    gone = await tokens.revoke(store, admin, listed[0].id, 4.0)
    assert gone.user == "ann"
    found = await store.find_token(ann)
    assert found is not None and found.revoked_at == 4.0 and not found.valid(5.0)


async def test_an_expired_admin_token_opens_the_first_mint_again(store: Store) -> None:
    admin = Identity("root", (), "token", admin=True)
    await tokens.add(store, admin, "temp", (), True, 10.0, 1.0)
    with pytest.raises(AuthorizationError):
        await tokens.bootstrap(store, "root", 5.0)
    assert await tokens.bootstrap(store, "root", 11.0)


# -- the engine on either store --------------------------------------------------------------


async def test_the_engine_drives_a_rollout_to_its_end(store: Store, tmp_path: Path) -> None:
    clock = FakeClock()
    providers, router, _ = world(clock)
    rid = await new_rollout(store, RUNNER_PLAN, clock)
    runner = Runner(RUNNER_PLAN, store, providers, clock, state_dir=tmp_path)
    final = await runner.run(rid)
    assert final.phase is Phase.PROMOTED and router.served == Split(100.0)
    kinds = [e.kind for e in await store.events(rid)]
    assert kinds.count("step_completed") == 6 and kinds[-1] == "promoted"
    assert len(await store.measurements(rid)) > 40
    assert (await store.load(rid)).lease_owner is None  # released at the end


# -- outbox ----------------------------------------------------------------------------------


def notice(mid: str, rid: str = "svc-1", channel: str = "chat") -> Notice:
    return Notice(mid, rid, channel, "incident", "critical", "t <b>", "x" * 10, {"n": 1},
                  {"kind": "webhook", "url": "env:URL", "secret": "env:S"})  # fmt: skip


async def test_notices_are_written_with_the_events_that_cause_them(store: Store) -> None:
    st = state()
    record = RolloutRecord(st.id, "svc", "p.yaml", "d", PLAN, st, 1, 1.0, 1.0, None)
    await store.create(record, [Event("rollout_started", "go")], 1.0, [notice("msg_a")])
    await store.commit(st, [Event("a", "b")], 1, 2.0, notices=[notice("msg_b")])
    await store.note("svc-1", Event("n", "noted"), 3.0, [notice("msg_c")])
    items = await store.outbox("svc-1")
    assert [i.notice.id for i in items] == ["msg_a", "msg_b", "msg_c"]
    assert items[0].notice == notice("msg_a") and items[0].status is Delivery.PENDING
    assert await store.outbox("other-1") == []


async def test_a_refused_commit_writes_no_notice(store: Store) -> None:
    st = await create(store)
    await store.commit(st, [], 1, 2.0)
    with pytest.raises(ConflictError):
        await store.commit(st, [Event("lost", "x")], 1, 3.0, notices=[notice("msg_lost")])
    await store.acquire_lease("svc-1", LIVE, 30, 1.0)
    with pytest.raises(LeaseError):
        await store.commit(st, [], 2, 3.0, owner=ME, notices=[notice("msg_lease")])
    assert await store.outbox() == []


async def test_a_claim_is_exclusive_until_settled_or_its_owner_dies(store: Store) -> None:
    await create(store)
    await store.commit(state(), [], 1, 2.0, notices=[notice("msg_a"), notice("msg_b")])
    mine = await store.claim_outbox(ME, 10.0, limit=1)
    assert [i.notice.id for i in mine] == ["msg_a"]
    assert [i.notice.id for i in await store.claim_outbox(LIVE, 10.0)] == ["msg_b"]
    assert await store.claim_outbox(LIVE, 11.0) == []  # claimed by a live worker
    await store.settle_outbox("msg_a", Outcome(Delivery.PENDING, "503", 20.0), 11.0)
    assert await store.claim_outbox(LIVE, 15.0) == []  # not due before 20
    again = await store.claim_outbox(LIVE, 20.0)
    assert [(i.notice.id, i.attempts, i.last_error) for i in again] == [("msg_a", 1, "503")]
    await store.settle_outbox("msg_a", Outcome(Delivery.SENT), 21.0)
    await store.settle_outbox("msg_a", Outcome(Delivery.FAILED, "late"), 22.0)  # settled once
    sent = {i.notice.id: i for i in await store.outbox("svc-1")}
    assert sent["msg_a"].status is Delivery.SENT and sent["msg_a"].attempts == 2
    assert sent["msg_a"].done_at == 21.0


async def test_a_dead_workers_claim_is_free_at_once_with_the_same_id(store: Store) -> None:
    await create(store)
    await store.commit(state(), [], 1, 2.0, notices=[notice("msg_a")])
    assert len(await store.claim_outbox(DEAD, 10.0, hold=600)) == 1  # then killed mid-send
    assert [i.notice.id for i in await store.claim_outbox(ME, 11.0)] == ["msg_a"]


async def test_a_stopping_worker_releases_its_claims(store: Store) -> None:
    await create(store)
    await store.commit(state(), [], 1, 2.0, notices=[notice("msg_a")])
    assert len(await store.claim_outbox(LIVE, 10.0, hold=600)) == 1
    await store.release_outbox(LIVE)
    assert [i.notice.id for i in await store.claim_outbox(ME, 11.0)] == ["msg_a"]
    assert (await store.outbox())[0].attempts == 0  # a release is not an attempt


async def test_a_notice_given_up_is_failed_with_its_error(store: Store) -> None:
    await create(store)
    await store.commit(state(), [], 1, 2.0, notices=[notice("msg_a")])
    await store.claim_outbox(ME, 10.0)
    await store.settle_outbox("msg_a", Outcome(Delivery.FAILED, "after 3 attempts: 500"), 12.0)
    (item,) = await store.outbox("svc-1")
    assert (item.status, item.last_error, item.attempts) == (
        Delivery.FAILED,
        "after 3 attempts: 500",
        1,
    )
    assert await store.claim_outbox(ME, 100.0) == []
