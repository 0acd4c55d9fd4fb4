"""Rows of the store as values, and what each row's MAC covers.

Every MAC golive writes is made with the :class:`~golive.store.seal.Seal` key, over the parts
listed here and nowhere else, so the writer (``store/journal.py``) and the auditor
(``store/audit.py``) cannot disagree about what a MAC proves.
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass

from golive.core.state import RolloutId, RolloutState
from golive.errors import TamperedError
from golive.plan.loader import parse_plan
from golive.plan.model import Plan
from golive.store.seal import Seal

GENESIS = "0" * 64
SEALED_SINCE = "0.2.0"  # the first golive whose records carry MACs


@dataclass(frozen=True, slots=True)
class RolloutRecord:
    id: RolloutId
    service: str
    plan_path: str
    plan_digest: str  # HMAC of plan_text, set by the store when it creates the rollout
    plan_text: str
    state: RolloutState
    version: int
    created_at: float
    updated_at: float
    lease_owner: str | None
    sealed: bool = True  # False: written before golive sealed its records


@dataclass(frozen=True, slots=True)
class StoredEvent:
    seq: int
    rollout_id: str
    at: float
    kind: str
    message: str
    data: dict[str, object]
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class Head:
    """The last entry of a rollout's journal: its seq and hash."""

    seq: int
    hash: str

    def short(self) -> str:
        return f"{self.seq} {self.hash[:12]}…"


# The columns a row's MAC covers, per table; a lease or a command's consumption is not a decision.
ROW_COLUMNS: dict[str, tuple[str, ...]] = {
    "signoffs": ("id", "rollout_id", "at", "step", "revision", "gate", "role", "by",
                 "decision", "note", "source"),
    "confirmations": ("id", "rollout_id", "at", "item", "role", "by", "note"),
    "commands": ("id", "rollout_id", "at", "verb", "by", "reason", "source"),
}  # fmt: skip
ROW_LABEL = {"signoffs": "signoff", "confirmations": "confirmation", "commands": "command"}
ROLLOUT_COLUMNS = ("id", "service", "plan_path", "plan_digest", "plan_text", "phase", "state",
                   "version", "created_at", "updated_at")  # fmt: skip


def event_parts(
    prev: str, rollout_id: str, at: float, kind: str, message: str, data: str
) -> tuple[object, ...]:
    """An event's hash covers these: keyed, chained to the one before (``data`` as stored)."""
    return ("event", prev, rollout_id, at, kind, message, data)


def plan_parts(plan_text: str) -> tuple[object, ...]:
    return ("plan", plan_text)


def row_parts(table: str, row: sqlite3.Row) -> tuple[object, ...]:
    parts = (table, *(row[c] for c in ROW_COLUMNS[table]))
    if table == "commands" and row["step"] is not None:  # bound commands (migration 5)
        return (*parts, "seen", row["step"], row["paused_at"])
    return parts


def measurement_parts(
    rollout_id: str, at: float, weight: float, stable: str, canary: str
) -> tuple[object, ...]:
    """A measurement's MAC covers these (the snapshots as stored): the judge replays them."""
    return ("measurement", rollout_id, at, weight, stable, canary)


def rollout_parts(row: sqlite3.Row, head: Head) -> tuple[object, ...]:
    """The rollouts row, bound to its journal's last entry: an old copy of the row put back
    over a longer journal does not verify."""
    return ("rollout", *(row[c] for c in ROLLOUT_COLUMNS), head.seq, head.hash)


def head_parts(rollout_id: str, head: Head) -> tuple[object, ...]:
    return ("head", rollout_id, head.seq, head.hash)


def plan_matches(seal: Seal, record: RolloutRecord, plan_text: str) -> bool:
    """Whether ``plan_text`` is the plan the rollout was sealed with."""
    if record.sealed:
        return seal.check(record.plan_digest, *plan_parts(plan_text))
    # written before records were sealed: an unkeyed digest, still worth comparing
    return hashlib.sha256(plan_text.encode()).hexdigest() == record.plan_digest


def load_plan(seal: Seal, record: RolloutRecord) -> Plan:
    """The plan a rollout was started with, refused if its text no longer matches the digest
    golive sealed it with: wherever a stored plan is read, an edited plan is never run."""
    if not plan_matches(seal, record, record.plan_text):
        raise TamperedError(
            f"rollout {record.id}: its stored plan was edited (the digest does not match); "
            f"golive will not run it ('golive audit verify {record.id}')"
        )
    return parse_plan(record.plan_text, record.plan_path)
