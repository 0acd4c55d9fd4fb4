"""Sign-offs, checklist confirmations, operator commands and API tokens: what people add to a
rollout's record.

A sign-off, a confirmation or a command is written together with an event in the rollout's
keyed chain, in one transaction, the event carrying the row's MAC: the journal shows who
approved or asked for what and when, and a row without its event (forged) or unlike it (edited)
is refused when read (store/journal.py). Sign-offs are append-only, and one per (rollout, step,
revision, role): a second one for the same role is refused.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import TypeVar

from golive.core.state import CommandVerb, Confirmation, Event, Signoff
from golive.errors import StateError
from golive.store import journal
from golive.store.base import SignoffGuard
from golive.store.seal import Seal
from golive.store.sql import queries

T = TypeVar("T")


class GateRecords:
    """Mixed into the store: it provides ``seal``, ``_run`` and ``_sealed``."""

    seal: Seal

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        raise NotImplementedError

    async def _sealed(self, rollout_id: str, body: Callable[[sqlite3.Connection], T]) -> T:
        raise NotImplementedError

    async def _insert_with_event(
        self, rollout_id: str, table: str, params: dict[str, object], event: Event, at: float,
        duplicate: str, guard: Callable[[sqlite3.Connection], None] | None = None,
    ) -> None:  # fmt: skip
        """The row and its journal event in one transaction; a duplicate row is refused, and so
        is one ``guard`` raises on (read inside the same transaction: no race between them)."""

        values = {"id": rollout_id, "at": at, **params}

        def body(db: sqlite3.Connection) -> None:
            if guard is not None:
                guard(db)
            try:
                cur = db.execute(queries()[f"insert_{table}"], values)
            except sqlite3.IntegrityError:
                raise StateError(duplicate) from None
            linked = journal.link(db, self.seal, table, int(cur.lastrowid or 0), event)
            journal.append(db, self.seal, rollout_id, [linked], at)

        await self._sealed(rollout_id, body)

    async def _rows(self, rollout_id: str, table: str, verify: bool) -> list[sqlite3.Row]:
        """The rows, each proven by its journal event (a TamperedError if one is not), or as
        stored when ``verify`` is False (to show a record that failed its audit)."""
        if not verify:
            return await self._run(
                lambda db: db.execute(queries()[table], {"id": rollout_id}).fetchall()
            )
        return await self._run(lambda db: journal.verified_rows(db, self.seal, rollout_id, table))

    async def add_signoff(
        self, rollout_id: str, s: Signoff, event: Event, guard: SignoffGuard | None = None
    ) -> None:
        """Record a sign-off; ``guard`` sees the sign-offs already recorded, in the same
        transaction, and refuses by raising (separation of duties cannot be raced)."""
        params: dict[str, object] = {
            "step": s.step, "revision": s.revision, "gate": s.gate, "role": s.role, "by": s.by,
            "decision": "approve" if s.approve else "reject", "note": s.note, "source": s.source,
        }  # fmt: skip
        duplicate = f"the {s.role} sign-off for this step is already recorded"

        def check(db: sqlite3.Connection) -> None:
            if guard is not None:
                guard([_signoff(r) for r in journal.verified_rows(db, self.seal, rollout_id,
                                                                  "signoffs")])  # fmt: skip

        await self._insert_with_event(rollout_id, "signoffs", params, event, s.at, duplicate, check)

    async def signoffs(self, rollout_id: str, verify: bool = True) -> list[Signoff]:
        return [_signoff(r) for r in await self._rows(rollout_id, "signoffs", verify)]

    async def add_confirmation(self, rollout_id: str, c: Confirmation, event: Event) -> None:
        params: dict[str, object] = {"item": c.item, "role": c.role, "by": c.by, "note": c.note}
        duplicate = f"{c.item!r} is already confirmed"
        await self._insert_with_event(rollout_id, "confirmations", params, event, c.at, duplicate)

    async def confirmations(self, rollout_id: str, verify: bool = True) -> list[Confirmation]:
        rows = await self._rows(rollout_id, "confirmations", verify)
        return [Confirmation(r["item"], r["role"], r["by"], r["note"], r["at"]) for r in rows]

    async def add_command(
        self, rollout_id: str, verb: CommandVerb, by: str, reason: str, now: float,
        source: str = "", step: int | None = None, paused_at: float | None = None,
    ) -> None:  # fmt: skip
        """An operator command for the rollout's controller, recorded in its journal with who
        asked, how they were identified and why, and the step (and pause) they saw."""
        who = by + (f" ({source})" if source else "")
        event = Event(
            "command",
            f"{verb.value} requested by {who}" + (f": {reason}" if reason else ""),
            {"verb": verb.value, "by": by, "source": source, "reason": reason, "step": step},
        )
        params: dict[str, object] = {
            "verb": verb.value, "by": by, "reason": reason, "source": source, "step": step,
            "paused_at": paused_at,
        }  # fmt: skip
        await self._insert_with_event(
            rollout_id, "commands", params, event, now, f"cannot record {verb.value}"
        )


def _signoff(r: sqlite3.Row) -> Signoff:
    return Signoff(
        r["step"], r["revision"], r["gate"], r["role"], r["by"], r["decision"] == "approve",
        r["note"], r["at"], r["source"],
    )  # fmt: skip
