"""What the audit catches when the database is edited behind golive's back, and that golive
never acts on such a record (the real SQLite store; the edits are plain SQL, as an intruder's)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sqlite3
from pathlib import Path

import pytest

from golive.core.state import CommandVerb, Confirmation, Event, Phase, RolloutId, RolloutState
from golive.errors import StateError, TamperedError
from golive.plan.model import Split
from golive.store.audit import Verdict
from golive.store.records import RolloutRecord
from golive.store.sql import migrations
from golive.store.sqlite import SQLiteStore
from tests.conftest import GOOD_PLAN


async def make(tmp_path: Path) -> tuple[SQLiteStore, RolloutState]:
    store = SQLiteStore(tmp_path / "g.db")
    st = RolloutState(RolloutId("svc-1"), Phase.PROGRESSING, 0, 1.0, Split.all_stable(), 1.0)
    record = RolloutRecord(st.id, "svc", "p.yaml", "", GOOD_PLAN, st, 1, 1.0, 1.0, None)
    await store.create(record, [Event("rollout_started", "go")], 1.0)
    return store, st


def sql(tmp_path: Path, *statements: str) -> None:
    db = sqlite3.connect(tmp_path / "g.db")
    for statement in statements:
        db.execute(statement)
    db.commit()
    db.close()


async def problem(store: SQLiteStore) -> str:
    audit = await store.audit("svc-1")
    assert audit.verdict is Verdict.TAMPERED
    return audit.problem


async def test_a_forged_command_is_never_handed_to_the_controller(tmp_path: Path) -> None:
    store, _ = await make(tmp_path)
    await store.add_command("svc-1", CommandVerb.PAUSE, "ann", "lunch", 2.0)
    assert [c.verb for c in await store.pending_commands("svc-1")] == [CommandVerb.PAUSE]
    assert (await store.events("svc-1"))[-1].message == "pause requested by ann: lunch"
    sql(tmp_path, "INSERT INTO commands (rollout_id, at, verb, by, reason)"
                  " VALUES ('svc-1', 3, 'promote', 'cli', '')")  # fmt: skip
    with pytest.raises(TamperedError, match="command row 2 has no journal event"):
        await store.pending_commands("svc-1")
    assert await problem(store) == "command row 2 has no journal event (forged?)"


async def test_an_edited_or_deleted_confirmation_is_named(tmp_path: Path) -> None:
    store, _ = await make(tmp_path)
    await store.add_confirmation(
        "svc-1", Confirmation("backup", "dba", "ann", "", 2.0), Event("confirmed", "backup")
    )
    seq = (await store.events("svc-1"))[-1].seq
    sql(tmp_path, "UPDATE confirmations SET by = 'mallory'")
    assert (
        await problem(store) == f"confirmation row 1 does not match journal event {seq} (edited?)"
    )
    with pytest.raises(TamperedError):
        await store.confirmations("svc-1")
    sql(tmp_path, "DELETE FROM confirmations")
    assert (
        await problem(store)
        == f"event {seq} records confirmation row 1, which is missing (deleted)"
    )


async def test_an_edited_row_is_not_laundered_by_the_next_commit(tmp_path: Path) -> None:
    store, st = await make(tmp_path)
    sql(tmp_path, "UPDATE rollouts SET state = json_set(state, '$.step', 3)")
    with pytest.raises(TamperedError, match="rollout row edited; refusing to write"):
        await store.commit(dataclasses.replace(st, step=1), [Event("a", "b")], 1, 2.0)
    assert await problem(store) == "rollout row edited"  # still: nothing was re-sealed over it


async def test_the_journal_head_outside_the_database_catches_a_cut_and_its_own_edit(
    tmp_path: Path,
) -> None:
    store, st = await make(tmp_path)
    await store.commit(st, [Event("a", "1"), Event("b", "2")], 1, 2.0)
    head = tmp_path / "heads" / "svc-1"
    assert store.head("svc-1") == (await store.audit("svc-1")).head  # written by then
    assert oct(head.stat().st_mode & 0o777) == "0o600"
    text = head.read_text()
    head.write_text(text.replace("3 ", "2 ", 1))
    assert await problem(store) == f"its journal head {head} was edited"
    head.unlink()
    assert await problem(store) == f"its journal head {head} is missing (deleted?)"
    head.write_text(text)
    assert (await store.audit("svc-1")).verdict is Verdict.INTACT
    sql(tmp_path, "DROP TRIGGER events_append_only_delete", "DELETE FROM events",
        "DELETE FROM rollouts")  # fmt: skip
    [gone] = await store.audit_all()
    assert (
        gone.problem
        == "its journal head exists but the rollout is gone from the database (deleted)"
    )


async def test_a_stored_plan_edit_is_refused_where_the_plan_is_read(tmp_path: Path) -> None:
    store, _ = await make(tmp_path)
    record = await store.load("svc-1")
    assert store.load_plan(record).service == "checkout"
    edited = dataclasses.replace(
        record, plan_text=record.plan_text.replace("shift: 50", "shift: 100")
    )
    with pytest.raises(TamperedError, match="its stored plan was edited"):
        store.load_plan(edited)


async def test_a_database_written_before_sealing_is_reported_unsealed(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "g.db")
    db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    for version, script in migrations()[:2]:
        db.executescript(script)
        db.execute("INSERT INTO schema_version VALUES (?)", (version,))
    st = RolloutState(RolloutId("old-1"), Phase.PAUSED, 0, 1.0, Split.all_stable(), 1.0)
    digest = hashlib.sha256(GOOD_PLAN.encode()).hexdigest()
    db.execute(
        "INSERT INTO rollouts (id, service, plan_path, plan_digest, plan_text, phase, state,"
        " version, created_at, updated_at) VALUES ('old-1', 'shop', 'p.yaml', ?, ?, 'paused', ?,"
        " 1, 1, 1)",
        (digest, GOOD_PLAN, json.dumps(st.to_json())),
    )
    db.commit()
    db.close()
    store = SQLiteStore(tmp_path / "g.db")
    audit = await store.audit("old-1")
    assert audit.verdict is Verdict.UNSEALED
    assert audit.problem == "unsealed (written before golive 0.2.0): cannot be verified"
    record = await store.load("old-1")
    assert store.load_plan(record).service == "checkout"  # still driven, its old digest compared
    await store.commit(st, [Event("a", "b")], 1, 2.0)
    assert (await store.audit("old-1")).verdict is Verdict.UNSEALED  # stays so, no head written
    (tmp_path / "heads").mkdir(exist_ok=True)
    (tmp_path / "heads" / "old-1").write_text("1 x y\n")  # a head means it was sealed once
    sealed_once = await store.audit("old-1")
    assert sealed_once.verdict is Verdict.TAMPERED


async def test_a_head_that_lags_its_journal_is_not_a_cut(tmp_path: Path) -> None:
    store, st = await make(tmp_path)
    head = tmp_path / "heads" / "svc-1"
    assert store.head("svc-1") is not None
    older = head.read_text()  # as if the process died after its next commit, before the head
    await store.commit(st, [Event("a", "1")], 1, 2.0)
    assert store.head("svc-1") == (await store.audit("svc-1")).head
    head.write_text(older)
    assert (await store.audit("svc-1")).verdict is Verdict.INTACT


async def test_a_whole_second_timestamp_verifies_as_it_reads_back(tmp_path: Path) -> None:
    store, st = await make(tmp_path)
    await store.commit(st, [Event("a", "1")], 1, 2)  # an int, stored as REAL 2.0
    await store.add_command("svc-1", CommandVerb.PAUSE, "ann", "", 3)
    assert (await store.audit("svc-1")).verdict is Verdict.INTACT


async def test_a_new_rollout_is_never_seen_without_its_head(tmp_path: Path) -> None:
    store, st = await make(tmp_path)
    # another process auditing right after the creation commits must find the head already
    assert (tmp_path / "heads" / "svc-1").exists()
    other = SQLiteStore(tmp_path / "g.db")
    assert (await other.audit("svc-1")).verdict is Verdict.INTACT
    with pytest.raises(StateError):  # the same id again: refused, the first head kept
        await store.create(
            RolloutRecord(st.id, "svc", "p.yaml", "", GOOD_PLAN, st, 1, 1.0, 1.0, None), [], 2.0
        )
    assert (await other.audit("svc-1")).verdict is Verdict.INTACT
