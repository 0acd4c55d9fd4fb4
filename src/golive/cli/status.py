"""``golive status [ID]``: the rollouts, or one rollout as it stands, told truthfully.

The document itself is built by ``operations/status.py`` (the server answers with the same);
this module prints it.

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

from golive.analysis.judge import Status
from golive.cli.readiness import show_gates
from golive.cli.session import EXIT_TAMPERED, head_line, open_store
from golive.cli.terminal import Terminal, literal, one_line, visible
from golive.errors import StateError
from golive.operations import status
from golive.operations.window import phase_name, window_line
from golive.store.audit import Audit, Verdict
from golive.store.base import Store
from golive.store.leases import controller_alive

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
        return _print_listing(await status.listing(store), args.json)
    if getattr(args, "watch", False):
        return await _watch(store, (await store.load(args.id)).id)
    return _print_status(await status.status(store, args.id), args.json, args.all)


def _print_listing(found: status.Listing, as_json: bool) -> int:
    code = EXIT_TAMPERED if found.tampered else 0
    if as_json:
        print(json.dumps(found.to_json()))
        return code
    table = Table()
    table.add_column("rollout", no_wrap=True)  # people copy it: never cut
    for name in ("service", "phase", "step", "canary %", "started", "waiting for"):
        table.add_column(name)
    for r in found.records:
        bad = found.audits[r.id].verdict is Verdict.TAMPERED
        table.add_row(
            r.id,
            r.service,
            Text(f"TAMPERED ({r.state.phase.value})", "bold red") if bad else phase_name(r.state),
            str(r.state.step + 1),
            f"{r.state.desired.canary_weight:g}",
            time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r.created_at)),
            literal(status.waiting(r)),
        )
    console.print(table if found.records else NO_ROLLOUTS)
    for problem in found.unreadable:
        console.print(Text("UNREADABLE ", "bold red").append(visible(problem)))
    return code


def _print_status(st: status.Status, as_json: bool, everything: bool) -> int:
    code = EXIT_TAMPERED if st.tampered else 0
    if as_json:
        print(json.dumps(st.to_json(), default=str))
        return code
    record, s = st.record, st.record.state
    tampered_banner(st.audit)
    console.print(
        f"{record.id} {record.service}: {phase_name(s)}, step {s.step + 1}, "
        f"canary {s.desired.canary_weight:g}%"
    )
    if s.watch_until is not None:
        console.print(f"watch: {window_line(s, time.time())}")
    if s.reason:
        console.print(f"reason: {one_line(s.reason)}")
    if s.waiting_for:
        console.print(f"waiting for: {one_line(s.waiting_for)}")
    if s.retire_due(time.time()):
        left = ", ".join(r.value for r in s.retire_due(time.time()))
        console.print(f"still to retire: {left} ('golive resume {record.id}' finishes it)")
    if not s.settled:
        console.print(_controller(record.id, record.lease_owner, st.alive))
    if st.verdict is not None and st.verdict.metrics:
        console.print("judge (from the recorded measurements):")
        for m in st.verdict.metrics:
            console.print(Text(f"  {m.status.value:>13}  ", _STATUS.get(m.status, "yellow"))
                          .append(visible(m.sentence)))  # fmt: skip
    show_gates(st.gates, console)
    _print_notifications(st.notifications)
    if st.alarms:  # never scrolled out by later events: the proxy did not serve the set split
        last = st.alarms[-1]
        stamp = time.strftime("%H:%M:%S", time.localtime(last.at))
        console.print(
            Text(f"split alarms: {len(st.alarms)}", "bold red").append(
                visible(f", the last at {stamp}: {last.message}")
            )
        )
    events = st.events
    shown = events if everything else events[-15:]
    if len(shown) < len(events):
        console.print(f"  ({len(events) - len(shown)} earlier journal entries: --all shows them)")
    for e in shown:
        stamp = time.strftime("%H:%M:%S", time.localtime(e.at))
        console.print(f"  {stamp} {e.kind:<16} {one_line(e.message)}")
    tampered_banner(st.audit)
    if not code:
        console.print(head_line(st.audit), markup=False)
    return code


def _print_notifications(sent: dict[str, object]) -> None:
    if not any(sent.get(k) for k in ("pending", "sent", "failed")):
        return
    line = Text(f"notifications: {sent.get('sent', 0)} sent, {sent.get('pending', 0)} pending")
    failures = sent.get("failures")
    if sent.get("failed"):
        line.append(f", {sent['failed']} failed", "bold red")
    console.print(line)
    for f in failures if isinstance(failures, list) else []:
        console.print(visible(f"  failed {f['kind']} to {f['channel']} ({f['id']}): {f['error']}"))


async def _watch(store: Store, rollout_id: str, every: float = 1.0) -> int:
    """Follow the rollout's journal as it grows, read-only, until it settles (at most a day).
    Whether a controller drives it is said when it changes: with none, nothing will move until
    someone resumes it, and a silent watch would look like a rollout at work. The record is
    audited first, as ``golive status ID`` does: a tampered one is not followed (exit 5)."""
    audit = await store.audit(rollout_id)  # before the rows it covers are read
    if audit.verdict is Verdict.TAMPERED:
        tampered_banner(audit)
        return EXIT_TAMPERED
    seen, said = 0, ""
    for _ in range(int(86_400 / every)):
        for e in await store.events(rollout_id, after=seen):
            stamp = time.strftime("%H:%M:%S", time.localtime(e.at))
            console.print(f"{stamp} {e.kind:<16} {one_line(e.message)}")
            seen = e.seq
        record = await store.load(rollout_id)
        if record.state.idle(time.time()):  # a kept previous revision is retired later
            console.print(f"rollout {rollout_id}: {record.state.phase.value.replace('_', ' ')}")
            return 0
        alive = controller_alive(record.lease_owner)
        now = _controller(rollout_id, record.lease_owner, alive)
        if now != said and (alive is False or said):
            console.print(now)
        said = now
        await asyncio.sleep(every)
    return 0


_STATUS = {Status.OK: "green", Status.REGRESSED: "red"}


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
