"""``golive check PLAN`` (pre-flight alone, the scorecard, exit 0 on GO and 4 on NO-GO) and
``golive confirm ID ITEM --as ROLE`` (a manual checklist item, confirmed by a person)."""

from __future__ import annotations

import argparse
import json
import time

from rich.console import Console
from rich.table import Table
from rich.text import Text

from golive.analysis.scorecard import Scorecard
from golive.checks.preflight import run_checks, scorecard
from golive.cli.session import EXIT_NO_GO, rollout_store
from golive.cli.terminal import Terminal, literal
from golive.errors import StateError
from golive.identity import whoami
from golive.operations import signoffs
from golive.plan.loader import load_plan

console = Terminal()
SHOWN = {
    "pass": ("PASS", "green"), "warn": ("WARN", "yellow"), "fail": ("FAIL", "red"),
    "confirmed": ("CONFIRMED", "green"), "pending": ("WAITING", "yellow"),
}  # fmt: skip


def print_scorecard(card: Scorecard, out: Console = console) -> None:
    table = Table("category", "check", "result", "value", "reason", show_lines=False)
    for item in card.items:  # what checks measured is text, never markup
        name = literal(item.name)
        if item.critical:
            name.append(" (critical)", style="bold")
        outcome = Text(*SHOWN[item.outcome])
        table.add_row(
            literal(item.category), name, outcome, literal(item.value), literal(item.reason)
        )
    out.print(table)
    for c in card.categories:
        out.print(
            f"  {c.name:<16} {c.score:5.2f}/10  ({c.passed} of {c.items} passed)", markup=False
        )
    style = "bold green" if card.go else "bold red"
    out.print(Text.assemble((card.headline(), style), f" (GO at {card.go_at:g})"))
    for blocker in card.blockers:
        out.print(f"  - {blocker}", markup=False)


async def cmd_check(args: argparse.Namespace) -> int:
    plan = load_plan(args.plan)
    if not plan.preflight and not plan.checklist:
        raise StateError(f"{args.plan} has no 'preflight' checks and no 'checklist' items")
    if not args.json:
        console.print(
            f"pre-flight for {plan.service} {plan.stable.version} -> {plan.canary.version}: "
            f"{len(plan.preflight)} checks, {len(plan.checklist)} checklist items"
        )
    card = scorecard(plan, await run_checks(plan.preflight), {})
    if args.json:
        print(json.dumps(card.to_json()))
    else:
        print_scorecard(card)
        if card.waiting:
            console.print(
                "checklist items are confirmed during a rollout: golive confirm ID ITEM --as ROLE"
            )
    return 0 if card.go else EXIT_NO_GO


async def cmd_confirm(args: argparse.Namespace) -> int:
    store = rollout_store(args.state_dir, args.id)
    who = await whoami(store)
    text = await signoffs.confirm(
        store, args.id, args.item, args.role, args.note or "", who, time.time()
    )
    console.print(text, markup=False)
    return 0


def show_gates(gates: dict[str, object], out: Console) -> None:
    card = gates.get("scorecard")
    if isinstance(card, dict):
        print_scorecard(Scorecard.from_json(card), out)
    for s in gates.get("signoffs") or []:  # type: ignore[attr-defined]
        verb = "approved" if s["approve"] else "rejected"
        note = f": {s['note']}" if s["note"] else ""
        how = f" ({s['source']})" if s.get("source") else ""
        out.print(f"  {s['gate']} {verb} by {s['by']}{how} as {s['role']} (step {s['step'] + 1})"
                  f"{note}", markup=False)  # fmt: skip
