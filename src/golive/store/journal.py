"""The write side of the sealed record, run inside the store's transactions.

- Events are appended to the rollout's chain, each hash an HMAC over the one before.
- A sign-off, a confirmation or an operator command is linked to the journal event written
  with it: the event's data carries the row's MAC, so a forged row has no event and an edited
  one no longer matches its event.
- The rollouts row carries a MAC over its columns and the journal's last entry, checked before
  every write (an edit is never laundered by the next commit) and renewed after it.
- The journal's head (last seq and hash) is written to ``<state-dir>/heads/<rollout-id>`` after
  each commit, where an edit of the database cannot reach it: cutting the journal's tail shows.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from golive.atomic import write_atomically
from golive.core.state import Event
from golive.errors import StateError, TamperedError
from golive.store.ledger import Ledger
from golive.store.records import (
    GENESIS,
    ROW_LABEL,
    Head,
    event_parts,
    head_parts,
    measurement_parts,
    rollout_parts,
    row_parts,
)
from golive.store.seal import Seal
from golive.store.sql import queries

ROW_KIND = {"signoffs": "signoff", "confirmations": "confirmed", "commands": "command"}
_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,200}")
TOKEN_LOG_HEAD = "_tokens"  # noqa: S105 (the token log's head; no rollout id starts with _)


def last_head(db: sqlite3.Connection, rollout_id: str) -> Head:
    row = db.execute(queries()["last_hash"], {"id": rollout_id}).fetchone()
    return Head(row["seq"], row["hash"]) if row else Head(0, GENESIS)


def append(db: sqlite3.Connection, seal: Seal, rollout_id: str, events: Iterable[Event],
           now: float) -> Head:  # fmt: skip
    """Append ``events`` to the rollout's chain; the journal's new head."""
    q = queries()
    head, now = last_head(db, rollout_id), float(now)  # as the REAL column gives it back
    for event in events:
        data = json.dumps(event.data, sort_keys=True, default=str)
        digest = seal.mac(*event_parts(head.hash, rollout_id, now, event.kind, event.message, data))
        cur = db.execute(
            q["insert_event"],
            {"id": rollout_id, "at": now, "kind": event.kind, "message": event.message,
             "data": data, "prev_hash": head.hash, "hash": digest},
        )  # fmt: skip
        head = Head(int(cur.lastrowid or 0), digest)
    return head


def link(db: sqlite3.Connection, seal: Seal, table: str, row_id: int, event: Event) -> Event:
    """``event`` carrying the MAC of the row just inserted, to be appended with it."""
    row = db.execute(queries()[f"{table}_row"], {"row_id": row_id}).fetchone()
    ref = {"table": table, "id": row_id, "mac": seal.mac(*row_parts(table, row))}
    return Event(event.kind, event.message, {**event.data, "row": ref})


def links(events: Iterable[sqlite3.Row]) -> dict[tuple[str, int], tuple[int, str]]:
    """(table, row id) -> (seq, row MAC) for every event that records a row."""
    found: dict[tuple[str, int], tuple[int, str]] = {}
    for e in events:
        ref = json.loads(e["data"]).get("row")
        if isinstance(ref, dict) and ref.get("table") in ROW_LABEL:
            found[(str(ref["table"]), int(ref["id"]))] = (e["seq"], str(ref.get("mac")))
    return found


def row_problem(seal: Seal, table: str, rows: Iterable[sqlite3.Row],
                linked: dict[tuple[str, int], tuple[int, str]]) -> str | None:  # fmt: skip
    """The first row of ``table`` without its journal event, or unlike it; None if all match."""
    for r in rows:
        found, what = linked.get((table, r["id"])), f"{ROW_LABEL[table]} row {r['id']}"
        if found is None:
            return f"{what} has no journal event (forged?)"
        if not seal.check(found[1], *row_parts(table, r)):
            return f"{what} does not match journal event {found[0]} (edited?)"
    return None


def measurement_problem(seal: Seal, rollout_id: str, rows: Iterable[sqlite3.Row]) -> str | None:
    """The first measurement whose MAC does not match (edited, or inserted by hand)."""
    for r in rows:
        parts = measurement_parts(rollout_id, r["at"], r["canary_weight"], r["stable"], r["canary"])
        if r["mac"] is None or not seal.check(r["mac"], *parts):
            return f"the measurement taken at {r['at']:.3f} was edited or inserted by hand"
    return None


def verified_rows(db: sqlite3.Connection, seal: Seal, rollout_id: str,
                  table: str) -> list[sqlite3.Row]:  # fmt: skip
    """The rollout's rows of ``table``, each proven by a genuine journal event; a forged or
    edited row is a TamperedError, so the controller never acts on it."""
    q = queries()
    rows: list[sqlite3.Row] = db.execute(q[table], {"id": rollout_id}).fetchall()
    rollout = db.execute(q["get_rollout"], {"id": rollout_id}).fetchone()
    if not rows or rollout is None or rollout["seal"] is None:
        return rows
    genuine = [
        e for e in db.execute(q["events_of_kind"], {"id": rollout_id, "kind": ROW_KIND[table]})
        if seal.check(e["hash"], *event_parts(e["prev_hash"], rollout_id, e["at"], e["kind"],
                                              e["message"], e["data"]))
    ]  # fmt: skip
    problem = row_problem(seal, table, rows, links(genuine))
    if problem is not None:
        raise TamperedError(f"rollout {rollout_id}: {problem}; 'golive audit verify {rollout_id}'")
    return rows


def unsealed_parts(rollout_id: str) -> tuple[object, ...]:
    return ("unsealed", rollout_id)


def unsealed(db: sqlite3.Connection, seal: Seal, rollout_id: str) -> bool:
    """Whether the rollout was written before golive sealed its records, as registered (with a
    MAC) when the database was upgraded: a rollout whose seal was removed since is not."""
    row = db.execute(queries()["unsealed_rollout"], {"id": rollout_id}).fetchone()
    return row is not None and seal.check(row["mac"], *unsealed_parts(rollout_id))


def guard(db: sqlite3.Connection, seal: Seal, heads: Heads, rollout_id: str) -> Head | None:
    """Before a write: the rollouts row must still verify. The journal's head, or None when
    the rollout was written before golive sealed its records (it stays unsealed)."""
    row = db.execute(queries()["get_rollout"], {"id": rollout_id}).fetchone()
    if row is None:
        raise StateError(f"no rollout {rollout_id!r}")
    if row["seal"] is None:
        if heads.path(rollout_id).exists() or not unsealed(db, seal, rollout_id):
            raise TamperedError(f"rollout {rollout_id}: rollout row edited (its seal was removed)")
        return None
    head = last_head(db, rollout_id)
    if not seal.check(row["seal"], *rollout_parts(row, head)):
        raise TamperedError(
            f"rollout {rollout_id}: rollout row edited; refusing to write to it "
            f"('golive audit verify {rollout_id}')"
        )
    return head


def reseal(db: sqlite3.Connection, seal: Seal, rollout_id: str) -> Head:
    """After a write: the rollouts row's MAC over its new columns and journal head."""
    q = queries()
    row = db.execute(q["get_rollout"], {"id": rollout_id}).fetchone()
    head = last_head(db, rollout_id)
    db.execute(q["seal_rollout"], {"id": rollout_id, "seal": seal.mac(*rollout_parts(row, head))})
    return head


class Heads:
    """One small file per rollout outside the database: ``seq hash mac`` of its journal's end.

    Written by one background thread, in commit order, so a commit (and the rollback's router
    write after it) never waits for the file system; pending writes are finished before any
    read in this process and at exit. A head that lags its journal (a ``kill -9`` just after a
    commit) is fine: only a journal shorter than its head is a cut. A new rollout's first head
    is written before its creation commits, so no reader ever sees a sealed rollout without one.
    """

    def __init__(self, directory: Path, seal: Seal) -> None:
        self.directory, self.seal = directory, seal
        self.ledger = Ledger(directory, seal)
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="golive-heads")
        self._failed: StateError | None = None

    def path(self, rollout_id: str) -> Path:
        if rollout_id != TOKEN_LOG_HEAD and not _SAFE_ID.fullmatch(rollout_id):
            raise TamperedError(f"{rollout_id!r} is not a rollout id golive writes")
        return self.directory / rollout_id

    def write(self, rollout_id: str, head: Head) -> None:
        """Queue the head's write; a failure of an earlier one is raised here."""
        self._raise_failure()
        self._writer.submit(self._write, self.path(rollout_id), self._line(rollout_id, head))

    def write_now(self, rollout_id: str, head: Head) -> None:
        """Write a new rollout's first head before its creation commits."""
        self._write(self.path(rollout_id), self._line(rollout_id, head))
        self._raise_failure()

    def forget(self, rollout_id: str) -> None:
        """Remove the head of a rollout whose creation did not commit."""
        self.path(rollout_id).unlink(missing_ok=True)

    def _line(self, rollout_id: str, head: Head) -> str:
        return f"{head.seq} {head.hash} {self.seal.mac(*head_parts(rollout_id, head))}\n"

    def _write(self, path: Path, text: str) -> None:
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            # 0600, and like the database (synchronous=NORMAL) not fsynced: it survives a
            # process crash; after a power loss both may lose their last commits together
            write_atomically(path, text, durable=False)
        except OSError as exc:
            self._failed = StateError(f"cannot record the journal head {path}: {exc}")

    def settle(self) -> None:
        """Wait for the queued writes; raise if one failed."""
        self._writer.submit(lambda: None).result()
        self._raise_failure()

    def _raise_failure(self) -> None:
        failed, self._failed = self._failed, None
        if failed is not None:
            raise failed

    def close(self) -> None:
        self._writer.shutdown(wait=True)

    def read(self, rollout_id: str) -> Head | None:
        """The recorded head, None if there is none; a TamperedError if it was edited."""
        self.settle()
        path = self.path(rollout_id)
        try:
            fields = path.read_text().split()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StateError(f"cannot read the journal head {path}: {exc}") from exc
        if len(fields) == 3 and fields[0].isdigit():
            head = Head(int(fields[0]), fields[1])
            if self.seal.check(fields[2], *head_parts(rollout_id, head)):
                return head
        raise TamperedError(f"its journal head {path} was edited")

    def ids(self) -> list[str]:
        if not self.directory.is_dir():
            return []
        return sorted(p.name for p in self.directory.iterdir() if _SAFE_ID.fullmatch(p.name))
