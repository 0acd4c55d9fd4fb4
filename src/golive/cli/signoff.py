"""``golive approve|reject ID --as ROLE`` and ``golive token add USER --role ROLE``.

A sign-off is accepted only while the rollout waits at an ``approve`` step whose gate asks for
that role, from someone who holds it; it is bound to that step and to the canary revision, so
it can never count for another. Whoever started the rollout cannot be its only approver unless
the plan allows it.
"""

from __future__ import annotations

import argparse
import re
import secrets
import time

from rich.console import Console

from golive.cli.session import open_store, verified
from golive.engine.decide import current_step
from golive.engine.gates import bound, self_only
from golive.engine.state import Event, Signoff
from golive.errors import StateError
from golive.identity import ROLE, whoami
from golive.plan.model import ApproveStep, describe_step

console = Console(highlight=False, soft_wrap=True)


async def _signoff(args: argparse.Namespace, approve: bool) -> int:
    store = open_store(args.state_dir)
    record = await store.load(args.id)
    plan, state = await verified(store, record), record.state
    if state.phase.terminal:
        raise StateError(f"rollout {record.id} already ended: {state.phase.value}")
    step = current_step(plan, state)
    if not isinstance(step, ApproveStep):
        raise StateError(
            f"rollout {record.id} is not waiting for a sign-off: it is at step {state.step + 1} "
            f"({describe_step(step)})"
        )
    gate, revision = plan.approvals[step.gate], plan.canary.version
    if args.revision is not None and args.revision != revision:
        raise StateError(
            f"stale sign-off: rollout {record.id} now releases {revision}, not {args.revision}"
        )
    if args.role not in gate.roles:
        raise StateError(f"approval {gate.name} asks for {', '.join(gate.roles)}, not {args.role}")
    who = await whoami(store)
    if gate.require_token and who.source != "token":
        raise StateError(
            f"approval {gate.name} takes sign-offs from API tokens only (GOLIVE_TOKEN); "
            f"{who.user} is identified by {who.source}"
        )
    if not who.holds(args.role):
        raise StateError(f"{who.user} does not hold the role {args.role} (identity: {who.source})")
    mine = bound(tuple(await store.signoffs(record.id)), state.step, revision)
    now = time.time()
    signoff = Signoff(state.step, revision, gate.name, args.role, who.user, approve, args.note, now)
    approvers = [s for s in mine if s.approve] + ([signoff] if approve else [])
    complete = {s.role for s in approvers} >= set(gate.roles)
    if approve and complete and self_only(approvers, state.started_by, gate):
        raise StateError(
            f"separation of duties: {who.user} started rollout {record.id} and cannot be its "
            "only approver; someone else must sign one of its roles"
        )
    verb = "approved" if approve else "rejected"
    text = f"{gate.name} {verb} by {who.user} as {args.role} for {revision}"
    event = Event(
        "signoff",
        text + (f": {args.note}" if args.note else ""),
        {"gate": gate.name, "role": args.role, "by": who.user, "approve": approve,
         "step": state.step, "revision": revision},
    )  # fmt: skip
    await store.add_signoff(record.id, signoff, event)
    missing = [r for r in gate.roles if r not in {s.role for s in approvers}]
    tail = "" if not approve else (f"; still needed: {', '.join(missing)}" if missing else "")
    console.print(f"{text} (rollout {record.id}, step {state.step + 1}){tail}", markup=False)
    return 0


async def cmd_approve(args: argparse.Namespace) -> int:
    return await _signoff(args, approve=True)


async def cmd_reject(args: argparse.Namespace) -> int:
    return await _signoff(args, approve=False)


async def cmd_token(args: argparse.Namespace) -> int:
    if not re.fullmatch(r"[A-Za-z0-9._@-]{1,64}", args.user):
        raise StateError(f"not a user name: {args.user!r} (letters, digits, '.', '_', '@', '-')")
    bad = [r for r in args.role if not ROLE.match(r)]
    if bad:
        raise StateError(f"not a role name: {', '.join(bad)} (lowercase, digits, '-' and '_')")
    token = "glv_" + secrets.token_urlsafe(32)
    await open_store(args.state_dir).add_token(token, args.user, tuple(args.role), time.time())
    console.print(f"token for {args.user} ({', '.join(args.role) or 'no role'}), shown once:")
    print(token)
    return 0
