"""Driving one rollout from the CLI: create or continue it, run the loop, map the end to an exit
code. Shared by ``run``, ``resume``, the operator verbs and the demo."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from golive.cli.view import JsonView, LineView, LiveView
from golive.core.actions import PassView
from golive.core.state import Phase, RolloutState
from golive.errors import LeaseError, StateError
from golive.identity import whoami
from golive.notify.worker import sending
from golive.operations import rollouts
from golive.operations.trust import verified
from golive.operations.window import window_line
from golive.plan.model import Plan
from golive.report.gather import report_path
from golive.store.audit import Audit
from golive.store.base import Store
from golive.store.records import RolloutRecord
from golive.store.sqlite import SQLiteStore

driving: str | None = None  # the rollout this process drives, for messages on the way out
EXIT_PROMOTED, EXIT_FAILED, EXIT_INVALID, EXIT_ROLLED_BACK, EXIT_NO_GO = 0, 1, 2, 3, 4
EXIT_TAMPERED = 5
EXIT_CODES = {
    Phase.PROMOTED: EXIT_PROMOTED,
    Phase.ROLLED_BACK: EXIT_ROLLED_BACK,
    Phase.ABORTED: EXIT_ROLLED_BACK,
    Phase.FAILED: EXIT_FAILED,
}


def open_store(state_dir: Path) -> SQLiteStore:
    return SQLiteStore(state_dir / "golive.db")


def rollout_store(state_dir: Path, rollout_id: str) -> SQLiteStore:
    """The store of a verb that names a rollout: where no state database exists there is no
    such rollout, and asking must not create one (``golive pause x`` in the wrong directory)."""
    if not (state_dir / "golive.db").exists():
        raise StateError(f"no rollout {rollout_id!r}: {state_dir} holds no rollouts")
    return open_store(state_dir)


def head_line(audit: Audit) -> str:
    """What to keep to prove this record later."""
    if audit.head is None:
        return f"journal: {audit.describe()}"
    return f"journal head: {audit.head.short()} ({audit.verdict.value})"


async def start_or_continue(store: Store, plan: Plan, say: Callable[[str], None]) -> RolloutRecord:
    """The service's active rollout for this very plan, or a new one started by whoever runs
    this command (identified as for sign-offs)."""
    return await rollouts.start_or_continue(store, plan, await whoami(store), time.time(), say)


async def finish_retirements(
    store: Store, service: str, state_dir: Path, mode: str, say: Callable[[str], None]
) -> None:
    """Complete what ended rollouts of ``service`` still have to retire (a controller died
    while draining), before anything new starts: retirement is a recorded pending action."""
    for record in await store.retiring(service):
        if not record.state.retire_due(time.time()):  # a watch window's keep_previous
            continue  # retired once it runs out, by whichever controller looks then
        left = ", ".join(r.value for r in record.state.retiring)
        say(f"rollout {record.id} ({record.state.phase.value}) still has to retire: {left}")
        try:
            await drive(store, record, state_dir, mode)
        except LeaseError as exc:
            say(f"rollout {record.id}: {exc}, which retires it")


def choose_view(plan: Plan, rollout_id: str, mode: str) -> Callable[[PassView], None]:
    if mode == "json":
        return JsonView()
    if mode == "live":
        return LiveView(plan, rollout_id)
    return LineView(plan)


def output_mode(json_flag: bool) -> str:
    if json_flag:
        return "json"
    return "live" if sys.stdout.isatty() else "lines"


async def drive(
    store: Store,
    record: RolloutRecord,
    state_dir: Path,
    mode: str,
    extra: Callable[[PassView], None] | None = None,
) -> RolloutState:
    """Run the reconcile loop for ``record`` until it ends (or the user interrupts)."""
    global driving
    driving = record.id
    plan = await verified(store, record)
    view = choose_view(plan, record.id, mode)

    def on_pass(pv: PassView) -> None:
        view(pv)
        if extra is not None:
            extra(pv)

    async with sending(store, record.id):  # notifications go out beside the loop, never in it
        if isinstance(view, LiveView):
            with view:
                return await rollouts.drive(store, record, plan, state_dir, on_pass)
        return await rollouts.drive(store, record, plan, state_dir, on_pass)


def summary(
    state: RolloutState, console: Console, audit: Audit | None = None,
    state_dir: Path | None = None,
) -> None:  # fmt: skip
    style = "green" if state.phase is Phase.PROMOTED else "red"
    line = f"rollout {state.id}: {state.phase.value.replace('_', ' ')}"
    if state.reason:
        line += f" - {state.reason}"
    console.print(line, style=f"bold {style}", highlight=False, markup=False)
    if state.watch_until is not None:  # the watch window, and the previous revision's fate
        console.print(window_line(state, time.time()), highlight=False, markup=False)
    if audit is not None:
        console.print(head_line(audit), highlight=False, markup=False)
    report = None if state_dir is None else report_path(state_dir, state.id, "html")
    if report is not None and state.phase.terminal and report.exists():
        console.print(f"report: {report} (also .md and .json; 'golive report {state.id}')",
                      highlight=False, markup=False)  # fmt: skip
