"""API tokens in the store, each proven by the token log.

Only a token's SHA-256 is kept. Every change (created, revoked) is an entry of the token log,
chained and keyed like a rollout's journal (store/seal.py), written in the transaction that
makes the change; a created entry carries the MAC of the token's row. A row without its entry
(inserted by hand), unlike it (its roles edited), or a log whose chain does not verify is a
TamperedError when the token is used: writing the database is not enough to mint a token.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from golive.core.state import Event
from golive.errors import StateError, TamperedError
from golive.store.journal import TOKEN_LOG_HEAD, Heads
from golive.store.records import GENESIS, Head, StoredEvent, event_parts
from golive.store.seal import Seal
from golive.store.sql import queries

T = TypeVar("T")
TOKEN_LOG = "tokens"  # noqa: S105 (the token log's chain name, where a rollout's is its id)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


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


class TokenRecords:
    """Mixed into the store: it provides ``seal`` and ``_run``."""

    seal: Seal
    heads: Heads

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        raise NotImplementedError

    async def add_token(
        self, token: str, user: str, roles: tuple[str, ...], now: float, event: Event,
        admin: bool = False, expires_at: float | None = None,
    ) -> None:  # fmt: skip
        """A new token and its entry in the token log, at once."""
        await self._run(lambda db: self._insert(db, token, user, roles, admin, expires_at,
                                                now, event, first=False))  # fmt: skip

    async def bootstrap_token(self, token: str, user: str, now: float, event: Event) -> bool:
        """The first admin token, only while no admin token exists (checked in the same
        transaction); False when one already does."""
        return await self._run(
            lambda db: self._insert(db, token, user, (), True, None, now, event, first=True)
        )

    def _insert(
        self, db: sqlite3.Connection, token: str, user: str, roles: tuple[str, ...],
        admin: bool, expires_at: float | None, now: float, event: Event, first: bool,
    ) -> bool:  # fmt: skip
        q = queries()
        db.execute("BEGIN IMMEDIATE")
        try:
            if first and _admin_in_log(_verified_log(db, self.seal, self.heads), now):
                db.execute("ROLLBACK")
                return False
            h = token_hash(token)
            db.execute(q["insert_token"], {"hash": h, "user": user, "roles": json.dumps(roles),
                                           "now": now, "admin": int(admin),
                                           "expires_at": expires_at})  # fmt: skip
            row = db.execute(q["find_token"], {"hash": h}).fetchone()
            ref = {"hash": h, "mac": self.seal.mac(*_row_parts(row))}
            event = Event(event.kind, event.message, {**event.data, "row": ref})
            head = _log(db, self.seal, event, now)
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        self.heads.write_now(TOKEN_LOG_HEAD, head)
        return True

    async def find_token(self, token: str) -> TokenRecord | None:
        def read(db: sqlite3.Connection) -> TokenRecord | None:
            row = db.execute(queries()["find_token"], {"hash": token_hash(token)}).fetchone()
            log = _verified_log(db, self.seal, self.heads)
            return None if row is None else _proven(row, log, self.seal)

        return await self._run(read)

    async def tokens(self) -> list[TokenRecord]:
        def read(db: sqlite3.Connection) -> list[TokenRecord]:
            log = _verified_log(db, self.seal, self.heads)
            return [
                _proven(r, log, self.seal) for r in db.execute(queries()["list_tokens"]).fetchall()
            ]

        return await self._run(read)

    async def revoke_token(self, prefix: str, now: float, event: Event) -> TokenRecord:
        """Revoke the one token whose id starts with ``prefix``; StateError otherwise."""

        def tx(db: sqlite3.Connection) -> TokenRecord:
            db.execute("BEGIN IMMEDIATE")
            rows = db.execute(queries()["tokens_by_prefix"], {"prefix": prefix}).fetchall()
            if len(rows) != 1:
                db.execute("ROLLBACK")
                found = "no token" if not rows else f"{len(rows)} tokens"
                raise StateError(f"{found} with id {prefix!r}; 'golive token list' shows them")
            h = rows[0]["hash"]
            db.execute(queries()["revoke_token"], {"hash": h, "now": now})
            entry = Event(event.kind, event.message, {**event.data, "hash": h})
            head = _log(db, self.seal, entry, now)
            db.execute("COMMIT")
            self.heads.write_now(TOKEN_LOG_HEAD, head)
            return _token(rows[0])

        return await self._run(tx)

    async def token_log(self) -> list[StoredEvent]:
        """The token log, verified (TamperedError when its chain was edited or cut short)."""

        def read(db: sqlite3.Connection) -> list[StoredEvent]:
            return [
                StoredEvent(r["seq"], TOKEN_LOG, r["at"], r["kind"], r["message"],
                            json.loads(r["data"]), r["prev_hash"], r["hash"])
                for r in _verified_log(db, self.seal, self.heads)
            ]  # fmt: skip

        return await self._run(read)


def _row_parts(row: sqlite3.Row) -> tuple[object, ...]:
    return ("token", row["hash"], row["user"], row["roles"], row["admin"], row["expires_at"],
            row["created_at"])  # fmt: skip


def _verified_log(db: sqlite3.Connection, seal: Seal, heads: Heads) -> list[sqlite3.Row]:
    """The token log, its chain verified and as long as the head recorded outside the
    database says (emptied or cut short, it would let 'golive token init' mint a new admin)."""
    recorded = heads.read(TOKEN_LOG_HEAD)
    rows: list[sqlite3.Row] = db.execute(queries()["token_log"]).fetchall()
    prev, by_seq = GENESIS, {}
    for r in rows:
        parts = event_parts(prev, TOKEN_LOG, r["at"], r["kind"], r["message"], r["data"])
        if r["prev_hash"] != prev or not seal.check(r["hash"], *parts):
            raise TamperedError(
                f"the token log does not verify at entry {r['seq']} (edited or cut); "
                "no token is trusted until it is restored ('golive audit verify')"
            )
        prev = by_seq[r["seq"]] = r["hash"]
    if recorded is not None and by_seq.get(recorded.seq) != recorded.hash:
        raise TamperedError(
            f"the token log lacks entry {recorded.seq}, which its head "
            f"{heads.path(TOKEN_LOG_HEAD)} records (rows deleted); no token is trusted "
            "until it is restored"
        )
    return rows


def _admin_in_log(log: list[sqlite3.Row], now: float) -> bool:
    """Whether the token log proves an admin token that is neither revoked nor expired. The
    log, not the tokens table: an admin row marked revoked, or deleted, by hand must not open
    'golive token init' to whoever comes next."""
    admins: dict[str, float | None] = {}
    for entry in log:
        data = json.loads(entry["data"])
        ref = data.get("row")
        if entry["kind"] == "token_created" and data.get("admin") and isinstance(ref, dict):
            admins[str(ref.get("hash"))] = data.get("expires_at")
        elif entry["kind"] == "token_revoked":
            admins.pop(str(data.get("hash")), None)
    return any(expires is None or now < float(expires) for expires in admins.values())


def _proven(row: sqlite3.Row, log: list[sqlite3.Row], seal: Seal) -> TokenRecord:
    """The token as its log proves it: created by a genuine entry, revoked if one says so."""
    h, tid = row["hash"], row["hash"][:12]
    created = revoked = None
    for entry in log:
        data = json.loads(entry["data"])
        ref = data.get("row")
        if entry["kind"] == "token_created" and isinstance(ref, dict) and ref.get("hash") == h:
            created = ref
        if entry["kind"] == "token_revoked" and data.get("hash") == h:
            revoked = entry["at"]
    if created is None:
        raise TamperedError(f"token {tid} has no entry in the token log (inserted by hand?)")
    if not isinstance(created.get("mac"), str) or not seal.check(created["mac"], *_row_parts(row)):
        raise TamperedError(f"token {tid} does not match its token log entry (edited?)")
    record = _token(row)
    if revoked is not None and record.revoked_at is None:
        record = TokenRecord(record.id, record.user, record.roles, record.admin,
                             record.created_at, record.expires_at, revoked)  # fmt: skip
    return record


def _token(r: sqlite3.Row) -> TokenRecord:
    return TokenRecord(
        r["hash"][:12], r["user"], tuple(json.loads(r["roles"])), bool(r["admin"]),
        r["created_at"], r["expires_at"], r["revoked_at"],
    )  # fmt: skip


def _log(db: sqlite3.Connection, seal: Seal, event: Event, now: float) -> Head:
    """Append to the token log, chained and keyed like a rollout's journal."""
    q = queries()
    last = db.execute(q["last_token_hash"]).fetchone()
    prev = last["hash"] if last else GENESIS
    data = json.dumps(event.data, sort_keys=True, default=str)
    digest = seal.mac(*event_parts(prev, TOKEN_LOG, now, event.kind, event.message, data))
    entry = {"at": now, "kind": event.kind, "message": event.message, "data": data,
             "prev_hash": prev, "hash": digest}  # fmt: skip
    cur = db.execute(q["insert_token_log"], entry)
    return Head(int(cur.lastrowid or 0), digest)
