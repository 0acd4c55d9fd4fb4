from __future__ import annotations

import dataclasses
import os
import sqlite3
from pathlib import Path

import pytest

from golive.core.state import CommandVerb, Event, Phase, RolloutId, RolloutState
from golive.errors import ConflictError, LeaseError, StateError
from golive.plan.model import Split
from golive.store.audit import Verdict
from golive.store.records import RolloutRecord
from golive.store.sql import migrations
from golive.store.sqlite import SQLiteStore, owner_id


async def make(tmp_path: Path) -> tuple[SQLiteStore, RolloutState]:
    store = SQLiteStore(tmp_path / "g.db")
    st = RolloutState(RolloutId("svc-1"), Phase.PROGRESSING, 0, 1.0, Split.all_stable(), 1.0)
    await store.create(
        RolloutRecord(RolloutId("svc-1"), "svc", "p.yaml", "d", "text", st, 1, 1.0, 1.0, None),
        [Event("rollout_started", "go")],
        1.0,
    )
    return store, st


async def test_commit_is_optimistic(tmp_path: Path) -> None:
    store, st = await make(tmp_path)
    v2 = await store.commit(dataclasses.replace(st, step=1), [Event("a", "b")], 1, 2.0)
    assert v2 == 2
    with pytest.raises(ConflictError):
        await store.commit(dataclasses.replace(st, step=2), [], 1, 3.0)
    record = await store.load("svc-1")
    assert record.state.step == 1 and record.version == 2
    assert [e.kind for e in await store.events("svc-1")] == ["rollout_started", "a"]


async def test_state_round_trips_and_ids_resolve_by_prefix(tmp_path: Path) -> None:
    store, st = await make(tmp_path)
    assert (await store.load("svc-")).state == st
    with pytest.raises(StateError, match="no rollout 'zzz'"):
        await store.load("zzz")


async def test_lease_is_exclusive_but_a_dead_owner_frees_it(tmp_path: Path) -> None:
    store, _ = await make(tmp_path)
    me = owner_id(os.getpid())
    await store.acquire_lease("svc-1", me, 30, 10.0)
    with pytest.raises(LeaseError):
        await store.acquire_lease("svc-1", owner_id(1), 30, 11.0)  # pid 1 is alive
    dead = owner_id(2**22 + 7)  # no such pid
    await store.release_lease("svc-1", me)
    await store.acquire_lease("svc-1", dead, 30, 12.0)
    await store.acquire_lease("svc-1", me, 30, 13.0)  # the dead owner's lease is free at once


async def test_events_are_hash_chained_and_append_only(tmp_path: Path) -> None:
    store, st = await make(tmp_path)
    await store.commit(st, [Event("x", "one"), Event("y", "two", {"k": 1})], 1, 2.0)
    assert (await store.audit("svc-1")).verdict is Verdict.INTACT
    db = sqlite3.connect(tmp_path / "g.db")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE events SET message = 'forged' WHERE kind = 'x'")
    db.execute("DROP TRIGGER events_append_only_update")
    db.execute("UPDATE events SET message = 'forged' WHERE kind = 'x'")
    db.commit()
    audit = await store.audit("svc-1")
    assert audit.verdict is Verdict.TAMPERED and audit.problem.startswith("event 2: hash")


async def test_commands_are_consumed_in_the_commit(tmp_path: Path) -> None:
    store, st = await make(tmp_path)
    await store.add_command("svc-1", CommandVerb.PAUSE, "ann", "", 2.0)
    pending = await store.pending_commands("svc-1")
    assert [c.verb for c in pending] == [CommandVerb.PAUSE]
    await store.commit(st, [], 1, 3.0, consumed=[pending[0].id])
    assert await store.pending_commands("svc-1") == []


async def test_schema_is_versioned_and_reopening_does_not_migrate_twice(tmp_path: Path) -> None:
    store, _ = await make(tmp_path)
    store.close()
    again = SQLiteStore(tmp_path / "g.db")
    assert len(await again.recent()) == 1
    rows = sqlite3.connect(tmp_path / "g.db").execute("SELECT version FROM schema_version")
    assert [r[0] for r in rows] == [v for v, _ in migrations()]


async def test_ids_match_exactly_or_by_a_prefix_of_four_characters_never_a_pattern(
    tmp_path: Path,
) -> None:
    """Issue #12.5: `golive abort ""`, `%` and `_` selected a rollout (an unescaped LIKE)."""
    store, _ = await make(tmp_path)
    for given in ("", "%", "_", "s", "sv%", "svc_1", "%-1"):
        with pytest.raises(StateError, match="no rollout"):
            await store.load(given)
    assert (await store.load("svc-")).id == "svc-1"
