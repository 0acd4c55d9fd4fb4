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

from golive.cli.readiness import gates_of, show_gates
from golive.cli.session import (
    EXIT_CODES,
    EXIT_FAILED,
    EXIT_TAMPERED,
    drive,
    head_line,
    open_store,
    output_mode,
    start_or_continue,
    summary,
    verified,
)
from golive.engine.state import CommandVerb
from golive.errors import LeaseError
from golive.plan.loader import load_plan, plan_schema
from golive.processes import pid_alive, terminate
from golive.store.audit import Audit, Verdict

console = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)


async def cmd_run(args: argparse.Namespace) -> int:
    plan = load_plan(args.plan)
    store = open_store(args.state_dir)
    mode = output_mode(args.json)
    say = (lambda s: None) if mode == "json" else console.print
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
    if record.state.phase.terminal:
        console.print(f"rollout {record.id} already ended: {record.state.phase.value}")
        return EXIT_CODES[record.state.phase] if verb is CommandVerb.RESUME else EXIT_FAILED
    await store.add_command(record.id, verb, "cli", args.reason, time.time())
    if not take_over:
        console.print(f"{verb.value} requested for {record.id}; its controller applies it now")
        return 0
    try:
        state = await drive(store, record, args.state_dir, output_mode(args.json))
    except LeaseError as exc:
        console.print(f"{verb.value} requested for {record.id}; {exc}, which applies it")
        return 0
    summary(state, console, await store.audit(state.id))
    return EXIT_CODES[state.phase]


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
                "" if r.state.phase.terminal else r.state.waiting_for,
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
        console.print(f"reason: {s.reason}", markup=False)
    if s.waiting_for:
        console.print(f"waiting for: {s.waiting_for}", markup=False)
    show_gates(gates, console)
    for e in events[-15:]:
        stamp = time.strftime("%H:%M:%S", time.localtime(e.at))
        console.print(f"  {stamp} {e.kind:<16} {e.message}", markup=False)
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


async def cmd_down(args: argparse.Namespace) -> int:
    """Stop every process golive started under the state directory, by pid file."""
    stopped = 0
    for pid_file in sorted(Path(args.state_dir).glob("*/*/*.pid")):
        if args.service and pid_file.parent.name != args.service:
            continue
        try:
            pid = int(pid_file.read_text())
        except (OSError, ValueError):
            continue
        if pid_alive(pid):
            await terminate(pid)
            stopped += 1
            console.print(f"stopped {pid_file.parent.name} {pid_file.stem} (pid {pid})")
        pid_file.unlink(missing_ok=True)
    if not stopped:
        console.print("nothing to stop")
    return 0


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
