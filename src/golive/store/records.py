"""Rows of the store as values, and the event hash chain (tampering is detectable)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from golive.engine.state import Event, RolloutId, RolloutState

GENESIS = "0" * 64


@dataclass(frozen=True, slots=True)
class RolloutRecord:
    id: RolloutId
    service: str
    plan_path: str
    plan_digest: str
    plan_text: str
    state: RolloutState
    version: int
    created_at: float
    updated_at: float
    lease_owner: str | None


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


def chain_hash(prev: str, rollout_id: str, at: float, event: Event) -> str:
    body = json.dumps(
        [prev, rollout_id, at, event.kind, event.message, event.data],
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest()


def verify_chain(events: list[StoredEvent]) -> int | None:
    """Seq of the first event whose hash does not match, or None when the chain is intact."""
    prev = GENESIS
    for e in events:
        expected = chain_hash(prev, e.rollout_id, e.at, Event(e.kind, e.message, e.data))
        if e.prev_hash != prev or e.hash != expected:
            return e.seq
        prev = e.hash
    return None
