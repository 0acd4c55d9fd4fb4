"""Leases: which controller drives a rollout, and for how long.

A lease is not a decision: it is neither sealed nor journaled. A lease held by a live controller
is a LeaseError for anyone else; one whose owner process is dead (same host) is free at once.
"""

from __future__ import annotations

import socket
import sqlite3
from collections.abc import Callable
from typing import TypeVar

from golive.errors import LeaseError
from golive.processes import pid_alive
from golive.store.sql import queries

T = TypeVar("T")


def owner_id(pid: int) -> str:
    return f"{socket.gethostname()}:{pid}"


def _local_pid(owner: str) -> str | None:
    """The pid part of ``host:pid`` when the owner runs on this host (None elsewhere)."""
    host, _, pid = owner.rpartition(":")
    return pid if host == socket.gethostname() else None


def controller_alive(owner: str | None) -> bool | None:
    """Whether the lease holder still runs: None when it is on another host (unknown)."""
    if not owner:
        return False
    pid = _local_pid(owner)
    if pid is None:
        return None
    return pid.isdigit() and pid_alive(int(pid))


def owner_dead(owner: str) -> bool:
    """Whether the lease holder is a process of this host that no longer runs."""
    pid = _local_pid(owner)
    return pid is not None and pid.isdigit() and not pid_alive(int(pid))


class LeaseRecords:
    """Mixed into the store: it provides ``_run``."""

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        raise NotImplementedError

    async def acquire_lease(self, rollout_id: str, owner: str, ttl: float, now: float) -> None:
        """Own the rollout for ``ttl`` seconds; LeaseError if a live controller owns it."""
        q = queries()

        def tx(db: sqlite3.Connection) -> None:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute(q["get_rollout"], {"id": rollout_id}).fetchone()
            held = row["lease_owner"]
            if held and held != owner and (row["lease_until"] or 0) > now and not owner_dead(held):
                db.execute("ROLLBACK")
                raise LeaseError(f"rollout {rollout_id} is driven by {held}")
            db.execute(q["take_lease"], {"id": rollout_id, "owner": owner, "until": now + ttl})
            db.execute("COMMIT")

        await self._run(tx)

    async def release_lease(self, rollout_id: str, owner: str) -> None:
        await self._run(
            lambda db: db.execute(queries()["release_lease"], {"id": rollout_id, "owner": owner})
        )
