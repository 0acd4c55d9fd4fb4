"""The router seam: four async, idempotent methods (Flagger's router is four too).

``observe`` reads the split the router is actually serving (not what we last wrote);
``verify`` says whether the split is served yet: every router golive drives can read its split
back, so there is no "cannot tell" to answer.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from golive.plan.model import Split
from golive.proxy.lifecycle import ProxyLifecycle
from golive.proxy.upstreams import Upstreams, server_urls

__all__ = ["Proxy", "Router", "Upstreams", "Verification", "server_urls"]


class Verification(StrEnum):
    VERIFIED = "verified"
    PENDING = "pending"


class Router(Protocol):
    async def observe(self) -> Split:
        """The split being served now; raises TransientError when the router cannot be read."""
        ...

    async def apply(self, split: Split) -> None:
        """Ask the router to serve ``split``; idempotent, returns before it takes effect."""
        ...

    async def verify(self, split: Split) -> Verification:
        """Whether the router serves ``split`` now."""
        ...

    async def reset(self) -> None:
        """Send everything to stable (the safe state)."""
        ...


class Proxy(Router, ProxyLifecycle, Protocol):
    """What a router kind's factory builds: a router that golive also starts (or attaches to)
    and stops (:class:`golive.plan.registry.RouterKind`)."""
