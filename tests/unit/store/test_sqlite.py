"""What is the SQLite store's alone: its file, its schema, its append-only triggers. The
behaviour it shares with the MemoryStore is in tests/contract/test_store.py."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from golive.core.state import Event, Phase, RolloutId, RolloutState
from golive.plan.model import Split
from golive.store.audit import Verdict
from golive.store.records import RolloutRecord
from golive.store.sql import migrations
from golive.store.sqlite import SQLiteStore


async def make(tmp_path: Path) -> tuple[SQLiteStore, RolloutState]:
    store = SQLiteStore(tmp_path / "g.db")
    st = RolloutState(RolloutId("svc-1"), Phase.PROGRESSING, 0, 1.0, Split.all_stable(), 1.0)
    await store.create(
        RolloutRecord(RolloutId("svc-1"), "svc", "p.yaml", "d", "text", st, 1, 1.0, 1.0, None),
        [Event("rollout_started", "go")],
        1.0,
    )
    return store, st


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


async def test_schema_is_versioned_and_reopening_does_not_migrate_twice(tmp_path: Path) -> None:
    store, _ = await make(tmp_path)
    store.close()
    again = SQLiteStore(tmp_path / "g.db")
    assert len(await again.recent()) == 1
    rows = sqlite3.connect(tmp_path / "g.db").execute("SELECT version FROM schema_version")
    assert [r[0] for r in rows] == [v for v, _ in migrations()]
