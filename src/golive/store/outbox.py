"""The outbox in SQLite: notices inserted in the writer's transaction, claimed by one worker at a
time (a claim held by a dead process is free at once, as a lease is), and settled as sent, to be
retried, or failed. What is claimed and not settled (a worker killed mid-send) is sent again by
the next worker with the same id: at least once, the receiver deduplicating by ``webhook-id``."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable
from typing import TypeVar

from golive.notify.notice import Delivery, Notice, OutboxItem, Outcome
from golive.store.leases import owner_dead
from golive.store.sql import queries

T = TypeVar("T")


def insert(db: sqlite3.Connection, notices: Iterable[Notice], now: float) -> None:
    """Inside the caller's transaction: the notices of the events it writes."""
    q = queries()["insert_outbox"]
    for n in notices:
        db.execute(q, {"id": n.id, "rollout_id": n.rollout_id, "channel": n.channel,
                       "kind": n.kind, "severity": n.severity, "title": n.title, "text": n.text,
                       "data": json.dumps(n.data, default=str), "target": json.dumps(n.target),
                       "now": now})  # fmt: skip


def item(row: sqlite3.Row) -> OutboxItem:
    notice = Notice(row["id"], row["rollout_id"], row["channel"], row["kind"], row["severity"],
                    row["title"], row["text"], json.loads(row["data"]),
                    json.loads(row["target"]))  # fmt: skip
    return OutboxItem(notice, row["created_at"], Delivery(row["status"]), row["attempts"],
                      row["next_at"], row["last_error"], row["done_at"])  # fmt: skip


class OutboxRecords:
    """Mixed into the store: it provides ``_run``."""

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        raise NotImplementedError

    async def claim_outbox(
        self, owner: str, now: float, limit: int = 50, hold: float = 60.0
    ) -> list[OutboxItem]:
        q = queries()

        def tx(db: sqlite3.Connection) -> list[OutboxItem]:
            db.execute("BEGIN IMMEDIATE")
            try:
                held = [r[0] for r in db.execute(q["outbox_claimants"], {"now": now})]
                dead = json.dumps([o for o in held if o != owner and owner_dead(o)])
                rows = db.execute(q["outbox_due"], {"now": now, "owner": owner, "dead": dead,
                                                    "limit": limit}).fetchall()  # fmt: skip
                for r in rows:
                    db.execute(q["outbox_claim"], {"owner": owner, "until": now + hold,
                                                   "id": r["id"]})  # fmt: skip
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            return [item(r) for r in rows]

        return await self._run(tx)

    async def settle_outbox(self, msg_id: str, outcome: Outcome, now: float) -> None:
        done = None if outcome.status is Delivery.PENDING else now
        params = {"id": msg_id, "status": outcome.status.value, "next_at": outcome.next_at,
                  "error": outcome.error[:2000], "done_at": done}  # fmt: skip
        await self._run(lambda db: db.execute(queries()["outbox_settle"], params))

    async def release_outbox(self, owner: str) -> None:
        await self._run(lambda db: db.execute(queries()["outbox_release"], {"owner": owner}))

    async def outbox(self, rollout_id: str | None = None, limit: int = 100_000) -> list[OutboxItem]:
        rows = await self._run(
            lambda db: db.execute(
                queries()["outbox_of"], {"rollout_id": rollout_id, "limit": limit}
            ).fetchall()
        )
        return [item(r) for r in rows]
