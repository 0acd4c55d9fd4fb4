"""The verbs that act on rollouts: run, resume, status, pause/promote/abort/rollback, down, plan.

Operator verbs write a command into the store; the controller that holds the rollout's lease
applies it on its next pass. When no live controller holds it (the previous one crashed or
exited), the verb becomes the controller and drives the rollout to its end.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from rich.text import Text

from golive.cli.down import down
from golive.cli.session import (
    EXIT_CODES,
    EXIT_FAILED,
    EXIT_ROLLED_BACK,
    EXIT_TAMPERED,
    drive,
    finish_retirements,
    open_store,
    output_mode,
    rollout_store,
    start_or_continue,
    summary,
)
from golive.cli.terminal import Terminal, visible
from golive.core.state import CommandVerb, RolloutState
from golive.errors import LeaseError, StateError
from golive.identity import whoami
from golive.operations import commands
from golive.operations.trust import verified
from golive.operations.window import window_line
from golive.plan.loader import load_plan, plan_schema
from golive.store.audit import Verdict
from golive.store.base import Store
from golive.store.leases import controller_alive
from golive.store.records import RolloutRecord
from golive.traffic.base import Verification
from golive.traffic.listen import check_listen

console = Terminal()


async def cmd_run(args: argparse.Namespace) -> int:
    plan = load_plan(args.plan)
    store = open_store(args.state_dir)
    mode = output_mode(args.json)
    say = (lambda s: None) if mode == "json" else console.print
    check_listen(plan, args.state_dir)  # before any record: a proxy that cannot listen never starts
    await finish_retirements(store, plan.service, args.state_dir, mode, say)
    record = await start_or_continue(store, plan, say)
    if mode != "json":
        console.print(
            f"rollout {record.id} of {plan.service}: {plan.stable.version} -> {plan.canary.version}"
        )
    state = await drive(store, record, args.state_dir, mode)
    return await _ended(store, state, mode == "json", args.state_dir)


async def _ended(
    store: Store, state: RolloutState, as_json: bool, state_dir: Path | None = None
) -> int:
    """How the rollout ended, as a line (or one JSON document), and the exit code."""
    audit = await store.audit(state.id)
    if not as_json:
        summary(state, console, audit, state_dir)
    else:
        head = None if audit.head is None else {"seq": audit.head.seq, "hash": audit.head.hash}
        print(
            json.dumps(
                {"rollout": state.id, "phase": state.phase.value, "reason": state.reason,
                 "journal_head": head, "audit": audit.verdict.value}
            )
        )  # fmt: skip
    return EXIT_TAMPERED if audit.verdict is Verdict.TAMPERED else EXIT_CODES[state.phase]


async def _command(args: argparse.Namespace, verb: CommandVerb, take_over: bool) -> int:
    store = rollout_store(args.state_dir, args.id)
    record = await store.load(args.id)
    await verified(store, record)  # a tampered record is never driven, nor commanded
    kept = record.state.retiring and not record.state.retire_due(time.time())
    if verb is CommandVerb.RESUME and record.state.phase.terminal and kept:
        # the previous revision a watch window keeps: retired once keep_previous runs out
        console.print(f"rollout {record.id} ended ({record.state.phase.value}); "
                      f"{window_line(record.state, time.time())}")  # fmt: skip
        return EXIT_CODES[record.state.phase]
    if verb is CommandVerb.RESUME and record.state.phase.terminal and record.state.retiring:
        left = ", ".join(r.value for r in record.state.retiring)
        console.print(f"rollout {record.id} ended ({record.state.phase.value}); retiring {left}")
        return await _finish(args, store, record)
    if record.state.phase.terminal:
        console.print(f"rollout {record.id} already ended: {record.state.phase.value}")
        return EXIT_CODES[record.state.phase] if verb is CommandVerb.RESUME else EXIT_FAILED
    who = await whoami(store)
    try:
        asked = await commands.request(store, record.id, verb, who, args.reason, time.time())
    except commands.Unrecorded as exc:
        if verb not in (CommandVerb.ROLLBACK, CommandVerb.ABORT):
            raise
        return await _unrecorded_rollback(store, exc, verb, args.state_dir)
    record = asked.record
    if not take_over:
        then = (
            f"no controller is running, so nothing moves until 'golive resume {record.id}'"
            if controller_alive(record.lease_owner) is False
            else "its controller applies it now"
        )
        _requested(args, record.id, verb.value, then)
        return 0
    return await _finish(args, store, record, f"{verb.value} requested for {record.id}; ", verb)


async def _finish(
    args: argparse.Namespace, store: Store, record: RolloutRecord, prefix: str = "",
    verb: CommandVerb | None = None,
) -> int:  # fmt: skip
    """Become the rollout's controller and drive it to its end (retirements included)."""
    try:
        state = await drive(store, record, args.state_dir, output_mode(args.json))
    except LeaseError as exc:
        if prefix:
            _requested(args, record.id, verb.value if verb else "", f"{exc}, which applies it")
        else:
            console.print(f"{exc}, which finishes it")
        return 0
    except StateError as exc:  # recorded, but the store fails while driving it: traffic first
        if verb not in (CommandVerb.ROLLBACK, CommandVerb.ABORT):
            raise
        assert verb is not None
        return await _unrecorded_rollback(
            store, commands.Unrecorded(record, exc), verb, args.state_dir
        )
    return await _ended(store, state, args.json, args.state_dir)


def _requested(args: argparse.Namespace, rollout_id: str, verb: str, then: str) -> None:
    if args.json:
        print(json.dumps({"rollout": rollout_id, "requested": verb, "then": then}))
    else:
        console.print(f"{verb} requested for {rollout_id}; {then}")


async def _unrecorded_rollback(
    store: Store, exc: commands.Unrecorded, verb: CommandVerb, state_dir: Path
) -> int:
    verdict = await commands.roll_back_unrecorded(store, exc.record, verb, state_dir)
    safe = verdict is Verification.VERIFIED
    console.print(
        f"the store cannot record the rollback ({exc}); "
        + (
            "100% of traffic is on stable (verified by read-back), not yet recorded: "
            if safe
            else "traffic could NOT be verified on stable: check the router now; "
        )
        + f"once the store is writable, 'golive resume {exc.record.id}' records the {verb.value}",
        markup=False,
    )
    return EXIT_ROLLED_BACK if safe else EXIT_FAILED


async def cmd_resume(args: argparse.Namespace) -> int:
    return await _command(args, CommandVerb.RESUME, take_over=True)


async def cmd_pause(args: argparse.Namespace) -> int:
    return await _command(args, CommandVerb.PAUSE, take_over=False)


async def cmd_promote(args: argparse.Namespace) -> int:
    return await _command(args, CommandVerb.PROMOTE, take_over=True)


async def cmd_abort(args: argparse.Namespace) -> int:
    return await _command(args, CommandVerb.ABORT, take_over=True)


async def cmd_rollback(args: argparse.Namespace) -> int:
    return await _command(args, CommandVerb.ROLLBACK, take_over=True)


async def cmd_skip(args: argparse.Namespace) -> int:
    return await _command(args, CommandVerb.SKIP, take_over=True)


async def cmd_down(args: argparse.Namespace) -> int:
    code = await down(args.state_dir, args.service, console)
    demo = Path(args.state_dir) / "demo"  # what 'golive demo --keep' left running
    if args.service is None and (demo / "golive.db").exists():
        console.print(f"the demo's ({demo}):")
        code = max(code, await down(demo, None, console))
    return code


async def plan_command(args: argparse.Namespace) -> int:
    if args.plan_verb == "schema":
        print(json.dumps(plan_schema(), indent=2))
        return 0
    plan = load_plan(args.file)
    warnings = list(plan.judge.notes)  # e.g. "latency not judged: ..."
    if getattr(args, "json", False):
        print(
            json.dumps(
                {
                    "valid": True,
                    "service": plan.service,
                    "steps": len(plan.steps),
                    "warnings": warnings,
                }
            )
        )
    else:
        console.print(
            f"{plan.source}: valid plan for {plan.service} "
            f"({plan.stable.version} -> {plan.canary.version}, {len(plan.steps)} steps)"
        )
        for warning in warnings:
            console.print(Text("warning", "yellow").append(visible(f": {warning}")))
    return 0
