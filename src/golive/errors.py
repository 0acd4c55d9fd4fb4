"""golive's one error tree.

Every failure a user can see is one of these; library exceptions are translated at the
provider boundary (``raise ... from exc``) so the engine never handles ``httpx`` or ``sqlite3``
types, and the CLI turns any of them into a message and an exit code, never a traceback.

    GoliveError
    ├── PlanError            a plan file is invalid (file, line, column, field path)
    ├── ProviderError        a router, metric source, deploy or check call failed
    │   ├── TransientError   worth retrying (timeouts, connection refused, 503)
    │   └── PermanentError   retrying will not help (rejected config, missing binary)
    ├── StateError           the durable record disagrees (conflict, lease lost, unknown id)
    │   ├── ConflictError    another writer committed first (optimistic version check)
    │   ├── LeaseError       another live controller owns the rollout
    │   ├── ActiveRolloutError  the service already has an active rollout
    │   └── TamperedError    the record fails its audit: edited, forged or cut (exit 5)
    ├── AuthorizationError   who is acting may not do this (no role, no token, not admin,
    │                        separation of duties): a server's 403, where a StateError is 409
    └── NoData               a measurement is not available yet: "not yet known", never "failed"
"""

from __future__ import annotations

from dataclasses import dataclass


class GoliveError(Exception):
    """Base of every error golive reports to a user."""


@dataclass(frozen=True, slots=True)
class PlanIssue:
    """One problem in a plan file, located precisely enough to fix it."""

    file: str
    line: int
    column: int
    field: str
    message: str

    def __str__(self) -> str:
        # line 0: about the file itself (missing, not a file), not a place in it
        where = f"{self.file}:{self.line}:{self.column}" if self.line else self.file
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class PlanError(GoliveError):
    """The plan is invalid; carries every issue found, each with file:line:col and field."""

    def __init__(self, issues: list[PlanIssue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))


class ProviderError(GoliveError):
    """A provider (router, metrics, deploy, check) failed."""


class TransientError(ProviderError):
    """A provider failure worth retrying."""


class PermanentError(ProviderError):
    """A provider failure that retrying will not fix."""


class StateError(GoliveError):
    """The durable record cannot be read or written as asked."""


class ConflictError(StateError):
    """Another writer committed this rollout first."""


class LeaseError(StateError):
    """Another live controller owns this rollout."""


class ActiveRolloutError(StateError):
    """The service already has an active rollout; one at a time per service."""


class AuthorizationError(GoliveError):
    """The person acting is not allowed to: a missing role, token or permission, or separation
    of duties. Not a StateError: asking again in another state will not help, another person
    (or token) will."""


class TamperedError(StateError):
    """The record does not verify against its key: something edited it outside golive."""


class NoData(GoliveError):
    """A measurement is not available yet; means "not yet known", never "failed"."""
