"""The verbs that act on rollouts: run, resume, status, pause/promote/abort/rollback, down, plan.

Operator verbs write a command into the store; the controller that holds the rollout's lease
applies it on its next pass. When no live controller holds it (the previous one crashed or
exited), the verb becomes the controller and drives the rollout to its end.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from golive.cli.down import down
from golive.cli.readiness import gates_of, show_gates
from golive.cli.session import (
    EXIT_CODES,
    EXIT_FAILED,
    EXIT_ROLLED_BACK,
    EXIT_TAMPERED,
    drive,
    finish_retirements,
    head_line,
    open_store,
    output_mode,
    start_or_continue,
    summary,
)
from golive.cli.view import printable
from golive.engine.state import CommandVerb, RolloutState
from golive.errors import LeaseError, StateError
from golive.identity import whoami
from golive.operations import commands
from golive.operations.trust import verified
from golive.plan.loader import load_plan, plan_schema
from golive.store.audit import Audit, Verdict
from golive.store.records import RolloutRecord
from golive.store.sqlite import SQLiteStore
from golive.traffic.base import Verification
from golive.traffic.listen import check_listen

console = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)


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
            f"rollout [bold]{record.id}[/] of {plan.service}: "
            f"{plan.stable.version} -> {plan.canary.version}"
        )
    state = await drive(store, record, args.state_dir, mode)
    audit = await store.audit(state.id)
    if mode != "json":
        summary(state, console, audit)
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
    store = open_store(args.state_dir)
    record = await store.load(args.id)
    await verified(store, record)  # a tampered record is never driven, nor commanded
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
        console.print(f"{verb.value} requested for {record.id}; its controller applies it now")
        return 0
    return await _finish(args, store, record, f"{verb.value} requested for {record.id}; ", verb)


async def _finish(
    args: argparse.Namespace, store: SQLiteStore, record: RolloutRecord, prefix: str = "",
    verb: CommandVerb | None = None,
) -> int:  # fmt: skip
    """Become the rollout's controller and drive it to its end (retirements included)."""
    try:
        state = await drive(store, record, args.state_dir, output_mode(args.json))
    except LeaseError as exc:
        console.print(f"{prefix}{exc}, which applies it")
        return 0
    except StateError as exc:  # recorded, but the store fails while driving it: traffic first
        if verb not in (CommandVerb.ROLLBACK, CommandVerb.ABORT):
            raise
        assert verb is not None
        return await _unrecorded_rollback(
            store, commands.Unrecorded(record, exc), verb, args.state_dir
        )
    summary(state, console, await store.audit(state.id))
    return EXIT_CODES[state.phase]


async def _unrecorded_rollback(
    store: SQLiteStore, exc: commands.Unrecorded, verb: CommandVerb, state_dir: Path
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


async def cmd_status(args: argparse.Namespace) -> int:
    store = open_store(args.state_dir)
    if args.id is None:
        records = await store.recent()
        audits = {r.id: await store.audit(r.id) for r in records}
        tampered = any(a.verdict is Verdict.TAMPERED for a in audits.values())
        code = EXIT_TAMPERED if tampered else 0
        if args.json:
            print(
                json.dumps(
                    [
                        {
                            "id": r.id,
                            "service": r.service,
                            "phase": r.state.phase.value,
                            "step": r.state.step,
                            "created_at": r.created_at,
                            "waiting_for": r.state.waiting_for,
                            "audit": audits[r.id].verdict.value,
                        }
                        for r in records
                    ]
                )
            )
            return code
        table = Table()
        table.add_column("rollout", no_wrap=True)  # people copy it: never cut
        for name in ("service", "phase", "step", "canary %", "started", "waiting for"):
            table.add_column(name)
        for r in records:
            bad = audits[r.id].verdict is Verdict.TAMPERED
            table.add_row(
                r.id,
                r.service,
                f"[bold red]TAMPERED[/] ({r.state.phase.value})" if bad else r.state.phase.value,
                str(r.state.step + 1),
                f"{r.state.desired.canary_weight:g}",
                time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r.created_at)),
                _waiting(r.state),
            )
        console.print(table if records else "no rollouts yet; start one with 'golive run PLAN'")
        return code
    record = await store.load(args.id)
    audit = await store.audit(record.id)  # before the rows it covers are read
    code = EXIT_TAMPERED if audit.verdict is Verdict.TAMPERED else 0
    events = await store.events(record.id)
    s = record.state
    gates = await gates_of(store, record.id, events)
    if args.json:
        print(
            json.dumps(
                {
                    "id": record.id,
                    "service": record.service,
                    "state": s.to_json(),
                    **gates,
                    "events": [{"at": e.at, "kind": e.kind, "message": e.message} for e in events],
                    "audit": audit_json(audit),
                },
                default=str,
            )
        )
        return code
    tampered_banner(audit)
    console.print(
        f"[bold]{record.id}[/] {record.service}: {s.phase.value}, step {s.step + 1}, "
        f"canary {s.desired.canary_weight:g}%"
    )
    if s.reason:
        console.print(f"reason: {printable(s.reason)}", markup=False)
    if s.waiting_for:
        console.print(f"waiting for: {printable(s.waiting_for)}", markup=False)
    if s.retiring:
        left = ", ".join(r.value for r in s.retiring)
        console.print(f"still to retire: {left} ('golive resume {record.id}' finishes it)")
    show_gates(gates, console)
    for e in events[-15:]:
        stamp = time.strftime("%H:%M:%S", time.localtime(e.at))
        console.print(f"  {stamp} {e.kind:<16} {printable(e.message)}", markup=False)
    tampered_banner(audit)
    if not code:
        console.print(head_line(audit), markup=False)
    return code


def tampered_banner(audit: Audit) -> None:
    if audit.verdict is Verdict.TAMPERED:
        console.print(
            Text.assemble((" TAMPERED ", "bold white on red"), f" {audit.problem}"),
            "golive will not drive this rollout; 'golive audit verify' checks every record",
            sep="\n",
        )


def audit_json(audit: Audit) -> dict[str, object]:
    head = None if audit.head is None else {"seq": audit.head.seq, "hash": audit.head.hash}
    return {"verdict": audit.verdict.value, "problem": audit.problem, "head": head}


def _waiting(state: RolloutState) -> str:
    if state.retiring:
        return "retirement of " + ", ".join(r.value for r in state.retiring)
    return "" if state.phase.terminal else state.waiting_for


async def cmd_down(args: argparse.Namespace) -> int:
    return await down(args.state_dir, args.service, console)


async def plan_command(args: argparse.Namespace) -> int:
    if args.plan_verb == "schema":
        print(json.dumps(plan_schema(), indent=2))
        return 0
    plan = load_plan(args.file)
    if getattr(args, "json", False):
        print(json.dumps({"valid": True, "service": plan.service, "steps": len(plan.steps)}))
    else:
        console.print(
            f"{args.file}: valid plan for {plan.service} "
            f"({plan.stable.version} -> {plan.canary.version}, {len(plan.steps)} steps)"
        )
    return 0
