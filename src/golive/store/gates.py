"""Sign-offs, checklist confirmations, operator commands and API tokens: what people add to a
rollout's record.

A sign-off, a confirmation or a command is written together with an event in the rollout's
keyed chain, in one transaction, the event carrying the row's MAC: the journal shows who
approved or asked for what and when, and a row without its event (forged) or unlike it (edited)
is refused when read (store/journal.py). Sign-offs are append-only, and one per (rollout, step,
revision, role): a second one for the same role is refused.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from golive.engine.state import CommandVerb, Confirmation, Event, Signoff
from golive.errors import StateError
from golive.store import journal
from golive.store.records import GENESIS, StoredEvent, event_parts
from golive.store.seal import Seal
from golive.store.sql import queries

T = TypeVar("T")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class GateRecords:
    """Mixed into the store: it provides ``seal``, ``_run`` and ``_sealed``."""

    seal: Seal

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        raise NotImplementedError

    async def _sealed(self, rollout_id: str, body: Callable[[sqlite3.Connection], T]) -> T:
        raise NotImplementedError

    async def _insert_with_event(
        self, rollout_id: str, table: str, params: dict[str, object], event: Event, at: float,
        duplicate: str, guard: Callable[[sqlite3.Connection], str | None] | None = None,
    ) -> None:  # fmt: skip
        """The row and its journal event in one transaction; a duplicate row is refused, and so
        is one ``guard`` objects to (read inside the same transaction: no race between them)."""

        values = {"id": rollout_id, "at": at, **params}

        def body(db: sqlite3.Connection) -> None:
            refusal = guard(db) if guard is not None else None
            if refusal is not None:
                raise StateError(refusal)
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
            rows = journal.verified_rows(db, self.seal, rollout_id, "signoffs")
            return guard([_signoff(r) for r in rows])

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
        source: str = "",
    ) -> None:  # fmt: skip
        """An operator command for the rollout's controller, recorded in its journal with who
        asked, how they were identified and why."""
        who = by + (f" ({source})" if source else "")
        event = Event(
            "command",
            f"{verb.value} requested by {who}" + (f": {reason}" if reason else ""),
            {"verb": verb.value, "by": by, "source": source, "reason": reason},
        )
        params: dict[str, object] = {
            "verb": verb.value, "by": by, "reason": reason, "source": source,
        }  # fmt: skip
        await self._insert_with_event(
            rollout_id, "commands", params, event, now, f"cannot record {verb.value}"
        )

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
            _log(db, self.seal, event, now)
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
            _log(db, self.seal, event, now)
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
            _log(db, self.seal, event, now)
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


def _log(db: sqlite3.Connection, seal: Seal, event: Event, now: float) -> None:
    """Append to the token log, chained and keyed like a rollout's journal."""
    q = queries()
    row = db.execute(q["last_token_hash"]).fetchone()
    prev = row["hash"] if row else GENESIS
    data = json.dumps(event.data, sort_keys=True, default=str)
    digest = seal.mac(*event_parts(prev, TOKEN_LOG, now, event.kind, event.message, data))
    db.execute(
        q["insert_token_log"],
        {"at": now, "kind": event.kind, "message": event.message, "data": data,
         "prev_hash": prev, "hash": digest},
    )  # fmt: skip
