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

from golive.cli.readiness import gates_of, show_gates
from golive.cli.session import (
    EXIT_CODES,
    EXIT_FAILED,
    drive,
    open_store,
    output_mode,
    start_or_continue,
    summary,
)
from golive.engine.state import CommandVerb
from golive.errors import LeaseError
from golive.plan.loader import load_plan, plan_schema
from golive.processes import check_pid_file, terminate
from golive.traffic.listen import check_listen

console = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)


async def cmd_run(args: argparse.Namespace) -> int:
    plan = load_plan(args.plan)
    store = open_store(args.state_dir)
    mode = output_mode(args.json)
    say = (lambda s: None) if mode == "json" else console.print
    check_listen(plan, args.state_dir)  # before any record: a proxy that cannot listen never starts
    record = await start_or_continue(store, plan, say)
    if mode != "json":
        console.print(
            f"rollout [bold]{record.id}[/] of {plan.service}: "
            f"{plan.stable.version} -> {plan.canary.version}"
        )
    state = await drive(store, record, args.state_dir, mode)
    if mode != "json":
        summary(state, console)
    else:
        print(json.dumps({"rollout": state.id, "phase": state.phase.value, "reason": state.reason}))
    return EXIT_CODES[state.phase]


async def _command(args: argparse.Namespace, verb: CommandVerb, take_over: bool) -> int:
    store = open_store(args.state_dir)
    record = await store.load(args.id)
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
    summary(state, console)
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
                        }
                        for r in records
                    ]
                )
            )
            return 0
        table = Table()
        table.add_column("rollout", no_wrap=True)  # people copy it: never cut
        for name in ("service", "phase", "step", "canary %", "started", "waiting for"):
            table.add_column(name)
        for r in records:
            table.add_row(
                r.id,
                r.service,
                r.state.phase.value,
                str(r.state.step + 1),
                f"{r.state.desired.canary_weight:g}",
                time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r.created_at)),
                "" if r.state.phase.terminal else r.state.waiting_for,
            )
        console.print(table if records else "no rollouts yet; start one with 'golive run PLAN'")
        return 0
    record = await store.load(args.id)
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
                },
                default=str,
            )
        )
        return 0
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
    return 0


async def cmd_down(args: argparse.Namespace) -> int:
    """Stop every process golive started under the state directory, by pid file: only a
    process that is still the one recorded there (pid, start time, command line)."""
    stopped = 0
    for pid_file in sorted(Path(args.state_dir).glob("*/*/*.pid")):
        if args.service and pid_file.parent.name != args.service:
            continue
        check = check_pid_file(pid_file)
        if check.problem:
            console.print(check.problem, markup=False)
        if check.pid is not None:
            await terminate(check.pid)
            stopped += 1
            console.print(f"stopped {pid_file.parent.name} {pid_file.stem} (pid {check.pid})")
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
