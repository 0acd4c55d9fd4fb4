"""The status document: what a rollout is doing, told truthfully, for every front end.

``golive status`` prints it and ``--json`` dumps it; the server answers with the same values.
The record is audited before the rows it covers are read, so a tampered rollout is shown with
its audit's verdict (never driven); what it waits for says when no controller drives it (a
frozen "analysis (117s left)" after a kill -9 would say something runs); the judge's verdict is
rebuilt from the recorded measurements, as a controller would.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

from golive.analysis.judge import Judge, Verdict
from golive.core.state import PauseKind, Phase, RolloutId, RolloutState
from golive.errors import GoliveError, TamperedError
from golive.notify.notice import Delivery
from golive.operations.window import phase_name, window_json, window_line
from golive.plan.model import Plan, describe_step
from golive.store.audit import Audit
from golive.store.audit import Verdict as AuditVerdict
from golive.store.base import Store
from golive.store.leases import controller_alive
from golive.store.records import RolloutRecord, StoredEvent


@dataclass(frozen=True, slots=True)
class Listing:
    """Every rollout, newest first; a row that cannot be read is reported, the others listed."""

    records: list[RolloutRecord]
    audits: dict[RolloutId, Audit]
    unreadable: list[str]
    versions: dict[RolloutId, dict[str, str] | None]

    @property
    def tampered(self) -> bool:
        return bool(self.unreadable) or any(
            a.verdict is AuditVerdict.TAMPERED for a in self.audits.values()
        )

    def to_json(self) -> list[dict[str, object]]:
        return [
            {
                "id": r.id,
                "service": r.service,
                "phase": phase_name(r.state),
                "step": r.state.step + 1,
                "canary_weight": r.state.desired.canary_weight,
                "versions": self.versions[r.id],
                "created_at": r.created_at,
                "waiting_for": waiting(r),
                "controller_running": running(r),
                "audit": self.audits[r.id].verdict.value,
            }
            for r in self.records
        ]


@dataclass(frozen=True, slots=True)
class Status:
    """One rollout as it stands."""

    record: RolloutRecord
    audit: Audit
    events: list[StoredEvent]
    gates: dict[str, object]  # scorecard, sign-offs, confirmations
    alive: bool | None  # a live controller drives it (None: on another host)
    verdict: Verdict | None  # None when tampered or nothing measured
    notifications: dict[str, object] = dataclasses.field(default_factory=dict)

    @property
    def tampered(self) -> bool:
        return self.audit.verdict is AuditVerdict.TAMPERED

    @property
    def alarms(self) -> list[StoredEvent]:
        return [e for e in self.events if e.kind == "split_alarm"]

    def to_json(self) -> dict[str, object]:
        r, s = self.record, self.record.state
        return {
            "id": r.id,
            "service": r.service,
            "state": s.to_json(),
            **self.gates,
            "step_number": s.step + 1,
            "controller": {"owner": r.lease_owner, "running": self.alive},
            "judge": None
            if self.verdict is None
            else [
                {
                    "metric": m.metric,
                    "stable": m.stable,
                    "canary": m.canary,
                    "status": m.status.value,
                    "sentence": m.sentence,
                }
                for m in self.verdict.metrics
            ],
            "events": [{"at": e.at, "kind": e.kind, "message": e.message} for e in self.events],
            "split_alarms": len(self.alarms),
            "watch": window_json(s, time.time()),
            "notifications": self.notifications,
            "audit": audit_json(self.audit),
        }


async def listing(store: Store, limit: int = 20) -> Listing:
    listed = await store.recent(limit)
    records = [r for r in listed if not isinstance(r, TamperedError)]
    unreadable = [str(r) for r in listed if isinstance(r, TamperedError)]
    audits = {r.id: await store.audit(r.id) for r in records}
    versions = {r.id: _versions(store, r) for r in records}
    return Listing(records, audits, unreadable, versions)


async def status(store: Store, rollout_id: str) -> Status:
    record = await store.load(rollout_id)
    audit = await store.audit(record.id)  # before the rows it covers are read
    events = await store.events(record.id)
    gates = await gates_of(store, record.id, events)
    alive = controller_alive(record.lease_owner)
    tampered = audit.verdict is AuditVerdict.TAMPERED
    verdict = None if tampered else await judged(store, record)
    return Status(record, audit, events, gates, alive, verdict, await deliveries(store, record.id))


async def deliveries(store: Store, rollout_id: str, shown: int = 10) -> dict[str, object]:
    """The rollout's notifications: how many are sent, pending and failed, and the last
    failures with their errors (given up after the channel's attempts)."""
    items = await store.outbox(rollout_id)
    count = {d.value: sum(1 for i in items if i.status is d) for d in Delivery}
    failed = [i for i in items if i.status is Delivery.FAILED][-shown:]
    return {
        **count,
        "failures": [
            {"id": i.notice.id, "channel": i.notice.channel, "kind": i.notice.kind,
             "attempts": i.attempts, "error": i.last_error, "at": i.done_at}
            for i in failed
        ],
    }  # fmt: skip


async def judged(store: Store, record: RolloutRecord) -> Verdict | None:
    """The judge's verdict now, rebuilt from the recorded measurements as a controller would."""
    plan = store.load_plan(record)
    judge = Judge(plan.judge)
    verdict = None
    for at, weight, stable, canary in await store.measurements(record.id):
        verdict = judge.update(at, stable, canary, weight / 100.0)
    return verdict


async def gates_of(store: Store, rollout_id: str, events: list[StoredEvent]) -> dict[str, object]:
    """A rollout's latest scorecard, sign-offs and confirmations, as plain values: as stored,
    so a tampered record can still be shown (its audit says what is wrong)."""
    cards = [e.data for e in events if e.kind == "scorecard"]
    signoffs = await store.signoffs(rollout_id, verify=False)
    confirmations = await store.confirmations(rollout_id, verify=False)
    return {
        "scorecard": cards[-1] if cards else None,
        "signoffs": [dataclasses.asdict(s) for s in signoffs],
        "confirmations": [dataclasses.asdict(c) for c in confirmations],
    }


def audit_json(audit: Audit) -> dict[str, object]:
    head = None if audit.head is None else {"seq": audit.head.seq, "hash": audit.head.hash}
    return {"verdict": audit.verdict.value, "problem": audit.problem, "head": head}


def running(record: RolloutRecord) -> bool | None:
    """Whether a live controller drives it: None on another host or when nothing is left to do."""
    state = record.state
    if state.idle(time.time()):
        return None  # the previous revision a watch window keeps: retired when due
    return controller_alive(record.lease_owner)


def waiting(record: RolloutRecord) -> str:
    """What it waits for; with no controller running, only a resume moves it."""
    state = record.state
    if running(record) is False:
        if state.pause_kind is PauseKind.MIGRATION and state.phase is Phase.PAUSED:
            return f"{state.waiting_for} (no controller is running: the command drives it)"
        return "golive resume (no controller is running)"
    if state.retiring and not state.retire_due(time.time()):
        return window_line(state, time.time())
    if state.retiring:
        return "retirement of " + ", ".join(r.value for r in state.retiring)
    return "" if state.phase.terminal else state.waiting_for


def _versions(store: Store, record: RolloutRecord) -> dict[str, str] | None:
    try:
        plan = store.load_plan(record)
    except GoliveError:  # an edited plan: its versions are not to be believed
        return None
    return {"stable": plan.stable.version, "canary": plan.canary.version}


def step_states(plan: Plan, state: RolloutState) -> list[tuple[str, str]]:
    """Each step of the plan with where the rollout stands on it: done, current, paused,
    pending; after a rollback or abort the step it stopped at is ``stopped`` and the rest
    ``not run``; a promotion completes every step (``promote`` passes what was left)."""
    out = []
    for index, step in enumerate(plan.steps):
        if index < state.step or state.phase is Phase.PROMOTED:
            where = "done"
        elif index > state.step:
            where = "not run" if state.phase.terminal else "pending"
        elif state.phase.terminal or state.phase is Phase.ROLLING_BACK:
            where = "stopped"
        else:
            where = "paused" if state.phase is Phase.PAUSED else "current"
        out.append((describe_step(step), where))
    return out
