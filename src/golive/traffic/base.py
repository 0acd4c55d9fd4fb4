"""The router seam: four async, idempotent methods (Flagger's router is four too).

``observe`` reads the split the router is actually serving (not what we last wrote);
``verify`` says whether the split is served yet: every router golive drives can read its split
back, so there is no "cannot tell" to answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Protocol

from golive.plan.model import Split

Upstreams = Mapping[str, str | Sequence[str]]  # "stable"/"canary" -> its server url(s)


def server_urls(upstreams: Upstreams) -> dict[str, tuple[str, ...]]:
    """Every revision's servers as a tuple of urls (a single url is a one-server revision)."""
    return {k: (v,) if isinstance(v, str) else tuple(v) for k, v in upstreams.items()}


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
