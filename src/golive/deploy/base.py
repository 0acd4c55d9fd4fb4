"""The deploy seam: ensure, status, retire; each idempotent and safe to retry."""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from golive.plan.model import Revision


class Health(StrEnum):
    READY = "ready"
    STARTING = "starting"
    ABSENT = "absent"
    FAILED = "failed"


class Deployer(Protocol):
    async def ensure(self, revision: Revision) -> None:
        """Start the revision if it is not running; returns without waiting for readiness."""
        ...

    async def status(self, revision: Revision) -> Health: ...

    async def retire(self, revision: Revision) -> None:
        """Stop the revision if golive started it; a revision given only by URL is left alone."""
        ...
