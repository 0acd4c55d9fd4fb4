"""An outbox message, as the store keeps it: pure data shared by the core and the store.

A :class:`Notice` is made by :func:`golive.notify.route.outbox_for` and written by the store in
the same transaction as the journal events that caused it; its ``id`` is the idempotency key
(the ``webhook-id`` a receiver sees), stable across retries and restarts because it is stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Delivery(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # given up after the channel's attempts; the last error is kept


@dataclass(frozen=True, slots=True)
class Notice:
    id: str  # msg_<hex>: the idempotency key
    rollout_id: str
    channel: str
    kind: str  # started, status, incident, waiting, succeeded, rolled_back
    severity: str  # info, warning, critical
    title: str
    text: str
    data: dict[str, object] = field(default_factory=dict)
    target: dict[str, object] = field(default_factory=dict)  # Channel.target(): references only

    def payload(self, at: float) -> dict[str, object]:
        """The JSON body a webhook receives (Standard Webhooks: type, timestamp, data)."""
        return {
            "type": f"rollout.{self.kind}",
            "timestamp": at,
            "data": {"id": self.id, "rollout": self.rollout_id, "severity": self.severity,
                     "title": self.title, "text": self.text, **self.data},
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """A notice with where its delivery stands."""

    notice: Notice
    created_at: float
    status: Delivery = Delivery.PENDING
    attempts: int = 0
    next_at: float = 0.0
    last_error: str = ""
    done_at: float | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt came to: sent, to retry at ``next_at``, or given up (failed)."""

    status: Delivery
    error: str = ""
    next_at: float = 0.0


@dataclass(frozen=True, slots=True)
class Figures:
    """What a status update says about the canary against the stable, at one moment."""

    canary_weight: float
    stable: tuple[int, float | None, float | None]  # requests, error rate, p95 latency (ms)
    canary: tuple[int, float | None, float | None]
    verdict: str  # the judge's call and its reason
