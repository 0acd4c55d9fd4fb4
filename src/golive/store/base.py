"""The store as the engine, the operations and the CLI see it: a protocol of five small roles.

Two implementations pass one contract suite (``tests/contract/test_store.py``): the durable
:class:`~golive.store.sqlite.SQLiteStore` and :class:`~golive.testing.memory.MemoryStore`. Both
keep the same rules, each checked where the write happens, so no caller can race past them:

* ``commit`` is optimistic: ConflictError when ``expected_version`` is not the stored one, and
  LeaseError when ``owner`` is given and another controller holds the lease;
* one active rollout per service (ActiveRolloutError), checked as the rollout is created;
* a lease held by a live controller is a LeaseError for anyone else;
* a sign-off's ``guard`` sees the sign-offs recorded so far in the same critical section as the
  write, and refuses by raising (separation of duties cannot be raced); one sign-off per role
  and step and revision, one confirmation per item (StateError);
* a command is pending until the commit that names it in ``consumed``;
* the first admin token is minted only while no valid admin token exists.

What is the durable store's alone: the *seal*. SQLiteStore keys every record with an HMAC,
keeps the journal's head outside the database and audits it all (``store/audit.py``,
``golive audit``); ``audit_all``, ``heads`` and ``seal`` are not in the protocol. A
MemoryStore lives in one process, where nothing outside golive can edit it: its ``audit``
answers intact, its plan digest is an unkeyed SHA-256, and its journal is chained unkeyed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

from golive.analysis.snapshot import Snapshot
from golive.core.state import Command, CommandVerb, Confirmation, Event, RolloutState, Signoff
from golive.errors import TamperedError
from golive.notify.notice import Notice, OutboxItem, Outcome
from golive.plan.model import Plan
from golive.store.audit import Audit
from golive.store.records import RolloutRecord, StoredEvent
from golive.store.tokens import TokenRecord

Measurement = tuple[float, float, Snapshot, Snapshot]  # at, canary weight, stable, canary
SignoffGuard = Callable[[list[Signoff]], None]  # raises to refuse a sign-off
MIN_PREFIX = 4  # the shortest prefix of a rollout id that may select it


class Rollouts(Protocol):
    """Rollouts, their journal and the measurements the judge replays."""

    async def create(
        self, record: RolloutRecord, events: Iterable[Event], now: float,
        notices: Iterable[Notice] = (),
    ) -> None:  # fmt: skip
        """Record a new rollout (ActiveRolloutError while its service has an active one), and
        the notices of its events, in one transaction."""

    async def load(self, rollout_id: str) -> RolloutRecord:
        """The rollout with this id, or the only one whose id starts with it (at least
        MIN_PREFIX characters); StateError otherwise."""

    async def recent(
        self, limit: int = 20, service: str | None = None
    ) -> list[RolloutRecord | TamperedError]:
        """The latest rollouts (of ``service``: the status page finds a service's last one however
        old), newest first; a row that cannot be read is its error."""

    async def active(self) -> list[RolloutRecord | TamperedError]:
        """Every active rollout (progressing, paused, rolling back), oldest first; a row that
        cannot be read is its error. The server's controller scans these: all of them."""

    async def active_for_service(self, service: str) -> list[RolloutRecord]: ...

    async def retiring(self, service: str | None = None) -> list[RolloutRecord]:
        """Ended rollouts with a retirement still pending (of ``service``, or of any)."""

    async def commit(
        self, state: RolloutState, events: Iterable[Event], expected_version: int, now: float,
        consumed: Iterable[int] = (), owner: str | None = None, notices: Iterable[Notice] = (),
    ) -> int:  # fmt: skip
        """State, events, consumed commands and the events' notices at once; the new
        version."""

    async def events(self, rollout_id: str, after: int = 0) -> list[StoredEvent]: ...

    async def note(
        self, rollout_id: str, event: Event, now: float, notices: Iterable[Notice] = ()
    ) -> None:
        """Append ``event`` (and its notices) to the rollout's journal, its state and version
        untouched: what
        people did around it (an API request refused) is recorded without racing the
        controller's optimistic commits."""

    async def add_measurement(self, rollout_id: str, m: Measurement) -> None: ...

    async def measurements(self, rollout_id: str) -> list[Measurement]: ...

    def plan_matches(self, record: RolloutRecord, plan_text: str) -> bool:
        """Whether ``plan_text`` is the plan the rollout was created with."""

    def load_plan(self, record: RolloutRecord) -> Plan:
        """The rollout's stored plan (TamperedError if it no longer matches its digest)."""

    async def audit(self, rollout_id: str) -> Audit:
        """Whether the rollout's record verifies; the operations act on none that does not."""


class Commands(Protocol):
    """Operator commands for the controller that holds a rollout's lease."""

    async def add_command(
        self, rollout_id: str, verb: CommandVerb, by: str, reason: str, now: float,
        source: str = "", step: int | None = None, paused_at: float | None = None,
    ) -> None: ...  # fmt: skip

    async def pending_commands(self, rollout_id: str) -> list[Command]: ...


class Gates(Protocol):
    """Sign-offs and checklist confirmations, each recorded with its journal event."""

    async def add_signoff(
        self, rollout_id: str, s: Signoff, event: Event, guard: SignoffGuard | None = None
    ) -> None: ...

    async def signoffs(self, rollout_id: str, verify: bool = True) -> list[Signoff]: ...

    async def add_confirmation(self, rollout_id: str, c: Confirmation, event: Event) -> None: ...

    async def confirmations(self, rollout_id: str, verify: bool = True) -> list[Confirmation]: ...


class Leases(Protocol):
    """Which controller drives a rollout; a dead owner's lease is free at once."""

    async def acquire_lease(self, rollout_id: str, owner: str, ttl: float, now: float) -> None: ...

    async def release_lease(self, rollout_id: str, owner: str) -> None: ...


class Tokens(Protocol):
    """API tokens, kept by their SHA-256; every change is logged."""

    async def add_token(
        self, token: str, user: str, roles: tuple[str, ...], now: float, event: Event,
        admin: bool = False, expires_at: float | None = None,
    ) -> None: ...  # fmt: skip

    async def bootstrap_token(self, token: str, user: str, now: float, event: Event) -> bool:
        """The first admin token; False when a valid admin token exists already."""

    async def find_token(self, token: str) -> TokenRecord | None: ...

    async def tokens(self) -> list[TokenRecord]: ...

    async def revoke_token(self, prefix: str, now: float, event: Event) -> TokenRecord:
        """Revoke the one token whose id starts with ``prefix``; StateError otherwise."""


class Outbox(Protocol):
    """Notifications waiting to be sent: written by ``create``, ``commit`` and ``note`` with
    their events; claimed, sent and settled by one worker per process (notify/worker.py)."""

    async def claim_outbox(
        self, owner: str, now: float, limit: int = 50, hold: float = 60.0
    ) -> list[OutboxItem]:
        """Up to ``limit`` pending notices due by ``now``, claimed by ``owner`` for ``hold``
        seconds: none claimed by another live worker (a dead process's claim is free)."""

    async def settle_outbox(self, msg_id: str, outcome: Outcome, now: float) -> None:
        """One attempt's outcome: sent, pending again at ``outcome.next_at``, or failed."""

    async def release_outbox(self, owner: str) -> None:
        """Drop the claims ``owner`` holds (a worker stopping): its unsent notices are due
        again at once, for the next worker, or for the same process's last drain."""

    async def outbox(self, rollout_id: str | None = None, limit: int = 100_000) -> list[OutboxItem]:
        """The notices (of one rollout, or all), oldest first, with where each stands."""


class Store(Rollouts, Commands, Gates, Leases, Tokens, Outbox, Protocol):
    """Everything golive keeps about rollouts and the people acting on them."""

    def close(self) -> None: ...
