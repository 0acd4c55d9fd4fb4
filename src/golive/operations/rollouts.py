"""Starting a rollout, or continuing the service's active one, and who may start it.

One active rollout per service: the store refuses a second in the same transaction that
checks (two ``golive run`` at the same instant cannot both start one). The starter is known
the way approvers are: a plan with approval gates must be started by someone identified by a
token or an identity file (a bare login name cannot be told apart from the approvers), and a
plan with a ``require_token`` gate by a token.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from pathlib import Path

from golive.core.actions import PassView
from golive.core.state import Event, Phase, RolloutId, RolloutState
from golive.engine.clock import Clock, SystemClock
from golive.engine.providers import build_providers
from golive.engine.runner import Runner
from golive.errors import AuthorizationError, StateError
from golive.identity import Identity
from golive.notify.route import outbox_for
from golive.operations.trust import verified
from golive.plan.model import Plan, Split, describe_step
from golive.store.base import Store
from golive.store.records import RolloutRecord


def new_rollout_id(service: str) -> RolloutId:
    return RolloutId(f"{service}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}")


def may_start(plan: Plan, who: Identity) -> None:
    gates = plan.approvals.values()
    if any(g.require_token for g in gates) and who.kind != "token":
        names = ", ".join(g.name for g in gates if g.require_token)
        raise AuthorizationError(
            f"approval {names} takes sign-offs from API tokens only, so whoever starts the "
            f"rollout must be known by a token too (GOLIVE_TOKEN); {who.user} is identified "
            f"by {who.source}"
        )
    if plan.approvals and who.kind == "login name":
        raise AuthorizationError(
            f"{plan.source} has approval gates: whoever starts it must be identified by a token "
            f"(GOLIVE_TOKEN) or an identity file (GOLIVE_IDENTITY), so that separation of "
            f"duties can tell the starter from the approvers; {who.user} is only a {who.source}"
        )


async def start_or_continue(
    store: Store, plan: Plan, who: Identity, now: float, say: Callable[[str], None]
) -> RolloutRecord:
    """The service's active rollout for this very plan, or a new one."""
    active = await store.active_for_service(plan.service)
    if active:
        record = active[0]
        await verified(store, record)
        if not store.plan_matches(record, plan.text) and record.state.watching:
            raise StateError(_in_window(record, plan))
        if not store.plan_matches(record, plan.text):
            raise StateError(
                f"{plan.service} already has an active rollout {record.id} "
                f"({record.state.phase.value}) from a different plan; finish it with "
                f"'golive resume {record.id}' or 'golive abort {record.id}' first"
            )
        say(f"continuing rollout {record.id} from step {record.state.step + 1}")
        return record
    may_start(plan, who)
    rid = new_rollout_id(plan.service)
    state = RolloutState(
        rid, Phase.PROGRESSING, 0, now, Split.all_stable(), now,
        started_by=who.user, started_by_source=who.kind,
    )  # fmt: skip
    record = RolloutRecord(
        rid, plan.service, plan.source, plan.digest, plan.text, state, 1, now, now, None
    )
    started = (
        f"rollout of {plan.service} {plan.stable.version} -> {plan.canary.version} "
        f"started by {who.user} ({who.kind})"
    )
    events = [
        Event(
            "rollout_started",
            started,
            {"plan": plan.source, "digest": plan.digest, "by": who.user, "source": who.kind},
        ),
        Event("step_started", describe_step(plan.steps[0]), {"step": 0}),
    ]
    await store.create(record, events, now, outbox_for(plan, None, state, events, 1, now))
    return await store.load(rid)  # as stored: its plan digest is the store's seal


def _in_window(record: RolloutRecord, plan: Plan) -> str:
    """A second release while the first one's watch window is open: refused, saying so (the
    window is what lets the first one still go back to its previous revision)."""
    until = record.state.watch_until or 0.0
    at = time.strftime("%H:%M:%S UTC", time.gmtime(until))
    return (
        f"{plan.service} is in the watch window of rollout {record.id} until {at}: a new "
        f"release ({plan.canary.version}) starts after it ends; 'golive promote {record.id}' "
        f"ends the window now (promoted), 'golive rollback {record.id}' goes back to the "
        "previous revision"
    )


async def drive(
    store: Store, record: RolloutRecord, plan: Plan, state_dir: Path,
    on_pass: Callable[[PassView], None], clock: Clock | None = None,
) -> RolloutState:  # fmt: skip
    """Run the reconcile loop for ``record`` (whose ``plan`` has passed its audit) until it
    settles: ``golive run`` and the verbs that take a rollout over, and the server's
    controller, drive a rollout this one way. Cancelled (Ctrl-C, SIGTERM), the runner releases
    its lease and leaves traffic and the record as they are."""
    providers = build_providers(plan, state_dir, record.id)
    clock = clock if clock is not None else SystemClock()
    runner = Runner(plan, store, providers, clock, on_pass, state_dir=state_dir)
    try:
        return await runner.run(record.id)
    finally:
        await providers.close()
