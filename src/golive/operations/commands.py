"""Operator verbs: who may use them (the plan's ``permissions``) and when they make sense.

A verb is written into the store as a command; the controller holding the rollout's lease
applies it on its next pass (``engine/decide.py`` re-checks the preconditions there, so a
command recorded before the rollout moved on cannot skip anything either).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from golive.core.state import CommandVerb, Phase
from golive.engine import failsafe
from golive.engine.decide import current_step
from golive.engine.permissions import describe_permission, permitted, unfinished_gate
from golive.engine.providers import build_providers
from golive.engine.steps import skippable
from golive.errors import AuthorizationError, StateError
from golive.identity import Identity
from golive.operations.remarks import remark
from golive.operations.trust import verified
from golive.plan.model import Split, describe_step
from golive.store.base import Store
from golive.store.records import RolloutRecord
from golive.traffic.base import Verification

# verbs that move a rollout forward or pass a condition: on a plan whose gates trust tokens
# only, a self-asserted identity file (which may claim any role) must not use them either
FORWARD = (CommandVerb.RESUME, CommandVerb.PROMOTE, CommandVerb.SKIP)


@dataclass(frozen=True, slots=True)
class Requested:
    record: RolloutRecord
    recorded: bool  # a command was written (False: resuming a rollout nobody drives)


async def request(
    store: Store, rollout_id: str, verb: CommandVerb, who: Identity, reason: str, now: float
) -> Requested:
    reason = remark(reason, "--reason")
    record = await store.load(rollout_id)
    plan, state = await verified(store, record), record.state
    if state.phase.terminal:
        raise StateError(f"rollout {record.id} already ended: {state.phase.value}")
    if verb is CommandVerb.RESUME and state.phase is not Phase.PAUSED:
        pending = await store.pending_commands(record.id)
        if not any(c.verb is CommandVerb.PAUSE for c in pending):
            return Requested(record, recorded=False)  # continuing is taking over, not skipping
        # a pause asked while nobody drove the rollout: the resume is recorded behind it (the
        # controller applies both, in order); taken over alone, the rollout would stop paused
    if not permitted(plan, verb.value, who.user, who.roles, state.started_by):
        raise AuthorizationError(
            f"{who.user} ({who.kind}) may not {verb.value} rollout {record.id}: the plan allows "
            f"it to {describe_permission(plan, verb.value)} (permissions.{verb.value})"
        )
    tokens_only = [g.name for g in plan.approvals.values() if g.require_token]
    if verb in FORWARD and tokens_only and who.kind != "token":
        raise AuthorizationError(
            f"approval {', '.join(tokens_only)} takes sign-offs from API tokens only, so what "
            f"moves rollout {record.id} forward without them ({verb.value}) needs a token too "
            f"(GOLIVE_TOKEN); {who.user} is identified by {who.source}"
        )
    if verb is CommandVerb.PAUSE and state.phase is not Phase.PROGRESSING:
        raise StateError(f"rollout {record.id} is {state.phase.value.replace('_', ' ')}")
    if verb is CommandVerb.PROMOTE:
        blocked = unfinished_gate(plan, state)
        if blocked:
            raise StateError(f"cannot promote rollout {record.id}: {blocked}")
    if verb is CommandVerb.SKIP:
        step = current_step(plan, state)
        if not skippable(step) or state.force_promote:
            raise StateError(
                f"rollout {record.id} is at step {state.step + 1} ({describe_step(step)}); "
                "only an analysis or a pause can be skipped"
            )
        if not reason.strip():
            raise StateError("say why the step is skipped: --reason TEXT (it is recorded)")
    try:
        await store.add_command(
            record.id, verb, who.user, reason, now, who.kind, state.step, state.paused_at
        )
    except StateError as exc:
        raise Unrecorded(record, exc) from exc
    return Requested(record, recorded=True)


class Unrecorded(StateError):
    """The command was allowed but the store could not record it (disk full, read-only)."""

    def __init__(self, record: RolloutRecord, cause: StateError) -> None:
        self.record = record
        super().__init__(str(cause))


async def roll_back_unrecorded(
    store: Store, record: RolloutRecord, verb: CommandVerb, state_dir: Path
) -> Verification:
    """Put 100% of traffic on stable straight through the router, when the store cannot record
    a rollback: traffic first, the record when it can be written (the controller that next
    takes the rollout finds the fail-safe marker and records the rollback)."""
    plan = await verified(store, record)
    providers = build_providers(plan, state_dir, record.id)
    try:
        await providers.start(Split.all_stable())
        verdict = await failsafe.all_to_stable(providers.router)
    finally:
        await providers.close()
    failsafe.mark(state_dir, record.id, verb.value)
    return verdict
