"""Auditing a rollout's record: does everything golive wrote still verify against its key?

One pass over one read snapshot: the event chain (each hash an HMAC over the one before), the
journal's head kept outside the database (a cut tail shows), the stored plan's digest, the
rollouts row's MAC, and every sign-off, confirmation and operator command against the journal
event written with it. The first bad entry is named, as a person would look for it.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from enum import StrEnum

from golive.errors import StateError, TamperedError
from golive.store.journal import Heads, links, measurement_problem, row_problem, unsealed
from golive.store.records import (
    GENESIS,
    ROW_COLUMNS,
    ROW_LABEL,
    SEALED_SINCE,
    Head,
    event_parts,
    plan_parts,
    rollout_parts,
)
from golive.store.seal import Seal
from golive.store.sql import queries


class Verdict(StrEnum):
    INTACT = "intact"
    UNSEALED = "unsealed"  # written before golive sealed its records: nothing to check against
    TAMPERED = "tampered"


@dataclass(frozen=True, slots=True)
class Audit:
    rollout_id: str
    verdict: Verdict
    problem: str = ""
    head: Head | None = None  # the journal's last entry as found in the database
    events: int = 0

    def describe(self) -> str:
        if self.verdict is Verdict.TAMPERED:
            return f"TAMPERED: {self.problem}"
        if self.verdict is Verdict.UNSEALED:
            return self.problem
        head = f", journal head {self.head.short()}" if self.head else ""
        return f"intact ({self.events} events{head})"


def audit_rollout(db: sqlite3.Connection, seal: Seal, heads: Heads, rollout_id: str) -> Audit:
    """The rollout's audit; ``db`` is read in one snapshot, the head file before it (a commit
    landing in between makes the journal longer than its head, never shorter)."""
    try:
        recorded = heads.read(rollout_id)
    except TamperedError as exc:
        return Audit(rollout_id, Verdict.TAMPERED, str(exc))
    db.execute("BEGIN")
    try:
        return _audit(db, seal, rollout_id, recorded, heads)
    finally:
        db.execute("COMMIT")


def audit_all(db: sqlite3.Connection, seal: Seal, heads: Heads) -> list[Audit]:
    """Every rollout in the database, and every rollout whose head outlived its row."""
    ids = [r["id"] for r in db.execute(queries()["all_rollout_ids"])]
    ids += [i for i in heads.ids() if i not in set(ids)]
    try:
        ids += [i for i in heads.ledger.ids() if i not in set(ids)]
    except TamperedError as exc:
        return [*(audit_rollout(db, seal, heads, i) for i in ids),
                Audit("ledger", Verdict.TAMPERED, str(exc))]  # fmt: skip
    return [audit_rollout(db, seal, heads, i) for i in ids]


def _audit(
    db: sqlite3.Connection, seal: Seal, rollout_id: str, recorded: Head | None, heads: Heads
) -> Audit:
    q = queries()
    row = db.execute(q["get_rollout"], {"id": rollout_id}).fetchone()

    def bad(problem: str) -> Audit:
        return Audit(rollout_id, Verdict.TAMPERED, problem)

    if row is None and recorded is None:
        if rollout_id in heads.ledger.ids():
            return bad(
                "listed in the rollout ledger, but gone from the database and its journal head "
                "removed (deleted)"
            )
        raise StateError(f"no rollout {rollout_id!r}; 'golive status' lists them")
    if row is None:
        return bad("its journal head exists but the rollout is gone from the database (deleted)")
    if row["seal"] is None:
        if recorded is not None or not unsealed(db, seal, rollout_id):
            return bad("rollout row edited (its seal was removed)")
        why = f"unsealed (written before golive {SEALED_SINCE}): cannot be verified"
        return Audit(rollout_id, Verdict.UNSEALED, why)
    events = db.execute(q["events"], {"id": rollout_id, "after": 0}).fetchall()
    prev, by_seq = GENESIS, {}
    for e in events:
        if e["prev_hash"] != prev:
            return bad(f"event {e['seq']}: the entry before it is missing or changed (deleted?)")
        parts = event_parts(prev, rollout_id, e["at"], e["kind"], e["message"], e["data"])
        if not seal.check(e["hash"], *parts):
            return bad(f"event {e['seq']}: hash does not match (edited?)")
        prev, by_seq[e["seq"]] = e["hash"], e["hash"]
    end = Head(events[-1]["seq"], prev) if events else Head(0, GENESIS)
    if recorded is None:
        return bad(f"its journal head {heads.path(rollout_id)} is missing (deleted?)")
    if recorded.seq > end.seq:
        return bad(f"journal ends at {end.seq} but its head says {recorded.seq} (rows deleted)")
    if by_seq.get(recorded.seq, "") != recorded.hash:
        return bad(f"event {recorded.seq}: not the entry its journal head recorded (rewritten?)")
    if not seal.check(row["plan_digest"], *plan_parts(row["plan_text"])):
        return bad("stored plan edited (its digest does not match)")
    if not seal.check(row["seal"], *rollout_parts(row, end)):
        return bad("rollout row edited")
    problem = _rows_problem(db, seal, rollout_id, events)
    if problem is None:
        measured = db.execute(q["measurements"], {"id": rollout_id}).fetchall()
        problem = measurement_problem(seal, rollout_id, measured)
    if problem is not None:
        return bad(problem)
    return Audit(rollout_id, Verdict.INTACT, "", end, len(events))


def _rows_problem(
    db: sqlite3.Connection, seal: Seal, rollout_id: str, events: list[sqlite3.Row]
) -> str | None:
    """Sign-offs, confirmations and commands against the (verified) events that record them."""
    linked = links(events)
    present: set[tuple[str, int]] = set()
    for table in ROW_COLUMNS:
        rows = db.execute(queries()[table], {"id": rollout_id}).fetchall()
        problem = row_problem(seal, table, rows, linked)
        if problem is not None:
            return problem
        present.update((table, r["id"]) for r in rows)
    for (table, row_id), (seq, _) in sorted(linked.items(), key=lambda kv: kv[1][0]):
        if (table, row_id) not in present:
            label = ROW_LABEL[table]
            return f"event {seq} records {label} row {row_id}, which is missing (deleted)"
    return None
