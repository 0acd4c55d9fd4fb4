"""Sign-offs, checklist confirmations and API tokens: what people add to a rollout's record.

A sign-off or a confirmation is written together with an event in the rollout's hash chain, in
one transaction, so the journal shows who approved what and when. Sign-offs are append-only,
and one per (rollout, step, revision, role): a second one for the same role is refused.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable
from typing import TypeVar

from golive.engine.state import Confirmation, Event, Signoff
from golive.errors import StateError
from golive.store.sql import queries

T = TypeVar("T")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class GateRecords:
    """Mixed into the store: it provides ``_run`` and ``_append``."""

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        raise NotImplementedError

    @staticmethod
    def _append(db: sqlite3.Connection, rollout_id: str, events: list[Event], now: float) -> None:
        raise NotImplementedError

    async def _insert_with_event(
        self, rollout_id: str, query: str, params: dict[str, object], event: Event, at: float,
        duplicate: str,
    ) -> None:  # fmt: skip
        """The row and its journal event in one transaction; a duplicate row is refused."""

        def tx(db: sqlite3.Connection) -> None:
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute(queries()[query], {"id": rollout_id, "at": at, **params})
            except sqlite3.IntegrityError:
                db.execute("ROLLBACK")
                raise StateError(duplicate) from None
            self._append(db, rollout_id, [event], at)
            db.execute("COMMIT")

        await self._run(tx)

    async def add_signoff(self, rollout_id: str, s: Signoff, event: Event) -> None:
        params: dict[str, object] = {
            "step": s.step, "revision": s.revision, "gate": s.gate, "role": s.role, "by": s.by,
            "decision": "approve" if s.approve else "reject", "note": s.note,
        }  # fmt: skip
        duplicate = f"the {s.role} sign-off for this step is already recorded"
        await self._insert_with_event(rollout_id, "insert_signoff", params, event, s.at, duplicate)

    async def signoffs(self, rollout_id: str) -> list[Signoff]:
        rows = await self._run(
            lambda db: db.execute(queries()["signoffs"], {"id": rollout_id}).fetchall()
        )
        return [
            Signoff(r["step"], r["revision"], r["gate"], r["role"], r["by"],
                    r["decision"] == "approve", r["note"], r["at"])
            for r in rows
        ]  # fmt: skip

    async def add_confirmation(self, rollout_id: str, c: Confirmation, event: Event) -> None:
        params: dict[str, object] = {"item": c.item, "role": c.role, "by": c.by, "note": c.note}
        duplicate = f"{c.item!r} is already confirmed"
        await self._insert_with_event(
            rollout_id, "insert_confirmation", params, event, c.at, duplicate
        )

    async def confirmations(self, rollout_id: str) -> list[Confirmation]:
        rows = await self._run(
            lambda db: db.execute(queries()["confirmations"], {"id": rollout_id}).fetchall()
        )
        return [Confirmation(r["item"], r["role"], r["by"], r["note"], r["at"]) for r in rows]

    async def add_token(self, token: str, user: str, roles: tuple[str, ...], now: float) -> None:
        params = {"hash": token_hash(token), "user": user, "roles": json.dumps(roles), "now": now}
        await self._run(lambda db: db.execute(queries()["insert_token"], params))

    async def find_token(self, token: str) -> tuple[str, tuple[str, ...]] | None:
        row = await self._run(
            lambda db: db.execute(queries()["find_token"], {"hash": token_hash(token)}).fetchone()
        )
        return None if row is None else (row["user"], tuple(json.loads(row["roles"])))
