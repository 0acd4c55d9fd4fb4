"""``golive status [ID]``: the rollouts, or one rollout as it stands, told truthfully.

The list shows every rollout, a row that cannot be read among them (reported, the others still
listed); one rollout shows its phase and step, what it waits for, whether a live controller
drives it, its scorecard and sign-offs, and its journal (the last 15 entries, or ``--all``).
Its record is audited first: a tampered one is shown with TAMPERED and exits 5.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path

from rich.table import Table
from rich.text import Text

from golive.analysis.judge import Judge, Status
from golive.analysis.judge import Verdict as JudgeVerdict
from golive.cli.readiness import gates_of, show_gates
from golive.cli.session import EXIT_TAMPERED, head_line, open_store
from golive.cli.terminal import Terminal, literal, one_line, visible
from golive.errors import GoliveError, StateError, TamperedError
from golive.store.audit import Audit, Verdict
from golive.store.base import Store
from golive.store.leases import controller_alive
from golive.store.records import RolloutRecord

console = Terminal()
NO_ROLLOUTS = "no rollouts yet; start one with 'golive run PLAN'"


async def cmd_status(args: argparse.Namespace) -> int:
    if not (Path(args.state_dir) / "golive.db").exists():  # a read-only verb creates nothing
        if args.id is not None:
            raise StateError(f"no rollout {args.id!r}: {args.state_dir} holds no rollouts")
        if args.json:
            print("[]")
        else:
            console.print(NO_ROLLOUTS)
        return 0
    store = open_store(args.state_dir)
    if args.id is None:
        listed = await store.recent()
        records = [r for r in listed if not isinstance(r, TamperedError)]
        unreadable = [str(r) for r in listed if isinstance(r, TamperedError)]
        audits = {r.id: await store.audit(r.id) for r in records}
        tampered = any(a.verdict is Verdict.TAMPERED for a in audits.values())
        code = EXIT_TAMPERED if tampered or unreadable else 0
        if args.json:
            print(
                json.dumps(
                    [
                        {
                            "id": r.id,
                            "service": r.service,
                            "phase": r.state.phase.value,
                            "step": r.state.step + 1,
                            "canary_weight": r.state.desired.canary_weight,
                            "versions": _versions(store, r),
                            "created_at": r.created_at,
                            "waiting_for": _waiting(r),
                            "controller_running": _running(r),
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
                Text(f"TAMPERED ({r.state.phase.value})", "bold red")
                if bad
                else r.state.phase.value,
                str(r.state.step + 1),
                f"{r.state.desired.canary_weight:g}",
                time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r.created_at)),
                literal(_waiting(r)),
            )
        console.print(table if records else NO_ROLLOUTS)
        for problem in unreadable:
            console.print(Text("UNREADABLE ", "bold red").append(visible(problem)))
        return code
    record = await store.load(args.id)
    if getattr(args, "watch", False):
        return await _watch(store, record.id)
    audit = await store.audit(record.id)  # before the rows it covers are read
    code = EXIT_TAMPERED if audit.verdict is Verdict.TAMPERED else 0
    events = await store.events(record.id)
    s = record.state
    gates = await gates_of(store, record.id, events)
    alive = controller_alive(record.lease_owner)
    verdict = await _verdict(store, record) if code == 0 else None
    if args.json:
        print(
            json.dumps(
                {
                    "id": record.id,
                    "service": record.service,
                    "state": s.to_json(),
                    **gates,
                    "step_number": s.step + 1,
                    "controller": {"owner": record.lease_owner, "running": alive},
                    "judge": None
                    if verdict is None
                    else [
                        {
                            "metric": m.metric,
                            "stable": m.stable,
                            "canary": m.canary,
                            "status": m.status.value,
                            "sentence": m.sentence,
                        }
                        for m in verdict.metrics
                    ],
                    "events": [{"at": e.at, "kind": e.kind, "message": e.message} for e in events],
                    "split_alarms": sum(e.kind == "split_alarm" for e in events),
                    "audit": audit_json(audit),
                },
                default=str,
            )
        )
        return code
    tampered_banner(audit)
    console.print(
        f"{record.id} {record.service}: {s.phase.value}, step {s.step + 1}, "
        f"canary {s.desired.canary_weight:g}%"
    )
    if s.reason:
        console.print(f"reason: {one_line(s.reason)}")
    if s.waiting_for:
        console.print(f"waiting for: {one_line(s.waiting_for)}")
    if s.retiring:
        left = ", ".join(r.value for r in s.retiring)
        console.print(f"still to retire: {left} ('golive resume {record.id}' finishes it)")
    if not s.settled:
        console.print(_controller(record.id, record.lease_owner, alive))
    if verdict is not None and verdict.metrics:
        console.print("judge (from the recorded measurements):")
        for m in verdict.metrics:
            console.print(Text(f"  {m.status.value:>13}  ", _STATUS.get(m.status, "yellow"))
                          .append(visible(m.sentence)))  # fmt: skip
    show_gates(gates, console)
    alarms = [e for e in events if e.kind == "split_alarm"]
    if alarms:  # never scrolled out by later events: the proxy did not serve the set split
        stamp = time.strftime("%H:%M:%S", time.localtime(alarms[-1].at))
        console.print(
            Text(f"split alarms: {len(alarms)}", "bold red").append(
                visible(f", the last at {stamp}: {alarms[-1].message}")
            )
        )
    shown = events if args.all else events[-15:]
    if len(shown) < len(events):
        console.print(f"  ({len(events) - len(shown)} earlier journal entries: --all shows them)")
    for e in shown:
        stamp = time.strftime("%H:%M:%S", time.localtime(e.at))
        console.print(f"  {stamp} {e.kind:<16} {one_line(e.message)}")
    tampered_banner(audit)
    if not code:
        console.print(head_line(audit), markup=False)
    return code


async def _watch(store: Store, rollout_id: str, every: float = 1.0) -> int:
    """Follow the rollout's journal as it grows, read-only, until it settles (at most a day).
    Whether a controller drives it is said when it changes: with none, nothing will move until
    someone resumes it, and a silent watch would look like a rollout at work."""
    seen, said = 0, ""
    for _ in range(int(86_400 / every)):
        for e in await store.events(rollout_id, after=seen):
            stamp = time.strftime("%H:%M:%S", time.localtime(e.at))
            console.print(f"{stamp} {e.kind:<16} {one_line(e.message)}")
            seen = e.seq
        record = await store.load(rollout_id)
        if record.state.settled:
            console.print(f"rollout {rollout_id}: {record.state.phase.value.replace('_', ' ')}")
            return 0
        alive = controller_alive(record.lease_owner)
        now = _controller(rollout_id, record.lease_owner, alive)
        if now != said and (alive is False or said):
            console.print(now)
        said = now
        await asyncio.sleep(every)
    return 0


def _versions(store: Store, record: RolloutRecord) -> dict[str, str] | None:
    try:
        plan = store.load_plan(record)
    except GoliveError:  # an edited plan: its versions are not to be believed
        return None
    return {"stable": plan.stable.version, "canary": plan.canary.version}


_STATUS = {Status.OK: "green", Status.REGRESSED: "red"}


async def _verdict(store: Store, record: RolloutRecord) -> JudgeVerdict | None:
    """The judge's verdict now, rebuilt from the recorded measurements as a controller would."""
    plan = store.load_plan(record)
    judge = Judge(plan.judge)
    verdict = None
    for at, weight, stable, canary in await store.measurements(record.id):
        verdict = judge.update(at, stable, canary, weight / 100.0)
    return verdict


def _controller(rollout_id: str, owner: str | None, alive: bool | None) -> str:
    if alive:
        return f"controller: {owner} (running)"
    if alive is None:
        return f"controller: {owner} (on another host)"
    return (
        f"controller: none is running (the figures above are as last recorded); "
        f"'golive resume {rollout_id}' continues it"
    )


def tampered_banner(audit: Audit) -> None:
    if audit.verdict is Verdict.TAMPERED:
        console.print(
            Text.assemble((" TAMPERED ", "bold white on red"), visible(f" {audit.problem}")),
            "golive will not drive this rollout; 'golive audit verify' checks every record",
            sep="\n",
        )


def audit_json(audit: Audit) -> dict[str, object]:
    head = None if audit.head is None else {"seq": audit.head.seq, "hash": audit.head.hash}
    return {"verdict": audit.verdict.value, "problem": audit.problem, "head": head}


def _running(record: RolloutRecord) -> bool | None:
    """Whether a live controller drives it: None on another host or when nothing is left to do."""
    return None if record.state.settled else controller_alive(record.lease_owner)


def _waiting(record: RolloutRecord) -> str:
    """What it waits for; with no controller running, only 'golive resume' moves it (a frozen
    "analysis (117s left)" after a kill -9 would say something runs)."""
    state = record.state
    if _running(record) is False:
        return "golive resume (no controller is running)"
    if state.retiring:
        return "retirement of " + ", ".join(r.value for r in state.retiring)
    return "" if state.phase.terminal else state.waiting_for
