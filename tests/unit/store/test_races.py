"""Two golive processes at the same instant: one active rollout per service, one schema, and
separation of duties that a race cannot slip past. Real SQLite files, real processes."""

from __future__ import annotations

import asyncio
import multiprocessing as mp
from pathlib import Path

from golive.engine.state import Event, Phase, RolloutId, RolloutState, Signoff
from golive.errors import ActiveRolloutError, StateError
from golive.plan.model import Split
from golive.store.records import RolloutRecord
from golive.store.sqlite import SQLiteStore

CTX = mp.get_context("spawn")


def _create(db: str, rid: str, go: mp.synchronize.Event, out: mp.Queue) -> None:  # type: ignore[type-arg]
    async def main() -> str:
        store = SQLiteStore(Path(db))
        st = RolloutState(RolloutId(rid), Phase.PROGRESSING, 0, 1.0, Split.all_stable(), 1.0)
        record = RolloutRecord(RolloutId(rid), "shop", "p", "d", "t", st, 1, 1.0, 1.0, None)
        go.wait(10)
        try:
            await store.create(record, [Event("rollout_started", rid)], 1.0)
        except ActiveRolloutError:
            return "refused"
        return "created"

    out.put(asyncio.run(main()))


def _open(db: str, go: mp.synchronize.Event, out: mp.Queue) -> None:  # type: ignore[type-arg]
    go.wait(10)
    try:
        SQLiteStore(Path(db)).close()
        out.put("ok")
    except StateError as exc:
        out.put(str(exc))


def _race(target: object, args: list[tuple[object, ...]]) -> list[str]:
    go, out = CTX.Event(), CTX.Queue()
    procs = [CTX.Process(target=target, args=(*a, go, out)) for a in args]  # type: ignore[arg-type]
    for p in procs:
        p.start()
    go.set()
    results = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    return sorted(results)


def test_two_rollouts_of_one_service_started_at_once_make_one(tmp_path: Path) -> None:
    for i in range(8):
        db = str(tmp_path / f"race{i}.db")
        SQLiteStore(Path(db)).close()  # the schema exists: the race is on the rollout
        results = _race(_create, [(db, f"shop-a{i}"), (db, f"shop-b{i}")])
        assert results == ["created", "refused"], f"try {i}: {results}"


def test_two_commands_on_a_fresh_state_directory_create_one_schema(tmp_path: Path) -> None:
    for i in range(6):
        db = str(tmp_path / f"fresh{i}" / "golive.db")
        results = _race(_open, [(db,), (db,), (db,)])
        assert results == ["ok", "ok", "ok"], f"try {i}: {results}"


async def test_a_guard_runs_in_the_transaction_that_records_the_sign_off(tmp_path: Path) -> None:
    """Two stores (two connections, as two processes) sign at once; the guard of the second
    sees the first sign-off, so the starter never ends up as the only approver."""
    db = tmp_path / "g.db"
    first = SQLiteStore(db)
    st = RolloutState(RolloutId("r"), Phase.PROGRESSING, 1, 1.0, Split.all_stable(), 1.0)
    await first.create(RolloutRecord(RolloutId("r"), "s", "p", "d", "t", st, 1, 1.0, 1.0, None),
                       [], 1.0)  # fmt: skip
    stores = [first, SQLiteStore(db)]

    def alone(recorded: list[Signoff]) -> str | None:
        return "only the starter" if any(s.by == "alice" for s in recorded) else None

    async def sign(store: SQLiteStore, role: str) -> str:
        s = Signoff(1, "2.0", "go", role, "alice", True, "", 2.0)
        try:
            await store.add_signoff("r", s, Event("signoff", role), alone)
        except StateError as exc:
            return str(exc)
        return "recorded"

    results = await asyncio.gather(sign(stores[0], "a"), sign(stores[1], "b"))
    assert sorted(results) == ["only the starter", "recorded"]
    assert len(await first.signoffs("r")) == 1
