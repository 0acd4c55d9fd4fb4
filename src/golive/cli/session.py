"""Driving one rollout from the CLI: create or continue it, run the loop, map the end to an exit
code. Shared by ``run``, ``resume``, the operator verbs and the demo."""

from __future__ import annotations

import secrets
import sys
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from golive.cli.view import JsonView, LineView, LiveView
from golive.engine.clock import SystemClock
from golive.engine.providers import build_providers
from golive.engine.runner import PassView, Runner
from golive.engine.state import Event, Phase, RolloutId, RolloutState
from golive.errors import StateError, TamperedError
from golive.identity import whoami
from golive.plan.model import Plan, Split, describe_step
from golive.store.audit import Audit, Verdict
from golive.store.records import RolloutRecord
from golive.store.sqlite import SQLiteStore

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


async def verified(store: SQLiteStore, record: RolloutRecord) -> Plan:
    """The rollout's plan, once its whole record has passed the audit: golive never drives,
    signs or confirms a rollout whose record was edited outside it (TamperedError, exit 5)."""
    audit = await store.audit(record.id)
    if audit.verdict is Verdict.TAMPERED:
        raise TamperedError(
            f"rollout {record.id} is TAMPERED: {audit.problem}. golive will not act on a record "
            f"that fails its audit; 'golive audit verify {record.id}' (see docs/audit.md)"
        )
    return store.load_plan(record)


def head_line(audit: Audit) -> str:
    """What to keep to prove this record later."""
    if audit.head is None:
        return f"journal: {audit.describe()}"
    return f"journal head: {audit.head.short()} ({audit.verdict.value})"


def new_rollout_id(service: str) -> RolloutId:
    return RolloutId(f"{service}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}")


async def start_or_continue(
    store: SQLiteStore, plan: Plan, say: Callable[[str], None]
) -> RolloutRecord:
    """The service's active rollout for this very plan, or a new one."""
    active = await store.active_for_service(plan.service)
    if active:
        record = active[0]
        await verified(store, record)
        if not store.plan_matches(record, plan.text):
            raise StateError(
                f"{plan.service} already has an active rollout {record.id} "
                f"({record.state.phase.value}) from a different plan; finish it with "
                f"'golive resume {record.id}' or 'golive abort {record.id}' first"
            )
        say(f"continuing rollout {record.id} from step {record.state.step + 1}")
        return record
    now = time.time()
    rid = new_rollout_id(plan.service)
    who = await whoami(store)
    state = RolloutState(
        rid, Phase.PROGRESSING, 0, now, Split.all_stable(), now, started_by=who.user
    )
    record = RolloutRecord(
        rid, plan.service, plan.source, plan.digest, plan.text, state, 1, now, now, None
    )
    first = describe_step(plan.steps[0])
    await store.create(
        record,
        [
            Event(
                "rollout_started",
                f"rollout of {plan.service} {plan.stable.version} -> {plan.canary.version} "
                f"started by {who.user}",
                {"plan": plan.source, "digest": plan.digest, "by": who.user},
            ),
            Event("step_started", first, {"step": 0}),
        ],
        now,
    )
    return await store.load(rid)  # as stored: its plan digest is the store's seal


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
    store: SQLiteStore,
    record: RolloutRecord,
    state_dir: Path,
    mode: str,
    extra: Callable[[PassView], None] | None = None,
) -> RolloutState:
    """Run the reconcile loop for ``record`` until it ends (or the user interrupts)."""
    plan = await verified(store, record)
    providers = build_providers(plan, state_dir)
    view = choose_view(plan, record.id, mode)

    def on_pass(pv: PassView) -> None:
        view(pv)
        if extra is not None:
            extra(pv)

    runner = Runner(plan, store, providers, SystemClock(), on_pass)
    try:
        if isinstance(view, LiveView):
            with view:
                return await runner.run(record.id)
        return await runner.run(record.id)
    finally:
        await providers.close()


def summary(state: RolloutState, console: Console, audit: Audit | None = None) -> None:
    style = "green" if state.phase is Phase.PROMOTED else "red"
    line = f"rollout {state.id}: {state.phase.value.replace('_', ' ')}"
    if state.reason:
        line += f" - {state.reason}"
    console.print(line, style=f"bold {style}", highlight=False, markup=False)
    if audit is not None:
        console.print(head_line(audit), highlight=False, markup=False)
