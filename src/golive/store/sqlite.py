"""SQLiteStore: the embedded default store, one WAL-mode file.

Blocking ``sqlite3`` calls run in a worker thread; one connection guarded by a lock. Commits of
state, events and consumed commands happen in one transaction with an optimistic version
check, so a controller that lost its lease cannot overwrite a newer record. Every write to a
rollout is sealed (store/journal.py): its row is checked before and re-MACed after, and the
journal's head is recorded outside the database; ``audit`` verifies it all (store/audit.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

from golive.analysis.snapshot import Snapshot
from golive.core.state import Command, CommandVerb, Event, Phase, RolloutId, RolloutState
from golive.errors import ActiveRolloutError, ConflictError, LeaseError, StateError, TamperedError
from golive.files import append_private, make_private, private_dir
from golive.notify.notice import Notice
from golive.plan.model import Plan
from golive.store import journal, outbox
from golive.store.audit import Audit, audit_all, audit_rollout
from golive.store.base import MIN_PREFIX, Measurement
from golive.store.coalesce import Coalesced
from golive.store.gates import GateRecords
from golive.store.journal import measurement_problem
from golive.store.leases import LeaseRecords, owner_id
from golive.store.outbox import OutboxRecords
from golive.store.records import (
    Head,
    RolloutRecord,
    StoredEvent,
    load_plan,
    measurement_parts,
    plan_matches,
    plan_parts,
)
from golive.store.seal import Seal
from golive.store.sql import migrations, queries
from golive.store.tokens import TokenRecords

__all__ = ["Measurement", "SQLiteStore", "owner_id"]

T = TypeVar("T")


class SQLiteStore(GateRecords, LeaseRecords, TokenRecords, OutboxRecords):
    """The durable :class:`~golive.store.base.Store`, sealed and audited."""

    def __init__(self, path: Path, seal: Seal | None = None) -> None:
        private_dir(path.parent)
        for suffix in ("", "-wal", "-shm"):  # SQLite gives new -wal and -shm the database's mode
            make_private(path.with_name(path.name + suffix))
        append_private(path).close()  # an empty file is an empty database, created 0600
        self.path = path
        self.seal = seal if seal is not None else Seal.load(path.parent)
        self.heads = journal.Heads(path.parent / "heads", self.seal)
        self._lock = threading.Lock()
        self._measure = Coalesced[tuple[str, Measurement], None](self._add_measurements)
        self._pending = Coalesced[str, list[sqlite3.Row]](self._pending_rows)
        try:
            self._db = sqlite3.connect(
                path, check_same_thread=False, isolation_level=None, timeout=10.0
            )
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.Error as exc:
            raise StateError(f"cannot open the state database {path}: {exc}") from exc

    def _migrate(self) -> None:
        """Turn on WAL and create or upgrade the schema under an exclusive file lock: two golive
        commands on a fresh state directory never both create it, and neither meets the other
        switching the journal mode (SQLite answers that 'database is locked' without waiting)."""
        lock = self.path.with_name(self.path.name + ".lock")
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._db.execute("PRAGMA journal_mode=WAL")
            # migration 5 registers the rollouts written before records were sealed, and seals
            # the measurements recorded so far, by MAC
            self._db.create_function(
                "golive_unsealed_mac", 1,
                lambda rid: self.seal.mac(*journal.unsealed_parts(str(rid))), deterministic=True,
            )  # fmt: skip
            self._db.create_function(
                "golive_measurement_mac", 5,
                lambda *parts: self.seal.mac(*measurement_parts(*parts)), deterministic=True,
            )  # fmt: skip
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
        self.heads.close()
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

    async def _sealed(
        self, rollout_id: str, body: Callable[[sqlite3.Connection], T], fresh: bool = False
    ) -> T:
        """``body`` in one write transaction on a rollout that still verifies; then its row is
        re-MACed and, once committed, the journal's head recorded outside the database."""

        def tx(db: sqlite3.Connection) -> T:
            db.execute("BEGIN IMMEDIATE")
            first = False  # a new rollout's first head, written before it commits
            try:
                before = None if fresh else journal.guard(db, self.seal, self.heads, rollout_id)
                result = body(db)
                sealed = fresh or before is not None
                head = journal.reseal(db, self.seal, rollout_id) if sealed else None
                if fresh and head is not None:  # no reader may see a sealed rollout headless
                    first = True
                    self.heads.write_now(rollout_id, head)
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                if first:
                    self.heads.forget(rollout_id)
                raise
            if head is not None and head != before and not fresh:
                self.heads.write(rollout_id, head)
            return result

        return await self._run(tx)

    # -- rollouts ----------------------------------------------------------------------------

    async def create(
        self, record: RolloutRecord, events: Iterable[Event], now: float,
        notices: Iterable[Notice] = (),
    ) -> None:  # fmt: skip
        """Record a new rollout; its plan digest is the store's HMAC of ``record.plan_text``."""

        def body(db: sqlite3.Connection) -> None:
            active = db.execute(
                queries()["active_for_service"], {"service": record.service}
            ).fetchone()
            if active is not None:
                raise ActiveRolloutError(
                    f"{record.service} already has an active rollout {active['id']} "
                    f"({active['phase']}); finish it with 'golive resume {active['id']}' or "
                    f"'golive abort {active['id']}' first"
                )
            db.execute(
                queries()["insert_rollout"],
                {
                    "id": record.id,
                    "service": record.service,
                    "plan_path": record.plan_path,
                    "plan_digest": self.seal.mac(*plan_parts(record.plan_text)),
                    "plan_text": record.plan_text,
                    "phase": record.state.phase.value,
                    "state": json.dumps(record.state.to_json()),
                    "now": now,
                },
            )
            journal.append(db, self.seal, record.id, events, now)
            outbox.insert(db, notices, now)

        self.heads.path(record.id)  # an id that cannot name a head file is refused first
        await self._sealed(record.id, body, fresh=True)
        with contextlib.suppress(OSError):  # not listed (a full disk): only less to compare
            self.heads.ledger.add(record.id)

    async def note(
        self, rollout_id: str, event: Event, now: float, notices: Iterable[Notice] = ()
    ) -> None:
        """An event in the rollout's keyed journal; state and version untouched."""

        def body(db: sqlite3.Connection) -> None:
            journal.append(db, self.seal, rollout_id, [event], now)
            outbox.insert(db, notices, now)

        await self._sealed(rollout_id, body)

    def plan_matches(self, record: RolloutRecord, plan_text: str) -> bool:
        """Whether ``plan_text`` is the plan the rollout was sealed with."""
        return plan_matches(self.seal, record, plan_text)

    def load_plan(self, record: RolloutRecord) -> Plan:
        """The rollout's stored plan, refused (TamperedError) if it was edited."""
        return load_plan(self.seal, record)

    async def load(self, rollout_id: str) -> RolloutRecord:
        """The rollout with this exact id, or the only one whose id starts with it (at least
        MIN_PREFIX characters: an empty or one-letter id never selects a rollout)."""
        rows = await self._run(
            lambda db: db.execute(queries()["find_rollouts"], {"prefix": rollout_id}).fetchall()
        )
        exact = [r for r in rows if r["id"] == rollout_id]
        if exact:
            return _record(exact[0])
        if len(rollout_id) < MIN_PREFIX:
            raise StateError(
                f"no rollout {rollout_id!r} (give its id, or at least its first {MIN_PREFIX} "
                "characters; 'golive status' lists them)"
            )
        if not rows:
            raise StateError(f"no rollout {rollout_id!r}; 'golive status' lists them")
        if len(rows) > 1:
            listed = ", ".join(r["id"] for r in rows[:10])
            raise StateError(
                f"{rollout_id!r} matches {len(rows)} rollouts ({listed}); give more of the id"
            )
        return _record(rows[0])

    async def recent(
        self, limit: int = 20, service: str | None = None
    ) -> list[RolloutRecord | TamperedError]:
        """The latest rollouts (of ``service``); a row that cannot be read is its error, in its
        place (one bad row never hides the others)."""
        query = "list_rollouts" if service is None else "list_rollouts_of_service"
        args = {"limit": limit, "service": service}
        rows = await self._run(lambda db: db.execute(queries()[query], args).fetchall())
        found: list[RolloutRecord | TamperedError] = []
        for r in rows:
            try:
                found.append(_record(r))
            except TamperedError as exc:
                found.append(exc)
        return found

    async def active(self) -> list[RolloutRecord | TamperedError]:
        """Every active rollout, oldest first; a row that cannot be read is its error."""
        rows = await self._run(lambda db: db.execute(queries()["active"]).fetchall())
        found: list[RolloutRecord | TamperedError] = []
        for r in rows:
            try:
                found.append(_record(r))
            except TamperedError as exc:
                found.append(exc)
        return found

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
        notices: Iterable[Notice] = (),
    ) -> int:
        """Write state, events and their notices atomically; ConflictError if someone
        committed first."""
        q = queries()

        def tx(db: sqlite3.Connection) -> int:
            if owner is not None:
                row = db.execute(q["get_rollout"], {"id": state.id}).fetchone()
                if row is not None and row["lease_owner"] not in (None, owner):
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
                raise ConflictError(f"rollout {state.id} changed since version {expected_version}")
            journal.append(db, self.seal, state.id, events, now)
            for command_id in consumed:
                db.execute(q["consume_command"], {"now": now, "command_id": command_id})
            outbox.insert(db, notices, now)
            return expected_version + 1

        return await self._sealed(state.id, tx)

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
        await self._measure((rollout_id, m))

    async def _add_measurements(
        self, batch: list[tuple[str, Measurement]]
    ) -> list[Exception | None]:
        """Every measurement of this turn of the loop in one transaction (store/coalesce.py)."""
        rows = []
        for rollout_id, m in batch:
            at, weight = float(m[0]), float(m[1])  # as the REAL columns give them back
            stable, canary = json.dumps(m[2].to_json()), json.dumps(m[3].to_json())
            mac = self.seal.mac(*measurement_parts(rollout_id, at, weight, stable, canary))
            rows.append({"id": rollout_id, "at": at, "weight": weight, "stable": stable,
                         "canary": canary, "mac": mac})  # fmt: skip

        def tx(db: sqlite3.Connection) -> list[Exception | None]:
            db.execute("BEGIN IMMEDIATE")
            db.executemany(queries()["insert_measurement"], rows)
            db.execute("COMMIT")
            return [None] * len(rows)

        return await self._run(tx)

    async def measurements(self, rollout_id: str) -> list[Measurement]:
        """The counters recorded for the judge, each proven by its MAC: an edited one would
        turn the replayed verdict (TamperedError)."""

        def read(db: sqlite3.Connection) -> list[sqlite3.Row]:
            rows: list[sqlite3.Row] = db.execute(
                queries()["measurements"], {"id": rollout_id}
            ).fetchall()
            problem = measurement_problem(self.seal, rollout_id, rows)
            if problem is not None:
                raise TamperedError(f"rollout {rollout_id}: {problem}")
            return rows

        rows = await self._run(read)
        return [
            (
                r["at"],
                r["canary_weight"],
                Snapshot.from_json(json.loads(r["stable"])),
                Snapshot.from_json(json.loads(r["canary"])),
            )
            for r in rows
        ]

    async def pending_commands(self, rollout_id: str) -> list[Command]:
        rows = await self._pending(rollout_id)
        return [
            Command(
                r["id"],
                CommandVerb(r["verb"]),
                r["by"],
                r["reason"],
                r["source"],
                r["step"],
                r["paused_at"],
            )
            for r in rows
            if r["consumed_at"] is None
        ]

    async def _pending_rows(self, ids: list[str]) -> list[list[sqlite3.Row] | Exception]:
        """The commands of every rollout asking in this turn of the loop, in one hop; a
        tampered rollout's answer is its own TamperedError."""

        def read(db: sqlite3.Connection) -> list[list[sqlite3.Row] | Exception]:
            answers: list[list[sqlite3.Row] | Exception] = []
            for rollout_id in ids:
                try:
                    answers.append(journal.verified_rows(db, self.seal, rollout_id, "commands"))
                except TamperedError as exc:
                    answers.append(exc)
            return answers

        return await self._run(read)

    # -- audit -------------------------------------------------------------------------------

    async def audit(self, rollout_id: str) -> Audit:
        """Does the rollout's record still verify against the key? (store/audit.py)"""
        return await self._run(lambda db: audit_rollout(db, self.seal, self.heads, rollout_id))

    async def audit_all(self) -> list[Audit]:
        return await self._run(lambda db: audit_all(db, self.seal, self.heads))

    def head(self, rollout_id: str) -> Head | None:
        """The journal head recorded outside the database, as of the last commit."""
        return self.heads.read(rollout_id)


def _record(row: sqlite3.Row) -> RolloutRecord:
    try:
        state = RolloutState.from_json(json.loads(row["state"]))
        readable = state.phase is Phase(row["phase"])
    except (ValueError, KeyError, TypeError, AttributeError, AssertionError):
        readable = False
    if not readable:
        raise TamperedError(
            f"rollout {row['id']}: its stored state cannot be read (edited?); "
            f"'golive audit verify {row['id']}'"
        )
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
        row["seal"] is not None,
    )
