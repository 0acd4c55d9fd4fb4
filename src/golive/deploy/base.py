"""The deploy seam: ensure, status, retire; each idempotent and safe to retry."""

from __future__ import annotations

from typing import Protocol

from golive.core.results import Health
from golive.plan.model import Revision


class Deployer(Protocol):
    async def ensure(self, revision: Revision) -> None:
        """Start the revision if it is not running; returns without waiting for readiness."""
        ...

    async def status(self, revision: Revision) -> Health: ...

    async def owns(self, revision: Revision) -> bool:
        """golive runs this revision's process and may stop it: the canary when this rollout
        started it, the stable when an earlier rollout started (and promoted) it."""
        ...

    async def retire(self, revision: Revision) -> None:
        """Stop the revision if golive owns it; anything else is left alone."""
        ...
