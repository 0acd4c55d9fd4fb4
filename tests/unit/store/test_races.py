"""Two golive processes at the same instant: one active rollout per service, one schema, and
separation of duties that a race cannot slip past. Real SQLite files, real processes."""

from __future__ import annotations

import asyncio
import multiprocessing as mp
from pathlib import Path

from golive.core.state import Event, Phase, RolloutId, RolloutState
from golive.errors import ActiveRolloutError, AuthorizationError, StateError
from golive.identity import Identity
from golive.operations import signoffs
from golive.plan.loader import parse_plan
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


def _race(
    target: object, args: list[tuple[object, ...]], ctx: mp.context.BaseContext = CTX
) -> list[str]:
    go, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=target, args=(*a, go, out)) for a in args]  # type: ignore[attr-defined]
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


def test_opening_a_fresh_state_database_at_once_is_never_locked(tmp_path: Path) -> None:
    """CI, 2026-11-30: 'database is locked' from `golive token init` twice on a fresh directory
    (2 of 40 races of four forked openers): SQLite does not wait for a connection that is
    switching the database to WAL. The switch is made under the schema's file lock."""
    fork = mp.get_context("fork")  # no interpreter start-up between 'go' and the race
    for i in range(40):
        db = str(tmp_path / f"wal{i}" / "golive.db")
        results = _race(_open, [(db,)] * 4, fork)
        assert results == ["ok"] * 4, f"try {i}: {results}"


GATED = """\
service: s
revisions:
  stable: {version: 1.0.0, url: "http://127.0.0.1:9001"}
  canary: {version: 2.0.0, url: "http://127.0.0.1:9002"}
approvals:
  go: {roles: [release-manager, tech-lead]}
steps:
  - approve: go
  - promote
"""


async def test_two_sign_offs_by_the_starter_at_once_never_both_count(tmp_path: Path) -> None:
    """Issue #10.3: the starter signed both roles at the same instant (6 of 20 races) and the
    gate waited forever for someone else, who was then refused as "already recorded"."""
    plan = parse_plan(GATED, "plan.yaml")
    alice = Identity("alice", ("release-manager", "tech-lead"), "identity file")
    db = tmp_path / "g.db"
    stores = [SQLiteStore(db), SQLiteStore(db)]
    for i in range(20):
        rid = RolloutId(f"r{i}")
        st = RolloutState(rid, Phase.PROGRESSING, 0, 1.0, Split.all_stable(), 1.0,
                          started_by="alice")  # fmt: skip
        record = RolloutRecord(rid, f"s{i}", "p", plan.digest, plan.text, st, 1, 1.0, 1.0, None)
        await stores[0].create(record, [Event("rollout_started", "by alice")], 1.0)

        async def sign(store: SQLiteStore, role: str, rid: str = rid) -> str:
            try:
                await signoffs.sign(store, rid, role, True, "", None, alice, 2.0)
            except AuthorizationError as exc:  # a refusal, not a conflict (a server's 403)
                return str(exc)
            return "recorded"

        results = await asyncio.gather(
            sign(stores[0], "release-manager"), sign(stores[1], "tech-lead")
        )
        assert sorted(results)[0] == "recorded", results
        assert "separation of duties" in sorted(results)[1], results
        assert len(await stores[0].signoffs(rid)) == 1
