"""SQLiteStore: the embedded default store, one WAL-mode file.

Blocking ``sqlite3`` calls run in a worker thread; one connection guarded by a lock. Commits of
state, events and consumed commands happen in one transaction with an optimistic version
check, so a controller that lost its lease cannot overwrite a newer record.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import socket
import sqlite3
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

from golive.analysis.snapshot import Snapshot
from golive.engine.state import Command, CommandVerb, Event, Phase, RolloutId, RolloutState
from golive.errors import ActiveRolloutError, ConflictError, LeaseError, StateError
from golive.files import append_private, make_private, private_dir
from golive.processes import pid_alive
from golive.store.gates import GateRecords
from golive.store.records import GENESIS, RolloutRecord, StoredEvent, chain_hash
from golive.store.sql import migrations, queries

T = TypeVar("T")
Measurement = tuple[float, float, Snapshot, Snapshot]  # at, canary weight, stable, canary


def owner_id(pid: int) -> str:
    return f"{socket.gethostname()}:{pid}"


def _owner_dead(owner: str) -> bool:
    host, _, pid = owner.rpartition(":")
    return host == socket.gethostname() and pid.isdigit() and not pid_alive(int(pid))


class SQLiteStore(GateRecords):
    def __init__(self, path: Path) -> None:
        private_dir(path.parent)
        for suffix in ("", "-wal", "-shm"):  # SQLite gives new -wal and -shm the database's mode
            make_private(path.with_name(path.name + suffix))
        append_private(path).close()  # an empty file is an empty database, created 0600
        self.path = path
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(
                path, check_same_thread=False, isolation_level=None, timeout=10.0
            )
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.Error as exc:
            raise StateError(f"cannot open the state database {path}: {exc}") from exc

    def _migrate(self) -> None:
        """Create or upgrade the schema under an exclusive file lock: two golive commands on a
        fresh state directory never both create it."""
        lock = self.path.with_name(self.path.name + ".lock")
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = self._db.execute("SELECT max(version) FROM schema_version").fetchone()
            current = row[0] or 0
            for version, sql in migrations():
                if version > current:
                    self._db.executescript(
                        f"BEGIN IMMEDIATE;\n{sql}\n"
                        f"INSERT INTO schema_version VALUES ({version});\nCOMMIT;"
                    )
        finally:
            os.close(fd)

    def close(self) -> None:
        self._db.close()

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def locked() -> T:
            with self._lock:
                try:
                    return fn(self._db)
                except sqlite3.Error as exc:
                    if self._db.in_transaction:
                        self._db.execute("ROLLBACK")
                    raise StateError(f"state database error: {exc}") from exc

        return await asyncio.to_thread(locked)

    # -- rollouts ----------------------------------------------------------------------------

    async def create(self, record: RolloutRecord, events: Iterable[Event], now: float) -> None:
        q = queries()

        def tx(db: sqlite3.Connection) -> None:
            db.execute("BEGIN IMMEDIATE")
            active = db.execute(q["active_for_service"], {"service": record.service}).fetchone()
            if active is not None:
                db.execute("ROLLBACK")
                raise ActiveRolloutError(
                    f"{record.service} already has an active rollout {active['id']} "
                    f"({active['phase']}); finish it with 'golive resume {active['id']}' or "
                    f"'golive abort {active['id']}' first"
                )
            db.execute(
                q["insert_rollout"],
                {
                    "id": record.id,
                    "service": record.service,
                    "plan_path": record.plan_path,
                    "plan_digest": record.plan_digest,
                    "plan_text": record.plan_text,
                    "phase": record.state.phase.value,
                    "state": json.dumps(record.state.to_json()),
                    "now": now,
                },
            )
            _append(db, record.id, events, now)
            db.execute("COMMIT")

        await self._run(tx)

    async def load(self, rollout_id: str) -> RolloutRecord:
        rows = await self._run(
            lambda db: db.execute(queries()["find_rollouts"], {"prefix": rollout_id}).fetchall()
        )
        exact = [r for r in rows if r["id"] == rollout_id]
        if exact:
            rows = exact
        if not rows:
            raise StateError(f"no rollout {rollout_id!r}; 'golive status' lists them")
        if len(rows) > 1:
            raise StateError(f"{rollout_id!r} matches {len(rows)} rollouts; give more of the id")
        return _record(rows[0])

    async def recent(self, limit: int = 20) -> list[RolloutRecord]:
        rows = await self._run(
            lambda db: db.execute(queries()["list_rollouts"], {"limit": limit}).fetchall()
        )
        return [_record(r) for r in rows]

    async def active_for_service(self, service: str) -> list[RolloutRecord]:
        rows = await self._run(
            lambda db: db.execute(queries()["active_for_service"], {"service": service}).fetchall()
        )
        return [_record(r) for r in rows]

    async def retiring(self, service: str | None = None) -> list[RolloutRecord]:
        """Ended rollouts with a retirement still pending (of ``service``, or of any)."""
        rows = await self._run(
            lambda db: db.execute(queries()["retiring"], {"service": service}).fetchall()
        )
        return [_record(r) for r in rows]

    async def commit(
        self,
        state: RolloutState,
        events: Iterable[Event],
        expected_version: int,
        now: float,
        consumed: Iterable[int] = (),
        owner: str | None = None,
    ) -> int:
        """Write state and events atomically; ConflictError if someone committed first."""
        q = queries()

        def tx(db: sqlite3.Connection) -> int:
            db.execute("BEGIN IMMEDIATE")
            if owner is not None:
                row = db.execute(q["get_rollout"], {"id": state.id}).fetchone()
                if row is not None and row["lease_owner"] not in (None, owner):
                    db.execute("ROLLBACK")
                    raise LeaseError(f"rollout {state.id} is now driven by {row['lease_owner']}")
            cur = db.execute(
                q["update_rollout"],
                {
                    "id": state.id,
                    "phase": state.phase.value,
                    "state": json.dumps(state.to_json()),
                    "now": now,
                    "expected": expected_version,
                },
            )
            if cur.rowcount != 1:
                db.execute("ROLLBACK")
                raise ConflictError(f"rollout {state.id} changed since version {expected_version}")
            _append(db, state.id, events, now)
            for command_id in consumed:
                db.execute(q["consume_command"], {"now": now, "command_id": command_id})
            db.execute("COMMIT")
            return expected_version + 1

        return await self._run(tx)

    # -- leases ------------------------------------------------------------------------------

    async def acquire_lease(self, rollout_id: str, owner: str, ttl: float, now: float) -> None:
        """Own the rollout for ``ttl`` seconds; LeaseError if a live controller owns it."""
        q = queries()

        def tx(db: sqlite3.Connection) -> None:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute(q["get_rollout"], {"id": rollout_id}).fetchone()
            held = row["lease_owner"]
            if held and held != owner and (row["lease_until"] or 0) > now and not _owner_dead(held):
                db.execute("ROLLBACK")
                raise LeaseError(f"rollout {rollout_id} is driven by {held}")
            db.execute(q["take_lease"], {"id": rollout_id, "owner": owner, "until": now + ttl})
            db.execute("COMMIT")

        await self._run(tx)

    async def release_lease(self, rollout_id: str, owner: str) -> None:
        await self._run(
            lambda db: db.execute(queries()["release_lease"], {"id": rollout_id, "owner": owner})
        )

    # -- journal, measurements, commands -----------------------------------------------------

    async def events(self, rollout_id: str, after: int = 0) -> list[StoredEvent]:
        rows = await self._run(
            lambda db: db.execute(
                queries()["events"], {"id": rollout_id, "after": after}
            ).fetchall()
        )
        return [
            StoredEvent(
                r["seq"],
                r["rollout_id"],
                r["at"],
                r["kind"],
                r["message"],
                json.loads(r["data"]),
                r["prev_hash"],
                r["hash"],
            )
            for r in rows
        ]

    async def add_measurement(self, rollout_id: str, m: Measurement) -> None:
        at, weight, stable, canary = m
        await self._run(
            lambda db: db.execute(
                queries()["insert_measurement"],
                {
                    "id": rollout_id,
                    "at": at,
                    "weight": weight,
                    "stable": json.dumps(stable.to_json()),
                    "canary": json.dumps(canary.to_json()),
                },
            )
        )

    async def measurements(self, rollout_id: str) -> list[Measurement]:
        rows = await self._run(
            lambda db: db.execute(queries()["measurements"], {"id": rollout_id}).fetchall()
        )
        return [
            (
                r["at"],
                r["canary_weight"],
                Snapshot.from_json(json.loads(r["stable"])),
                Snapshot.from_json(json.loads(r["canary"])),
            )
            for r in rows
        ]

    async def add_command(
        self, rollout_id: str, verb: CommandVerb, by: str, reason: str, now: float, source: str = ""
    ) -> None:
        params = {
            "id": rollout_id, "now": now, "verb": verb.value, "by": by, "reason": reason,
            "source": source,
        }  # fmt: skip
        await self._run(lambda db: db.execute(queries()["insert_command"], params))

    @staticmethod
    def _append(db: sqlite3.Connection, rollout_id: str, events: list[Event], now: float) -> None:
        _append(db, rollout_id, events, now)

    async def pending_commands(self, rollout_id: str) -> list[Command]:
        rows = await self._run(
            lambda db: db.execute(queries()["pending_commands"], {"id": rollout_id}).fetchall()
        )
        return [
            Command(r["id"], CommandVerb(r["verb"]), r["by"], r["reason"], r["source"])
            for r in rows
        ]


def _append(db: sqlite3.Connection, rollout_id: str, events: Iterable[Event], now: float) -> None:
    q = queries()
    row = db.execute(q["last_hash"], {"id": rollout_id}).fetchone()
    prev = row["hash"] if row else GENESIS
    for event in events:
        digest = chain_hash(prev, rollout_id, now, event)
        db.execute(
            q["insert_event"],
            {
                "id": rollout_id,
                "at": now,
                "kind": event.kind,
                "message": event.message,
                "data": json.dumps(event.data, sort_keys=True, default=str),
                "prev_hash": prev,
                "hash": digest,
            },
        )
        prev = digest


def _record(row: sqlite3.Row) -> RolloutRecord:
    state = RolloutState.from_json(json.loads(row["state"]))
    assert state.phase is Phase(row["phase"])
    return RolloutRecord(
        RolloutId(row["id"]),
        row["service"],
        row["plan_path"],
        row["plan_digest"],
        row["plan_text"],
        state,
        row["version"],
        row["created_at"],
        row["updated_at"],
        row["lease_owner"],
    )
