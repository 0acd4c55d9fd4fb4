"""Sign-offs and checklist confirmations, with every rule of a gate.

A sign-off is accepted only while the rollout waits at an ``approve`` step whose gate asks for
that role, from someone who holds it; it is bound to that step and to the canary revision, so
it can never count for another. Whoever started the rollout cannot be its only approver unless
the plan allows it: that rule is checked inside the transaction that records the sign-off, so
two sign-offs at the same instant cannot both slip past it.
"""

from __future__ import annotations

from dataclasses import dataclass

from golive.core.state import Confirmation, Event, Signoff
from golive.engine.decide import current_step
from golive.engine.gates import bound, self_only
from golive.errors import AuthorizationError, StateError
from golive.identity import Identity
from golive.operations.remarks import remark
from golive.operations.trust import verified
from golive.plan.model import ApprovalGate, ApproveStep, describe_step
from golive.store.base import Store


@dataclass(frozen=True, slots=True)
class Signed:
    text: str  # "go-live approved by bob as tech-lead for 2.0.0"
    step: int
    missing: tuple[str, ...]  # roles still to sign (after an approval)


async def sign(
    store: Store, rollout_id: str, role: str, approve: bool, note: str,
    revision: str | None, who: Identity, now: float,
) -> Signed:  # fmt: skip
    note = remark(note, "the note" if approve else "the reason", required=not approve)
    record = await store.load(rollout_id)
    plan, state = await verified(store, record), record.state
    if state.phase.terminal:
        raise StateError(f"rollout {record.id} already ended: {state.phase.value}")
    step = current_step(plan, state)
    if not isinstance(step, ApproveStep):
        raise StateError(
            f"rollout {record.id} is not waiting for a sign-off: it is at step {state.step + 1} "
            f"({describe_step(step)})"
        )
    gate, version = plan.approvals[step.gate], plan.canary.version
    if revision is not None and revision != version:
        raise StateError(
            f"stale sign-off: rollout {record.id} now releases {version}, not {revision}"
        )
    if role not in gate.roles:
        raise StateError(f"approval {gate.name} asks for {', '.join(gate.roles)}, not {role}")
    if gate.require_token and who.kind != "token":
        raise AuthorizationError(
            f"approval {gate.name} takes sign-offs from API tokens only (GOLIVE_TOKEN); "
            f"{who.user} is identified by {who.source}"
        )
    if not who.holds(role):
        raise AuthorizationError(f"{who.user} does not hold the role {role} ({who.source})")
    signoff = Signoff(state.step, version, gate.name, role, who.user, approve, note, now, who.kind)
    verb = "approved" if approve else "rejected"
    text = f"{gate.name} {verb} by {who.user} ({who.kind}) as {role} for {version}"
    event = Event(
        "signoff",
        text + (f": {note}" if note else ""),
        {"gate": gate.name, "role": role, "by": who.user, "approve": approve, "step": state.step,
         "revision": version, "source": who.kind},
    )  # fmt: skip

    def duties(recorded: list[Signoff]) -> None:
        refusal = _separation(gate, signoff, bound(tuple(recorded), state.step, version),
                              state.started_by, record.id)  # fmt: skip
        if refusal is not None:
            raise AuthorizationError(refusal)

    await store.add_signoff(record.id, signoff, event, duties)
    done = {s.role for s in bound(tuple(await store.signoffs(record.id)), state.step, version)}
    missing = tuple(r for r in gate.roles if r not in done) if approve else ()
    return Signed(text, state.step, missing)


def _separation(
    gate: ApprovalGate, new: Signoff, mine: list[Signoff], started_by: str, rollout_id: str
) -> str | None:
    approvers = [s for s in mine if s.approve] + ([new] if new.approve else [])
    complete = {s.role for s in approvers} >= set(gate.roles)
    if new.approve and complete and self_only(approvers, started_by, gate):
        return (
            f"separation of duties: {new.by} started rollout {rollout_id} and cannot be its "
            "only approver; someone else must sign one of its roles"
        )
    return None


async def confirm(
    store: Store, rollout_id: str, item_id: str, role: str, note: str, who: Identity,
    now: float,
) -> str:  # fmt: skip
    note = remark(note, "the note")
    record = await store.load(rollout_id)
    plan = await verified(store, record)
    item = next((i for i in plan.checklist if i.id == item_id), None)
    if item is None:
        known = ", ".join(i.id for i in plan.checklist) or "none"
        raise StateError(f"the plan has no checklist item {item_id!r}; its items: {known}")
    if record.state.phase.terminal:
        raise StateError(f"rollout {record.id} already ended: {record.state.phase.value}")
    if item.role is not None and role != item.role:
        raise StateError(f"{item.id!r} is confirmed by the {item.role} role, not {role}")
    if not who.holds(role):
        raise AuthorizationError(f"{who.user} does not hold the role {role} ({who.source})")
    event = Event(
        "confirmed",
        f"{item.id} confirmed by {who.user} ({who.kind}) as {role}" + (f": {note}" if note else ""),
        {"item": item.id, "by": who.user, "role": role, "source": who.kind},
    )
    await store.add_confirmation(record.id, Confirmation(item.id, role, who.user, note, now), event)
    return f"confirmed {item.id!r} ({item.text}) for {record.id} as {role}"
