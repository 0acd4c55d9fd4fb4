"""MemoryStore: the :class:`~golive.store.base.Store` in dictionaries, for tests and embedding.

It keeps every rule the SQLite store keeps, in the same place: the version check, the lease and
the one-active-rollout rule are checked in the critical section that writes, a sign-off's guard
runs under the lock that records it, and a command is pending until a commit consumes it. Both
stores pass one contract suite (``tests/contract/test_store.py``), so a test that drives the
engine or the operations on a MemoryStore tells the truth about the SQLite store too.

What it does not do is seal: its journal is chained with plain SHA-256, its plan digest is
unkeyed and ``audit`` always answers intact, because nothing outside this process can edit a
dictionary. The durable store's audit (``store/audit.py``) has no equivalent here.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from golive.core.state import (
    Command,
    CommandVerb,
    Confirmation,
    Event,
    Phase,
    RolloutState,
    Signoff,
)
from golive.errors import ActiveRolloutError, ConflictError, LeaseError, StateError, TamperedError
from golive.notify.notice import Delivery, Notice, OutboxItem, Outcome
from golive.plan.loader import parse_plan
from golive.plan.model import Plan
from golive.store.audit import Audit, Verdict
from golive.store.base import MIN_PREFIX, Measurement, SignoffGuard
from golive.store.leases import owner_dead
from golive.store.records import GENESIS, Head, RolloutRecord, StoredEvent, event_parts
from golive.store.tokens import TokenRecord, token_hash

ACTIVE = (Phase.PROGRESSING, Phase.PAUSED, Phase.ROLLING_BACK)


@dataclass
class _Rollout:
    record: RolloutRecord
    lease_until: float = 0.0
    events: list[StoredEvent] = field(default_factory=list)
    measurements: list[Measurement] = field(default_factory=list)
    commands: dict[int, tuple[Command, bool]] = field(default_factory=dict)  # id: (it, consumed)
    signoffs: list[Signoff] = field(default_factory=list)
    confirmations: list[Confirmation] = field(default_factory=list)


def _digest(plan_text: str) -> str:
    return hashlib.sha256(plan_text.encode()).hexdigest()


class MemoryStore:
    """A :class:`~golive.store.base.Store` that lives and dies with its process."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._rollouts: dict[str, _Rollout] = {}
        self._tokens: dict[str, TokenRecord] = {}  # by the token's SHA-256
        self._seq = 0  # events, numbered across rollouts as SQLite numbers them
        self._command_id = 0
        self._outbox: dict[str, tuple[OutboxItem, str | None, float]] = {}  # id: (it, by, until)

    def close(self) -> None:
        """Nothing to release; the record is gone with the object."""

    def _get(self, rollout_id: str) -> _Rollout:
        found = self._rollouts.get(rollout_id)
        if found is None:
            raise StateError(f"no rollout {rollout_id!r}; 'golive status' lists them")
        return found

    def _append(self, r: _Rollout, events: Iterable[Event], now: float) -> None:
        prev = r.events[-1].hash if r.events else GENESIS
        for e in events:
            data = json.dumps(e.data, sort_keys=True, default=str)  # as SQLite gives it back
            parts = event_parts(prev, r.record.id, float(now), e.kind, e.message, data)
            digest = hashlib.sha256(repr(parts).encode()).hexdigest()
            self._seq += 1
            r.events.append(StoredEvent(self._seq, r.record.id, float(now), e.kind, e.message,
                                        json.loads(data), prev, digest))  # fmt: skip
            prev = digest

    # -- rollouts ----------------------------------------------------------------------------

    async def create(
        self, record: RolloutRecord, events: Iterable[Event], now: float,
        notices: Iterable[Notice] = (),
    ) -> None:  # fmt: skip
        async with self._lock:
            active = await self.active_for_service(record.service)
            if active:
                a = active[0]
                raise ActiveRolloutError(
                    f"{record.service} already has an active rollout {a.id} "
                    f"({a.state.phase.value}); finish it with 'golive resume {a.id}' or "
                    f"'golive abort {a.id}' first"
                )
            if record.id in self._rollouts:
                raise StateError(f"rollout {record.id} exists already")
            stored = dataclasses.replace(
                record, plan_digest=_digest(record.plan_text), version=1, created_at=now,
                updated_at=now, lease_owner=None, sealed=True,
            )  # fmt: skip
            self._rollouts[record.id] = r = _Rollout(stored)
            self._append(r, events, now)
            self._queue(notices, now)

    def plan_matches(self, record: RolloutRecord, plan_text: str) -> bool:
        return _digest(plan_text) == record.plan_digest

    def load_plan(self, record: RolloutRecord) -> Plan:
        if not self.plan_matches(record, record.plan_text):
            raise TamperedError(f"rollout {record.id}: its stored plan does not match its digest")
        return parse_plan(record.plan_text, record.plan_path)

    async def load(self, rollout_id: str) -> RolloutRecord:
        if rollout_id in self._rollouts:
            return self._rollouts[rollout_id].record
        if len(rollout_id) < MIN_PREFIX:
            raise StateError(
                f"no rollout {rollout_id!r} (give its id, or at least its first {MIN_PREFIX} "
                "characters; 'golive status' lists them)"
            )
        found = [r for r in self._newest_first() if r.id.startswith(rollout_id)]
        if not found:
            raise StateError(f"no rollout {rollout_id!r}; 'golive status' lists them")
        if len(found) > 1:
            listed = ", ".join(r.id for r in found[:10])
            raise StateError(
                f"{rollout_id!r} matches {len(found)} rollouts ({listed}); give more of the id"
            )
        return found[0]

    def _newest_first(self) -> list[RolloutRecord]:
        records = [r.record for r in self._rollouts.values()]
        return sorted(records, key=lambda r: r.created_at, reverse=True)

    async def recent(
        self, limit: int = 20, service: str | None = None
    ) -> list[RolloutRecord | TamperedError]:
        found = [r for r in self._newest_first() if service is None or r.service == service]
        return list(found[:limit])

    async def active(self) -> list[RolloutRecord | TamperedError]:
        records = [r.record for r in self._rollouts.values() if r.record.state.phase in ACTIVE]
        records.sort(key=lambda r: r.created_at)
        return [*records]

    async def active_for_service(self, service: str) -> list[RolloutRecord]:
        return [r for r in self._newest_first() if r.service == service and r.state.phase in ACTIVE]

    async def retiring(self, service: str | None = None) -> list[RolloutRecord]:
        return [
            r
            for r in reversed(self._newest_first())
            if (service is None or r.service == service)
            and r.state.phase.terminal
            and r.state.retiring
        ]

    async def commit(
        self, state: RolloutState, events: Iterable[Event], expected_version: int, now: float,
        consumed: Iterable[int] = (), owner: str | None = None, notices: Iterable[Notice] = (),
    ) -> int:  # fmt: skip
        async with self._lock:
            r = self._rollouts.get(state.id)
            held = r.record.lease_owner if r is not None else None
            if owner is not None and held not in (None, owner):
                raise LeaseError(f"rollout {state.id} is now driven by {held}")
            if r is None or r.record.version != expected_version:
                raise ConflictError(f"rollout {state.id} changed since version {expected_version}")
            r.record = dataclasses.replace(
                r.record, state=state, version=expected_version + 1, updated_at=now
            )
            self._append(r, events, now)
            for command_id in consumed:
                if command_id in r.commands:
                    r.commands[command_id] = (r.commands[command_id][0], True)
            self._queue(notices, now)
            return expected_version + 1

    async def events(self, rollout_id: str, after: int = 0) -> list[StoredEvent]:
        found = self._rollouts.get(rollout_id)
        return [e for e in found.events if e.seq > after] if found else []

    async def note(
        self, rollout_id: str, event: Event, now: float, notices: Iterable[Notice] = ()
    ) -> None:
        async with self._lock:
            self._append(self._get(rollout_id), [event], now)
            self._queue(notices, now)

    # -- outbox --------------------------------------------------------------------------------

    def _queue(self, notices: Iterable[Notice], now: float) -> None:
        for n in notices:  # round-tripped through JSON, as SQLite gives them back
            n = dataclasses.replace(n, data=json.loads(json.dumps(n.data, default=str)))
            self._outbox.setdefault(n.id, (OutboxItem(n, float(now), next_at=float(now)), None, 0))

    async def claim_outbox(
        self, owner: str, now: float, limit: int = 50, hold: float = 60.0
    ) -> list[OutboxItem]:
        async with self._lock:
            due = sorted(
                (it for it, by, until in self._outbox.values()
                 if it.status is Delivery.PENDING and it.next_at <= now
                 and (by is None or until < now or (by != owner and owner_dead(by)))),
                key=lambda it: (it.next_at, it.created_at),
            )[:limit]  # fmt: skip
            for it in due:
                self._outbox[it.notice.id] = (it, owner, now + hold)
            return due

    async def settle_outbox(self, msg_id: str, outcome: Outcome, now: float) -> None:
        async with self._lock:
            found = self._outbox.get(msg_id)
            if found is None or found[0].status is not Delivery.PENDING:
                return
            it = found[0]
            done = None if outcome.status is Delivery.PENDING else now
            it = dataclasses.replace(it, status=outcome.status, attempts=it.attempts + 1,
                                     next_at=outcome.next_at, last_error=outcome.error[:2000],
                                     done_at=done)  # fmt: skip
            self._outbox[msg_id] = (it, None, 0)

    async def release_outbox(self, owner: str) -> None:
        async with self._lock:
            for key, (it, by, _) in list(self._outbox.items()):
                if by == owner:
                    self._outbox[key] = (it, None, 0)

    async def outbox(self, rollout_id: str | None = None, limit: int = 100_000) -> list[OutboxItem]:
        found = [it for it, _, _ in self._outbox.values()
                 if rollout_id is None or it.notice.rollout_id == rollout_id]  # fmt: skip
        return found[:limit]

    async def add_measurement(self, rollout_id: str, m: Measurement) -> None:
        async with self._lock:
            self._get(rollout_id).measurements.append((float(m[0]), float(m[1]), m[2], m[3]))

    async def measurements(self, rollout_id: str) -> list[Measurement]:
        found = self._rollouts.get(rollout_id)
        return sorted(found.measurements, key=lambda m: m[0]) if found else []

    async def audit(self, rollout_id: str) -> Audit:
        """Intact by construction: nothing outside this process can edit the record."""
        r = self._get(rollout_id)
        head = Head(r.events[-1].seq, r.events[-1].hash) if r.events else None
        return Audit(rollout_id, Verdict.INTACT, head=head, events=len(r.events))

    # -- commands, sign-offs, confirmations ----------------------------------------------------

    async def add_command(
        self, rollout_id: str, verb: CommandVerb, by: str, reason: str, now: float,
        source: str = "", step: int | None = None, paused_at: float | None = None,
    ) -> None:  # fmt: skip
        who = by + (f" ({source})" if source else "")
        event = Event(
            "command",
            f"{verb.value} requested by {who}" + (f": {reason}" if reason else ""),
            {"verb": verb.value, "by": by, "source": source, "reason": reason, "step": step},
        )
        async with self._lock:
            r = self._get(rollout_id)
            self._command_id += 1
            command = Command(self._command_id, verb, by, reason, source, step, paused_at)
            r.commands[command.id] = (command, False)
            self._append(r, [event], now)

    async def pending_commands(self, rollout_id: str) -> list[Command]:
        found = self._rollouts.get(rollout_id)
        return [c for c, done in found.commands.values() if not done] if found else []

    async def add_signoff(
        self, rollout_id: str, s: Signoff, event: Event, guard: SignoffGuard | None = None
    ) -> None:
        async with self._lock:
            r = self._get(rollout_id)
            if guard is not None:
                guard(list(r.signoffs))
            if any(
                (o.step, o.revision, o.role) == (s.step, s.revision, s.role) for o in r.signoffs
            ):
                raise StateError(f"the {s.role} sign-off for this step is already recorded")
            r.signoffs.append(s)
            self._append(r, [event], s.at)

    async def signoffs(self, rollout_id: str, verify: bool = True) -> list[Signoff]:
        return list(self._get(rollout_id).signoffs)

    async def add_confirmation(self, rollout_id: str, c: Confirmation, event: Event) -> None:
        async with self._lock:
            r = self._get(rollout_id)
            if any(o.item == c.item for o in r.confirmations):
                raise StateError(f"{c.item!r} is already confirmed")
            r.confirmations.append(c)
            self._append(r, [event], c.at)

    async def confirmations(self, rollout_id: str, verify: bool = True) -> list[Confirmation]:
        return list(self._get(rollout_id).confirmations)

    # -- leases --------------------------------------------------------------------------------

    async def acquire_lease(self, rollout_id: str, owner: str, ttl: float, now: float) -> None:
        async with self._lock:
            r = self._get(rollout_id)
            held = r.record.lease_owner
            if held and held != owner and r.lease_until > now and not owner_dead(held):
                raise LeaseError(f"rollout {rollout_id} is driven by {held}")
            r.record = dataclasses.replace(r.record, lease_owner=owner)
            r.lease_until = now + ttl

    async def release_lease(self, rollout_id: str, owner: str) -> None:
        async with self._lock:
            r = self._get(rollout_id)
            if r.record.lease_owner == owner:
                r.record, r.lease_until = dataclasses.replace(r.record, lease_owner=None), 0.0

    # -- tokens --------------------------------------------------------------------------------

    async def add_token(
        self, token: str, user: str, roles: tuple[str, ...], now: float, event: Event,
        admin: bool = False, expires_at: float | None = None,
    ) -> None:  # fmt: skip
        async with self._lock:
            self._mint(token, user, roles, admin, expires_at, now)

    async def bootstrap_token(self, token: str, user: str, now: float, event: Event) -> bool:
        async with self._lock:
            if any(t.admin and t.valid(now) for t in self._tokens.values()):
                return False
            self._mint(token, user, (), True, None, now)
            return True

    def _mint(self, token: str, user: str, roles: tuple[str, ...], admin: bool,
              expires_at: float | None, now: float) -> None:  # fmt: skip
        h = token_hash(token)
        if h in self._tokens:
            raise StateError("this token exists already")
        self._tokens[h] = TokenRecord(h[:12], user, tuple(roles), admin, now, expires_at, None)

    async def find_token(self, token: str) -> TokenRecord | None:
        return self._tokens.get(token_hash(token))

    async def tokens(self) -> list[TokenRecord]:
        return sorted(self._tokens.values(), key=lambda t: t.created_at)

    async def revoke_token(self, prefix: str, now: float, event: Event) -> TokenRecord:
        async with self._lock:
            found = [h for h in self._tokens if h.startswith(prefix)]
            if len(found) != 1:
                what = "no token" if not found else f"{len(found)} tokens"
                raise StateError(f"{what} with id {prefix!r}; 'golive token list' shows them")
            before = self._tokens[found[0]]
            if before.revoked_at is None:
                self._tokens[found[0]] = dataclasses.replace(before, revoked_at=now)
            return before
