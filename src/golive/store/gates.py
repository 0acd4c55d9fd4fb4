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
from dataclasses import dataclass
from typing import TypeVar

from golive.engine.state import Confirmation, Event, Signoff
from golive.errors import StateError
from golive.store.records import GENESIS, StoredEvent, chain_hash
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
        duplicate: str, guard: Callable[[sqlite3.Connection], str | None] | None = None,
    ) -> None:  # fmt: skip
        """The row and its journal event in one transaction; a duplicate row is refused, and so
        is one ``guard`` objects to (read inside the same transaction: no race between them)."""

        def tx(db: sqlite3.Connection) -> None:
            db.execute("BEGIN IMMEDIATE")
            refusal = guard(db) if guard is not None else None
            if refusal is not None:
                db.execute("ROLLBACK")
                raise StateError(refusal)
            try:
                db.execute(queries()[query], {"id": rollout_id, "at": at, **params})
            except sqlite3.IntegrityError:
                db.execute("ROLLBACK")
                raise StateError(duplicate) from None
            self._append(db, rollout_id, [event], at)
            db.execute("COMMIT")

        await self._run(tx)

    async def add_signoff(
        self, rollout_id: str, s: Signoff, event: Event,
        guard: Callable[[list[Signoff]], str | None] | None = None,
    ) -> None:  # fmt: skip
        """Record a sign-off; ``guard`` sees the sign-offs already recorded, in the same
        transaction, and refuses with a reason (separation of duties cannot be raced)."""
        params: dict[str, object] = {
            "step": s.step, "revision": s.revision, "gate": s.gate, "role": s.role, "by": s.by,
            "decision": "approve" if s.approve else "reject", "note": s.note, "source": s.source,
        }  # fmt: skip
        duplicate = f"the {s.role} sign-off for this step is already recorded"

        def check(db: sqlite3.Connection) -> str | None:
            if guard is None:
                return None
            rows = db.execute(queries()["signoffs"], {"id": rollout_id}).fetchall()
            return guard([_signoff(r) for r in rows])

        await self._insert_with_event(
            rollout_id, "insert_signoff", params, event, s.at, duplicate, check
        )

    async def signoffs(self, rollout_id: str) -> list[Signoff]:
        rows = await self._run(
            lambda db: db.execute(queries()["signoffs"], {"id": rollout_id}).fetchall()
        )
        return [_signoff(r) for r in rows]

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

    async def add_token(
        self, token: str, user: str, roles: tuple[str, ...], now: float, event: Event,
        admin: bool = False, expires_at: float | None = None,
    ) -> None:  # fmt: skip
        """A new token (only its SHA-256 is kept) and its entry in the token log, at once."""
        params = {
            "hash": token_hash(token), "user": user, "roles": json.dumps(roles), "now": now,
            "admin": int(admin), "expires_at": expires_at,
        }  # fmt: skip

        def tx(db: sqlite3.Connection) -> None:
            db.execute("BEGIN IMMEDIATE")
            db.execute(queries()["insert_token"], params)
            _log(db, event, now)
            db.execute("COMMIT")

        await self._run(tx)

    async def bootstrap_token(self, token: str, user: str, now: float, event: Event) -> bool:
        """The first admin token, only while no admin token exists (checked in the same
        transaction); False when one already does."""
        params = {
            "hash": token_hash(token), "user": user, "roles": "[]", "now": now, "admin": 1,
            "expires_at": None,
        }  # fmt: skip

        def tx(db: sqlite3.Connection) -> bool:
            db.execute("BEGIN IMMEDIATE")
            if db.execute(queries()["admin_tokens"]).fetchone()[0]:
                db.execute("ROLLBACK")
                return False
            db.execute(queries()["insert_token"], params)
            _log(db, event, now)
            db.execute("COMMIT")
            return True

        return await self._run(tx)

    async def find_token(self, token: str) -> TokenRecord | None:
        row = await self._run(
            lambda db: db.execute(queries()["find_token"], {"hash": token_hash(token)}).fetchone()
        )
        return None if row is None else _token(row)

    async def tokens(self) -> list[TokenRecord]:
        rows = await self._run(lambda db: db.execute(queries()["list_tokens"]).fetchall())
        return [_token(r) for r in rows]

    async def revoke_token(self, prefix: str, now: float, event: Event) -> TokenRecord:
        """Revoke the one token whose id starts with ``prefix``; StateError otherwise."""

        def tx(db: sqlite3.Connection) -> TokenRecord:
            db.execute("BEGIN IMMEDIATE")
            rows = db.execute(queries()["tokens_by_prefix"], {"prefix": prefix}).fetchall()
            if len(rows) != 1:
                db.execute("ROLLBACK")
                found = "no token" if not rows else f"{len(rows)} tokens"
                raise StateError(f"{found} with id {prefix!r}; 'golive token list' shows them")
            db.execute(queries()["revoke_token"], {"hash": rows[0]["hash"], "now": now})
            _log(db, event, now)
            db.execute("COMMIT")
            return _token(rows[0])

        return await self._run(tx)

    async def token_log(self) -> list[StoredEvent]:
        rows = await self._run(lambda db: db.execute(queries()["token_log"]).fetchall())
        return [
            StoredEvent(r["seq"], TOKEN_LOG, r["at"], r["kind"], r["message"],
                        json.loads(r["data"]), r["prev_hash"], r["hash"])
            for r in rows
        ]  # fmt: skip


TOKEN_LOG = "tokens"  # noqa: S105 (a chain name: a rollout's chain has its id)


@dataclass(frozen=True, slots=True)
class TokenRecord:
    id: str  # the first 12 hex digits of the token's hash: safe to show
    user: str
    roles: tuple[str, ...]
    admin: bool
    created_at: float
    expires_at: float | None
    revoked_at: float | None

    def valid(self, now: float) -> bool:
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)


def _token(r: sqlite3.Row) -> TokenRecord:
    return TokenRecord(
        r["hash"][:12], r["user"], tuple(json.loads(r["roles"])), bool(r["admin"]),
        r["created_at"], r["expires_at"], r["revoked_at"],
    )  # fmt: skip


def _signoff(r: sqlite3.Row) -> Signoff:
    return Signoff(
        r["step"], r["revision"], r["gate"], r["role"], r["by"], r["decision"] == "approve",
        r["note"], r["at"], r["source"],
    )  # fmt: skip


def _log(db: sqlite3.Connection, event: Event, now: float) -> None:
    q = queries()
    row = db.execute(q["last_token_hash"]).fetchone()
    prev = row["hash"] if row else GENESIS
    db.execute(
        q["insert_token_log"],
        {
            "at": now, "kind": event.kind, "message": event.message,
            "data": json.dumps(event.data, sort_keys=True, default=str), "prev_hash": prev,
            "hash": chain_hash(prev, TOKEN_LOG, now, event),
        },
    )  # fmt: skip
