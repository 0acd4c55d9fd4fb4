"""``golive demo``: a real canary of the bundled sample service through a real Envoy.

Stable (2.0.0) is started as an already-running service; the canary (2.1.0) is deployed by the
plan as a local process; a bounded load generator sends ~150 requests/s through Envoy (10% of
them as beta users, carrying ``x-beta-user``). Timings are compressed so the good demo promotes
in about a minute; ``--bad`` ships a canary with 15% errors and 6x latency and shows the
automatic rollback and how fast traffic was safe again.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from golive.cli.down import down
from golive.cli.session import (
    EXIT_CODES,
    drive,
    open_store,
    output_mode,
    start_or_continue,
    summary,
)
from golive.cli.terminal import Terminal
from golive.core.actions import PassView
from golive.core.state import RolloutState
from golive.demo.app import start_sample_app
from golive.demo.load import LoadGenerator
from golive.deploy.ownership import PID_FILE, Owner, owned_processes, stop, version_dir, write_owner
from golive.engine.providers import build_proxy
from golive.files import private_dir, write_private
from golive.operations import rollouts
from golive.plan.kinds import local_routers
from golive.plan.loader import parse_plan
from golive.plan.model import Plan
from golive.processes import record_pid, terminate
from golive.proxy.ports import free_port

if TYPE_CHECKING:
    from golive.cli.dashboard import Dashboard

console = Terminal()
SERVICE = "demo-shop"
RATE, BETA_RATE = 135.0, 15.0
MAX_SECONDS = 150.0
SERVE_SECONDS = 1800.0


def demo_plan(
    stable_port: int, canary_port: int, listen_port: int, bad: bool, router: str = "envoy",
    gate: bool = False,
) -> str:  # fmt: skip
    """The demo's plan through ``router`` (a router kind golive runs itself); with ``gate``
    (``--serve``) the beta users' analysis lasts 30s (time to open the dashboard and log in)
    and the rollout waits at 5% for a release manager's sign-off."""
    approvals = "approvals:\n  go-live: {roles: [release-manager]}\n" if gate else ""
    approve = "  - approve: go-live\n" if gate else ""
    py = sys.executable
    errors, latency = ("0.15", "120") if bad else ("0.002", "20")
    latency_trigger = '  - {when: "latency_p95 > 400ms", for: 3s, window: 10s, min_requests: 20}\n'
    return f"""\
# The golive demo plan (written by 'golive demo'; timings compressed to about a minute).
service: {SERVICE}
revisions:
  stable: {{version: 2.0.0, url: "http://127.0.0.1:{stable_port}"}}
  canary:
    version: 2.1.0
    url: "http://127.0.0.1:{canary_port}"
    process:
      command: ["{py}", -m, golive.demo.app, --port, "{canary_port}", --version, 2.1.0,
                --error-rate, "{errors}", --latency-ms, "{latency}"]
      ready: "http://127.0.0.1:{canary_port}/health"
      timeout: 20s
route: {{router: {router}, listen: "127.0.0.1:{listen_port}"}}
metrics: {{source: router, interval: 1s}}
preflight:
  - {{name: stable healthy, http: {{url: "http://127.0.0.1:{stable_port}/health",
     json: {{status: ok}}, max_latency: 500ms}}, critical: true}}
  - {{name: disk, disk: {{path: /, max_used: 99%, warn_used: 95%}}}}
  - {{name: memory, memory: {{max_used: 99%, warn_used: 95%}}}}
scorecard: {{go_at: 9}}
checks:
  smoke: {{http: {{url: "http://127.0.0.1:{canary_port}/health", status: 200}}, timeout: 2s}}
triggers:
  - {{when: "error_rate > 5%", for: 3s, window: 10s, min_requests: 20, then: rollback}}
{latency_trigger}judge: {{kind: sequential, min_requests: 40, min_exposure: 10s}}
drain: {{grace: 1s, timeout: 10s}}   # stop a revision once nothing reached it for 1s
{approvals}steps:
  - check: preflight
  - deploy: canary
  - check: smoke
  - shift: {{weight: 0, segment: {{header: x-beta-user}}}}   # beta users first
  - analyze: {"30s" if gate else "6s"}
  - shift: 5
  - analyze: 8s
{approve}  - shift: 25
  - analyze: 6s
  - shift: 50
  - analyze: 6s
  - promote
"""


async def demo(args: argparse.Namespace) -> int:
    state_dir: Path = args.state_dir
    workdir = state_dir / "demo"
    if args.clean:
        shutil.rmtree(workdir, ignore_errors=True)
    private_dir(state_dir)
    private_dir(workdir)
    if (workdir / "golive.db").exists():  # an earlier 'demo --keep': its processes, not its record
        await down(workdir, None, Terminal(quiet=True))
    stable, stable_port = await asyncio.to_thread(start_sample_app, "2.0.0", 0.002, 20.0)
    _own_stable(workdir, stable.pid, stable_port)
    ports = [stable_port, free_port(), free_port()]
    plan_path = workdir / "plan.yaml"
    router = getattr(args, "router", local_routers()[0])
    serve = bool(getattr(args, "serve", False))
    plan_text = demo_plan(ports[0], ports[1], ports[2], bad=args.bad, router=router, gate=serve)
    write_private(plan_path, plan_text)
    plan = parse_plan(plan_path.read_text(), str(plan_path))
    mode = output_mode(args.json)

    def say(text: str) -> None:
        if mode != "json":
            console.print(text)

    say(f"golive demo{' --bad' if args.bad else ''}: plan written to {plan_path}")
    store = open_store(workdir)  # demo rollouts are kept in <state-dir>/demo (--clean forgets)
    url = f"http://127.0.0.1:{ports[2]}/"
    seconds = SERVE_SECONDS if serve else MAX_SECONDS  # a person may take a while to sign
    main_load = LoadGenerator(url, RATE, int(RATE * seconds), seconds)
    beta_load = LoadGenerator(
        url,
        BETA_RATE,
        int(BETA_RATE * seconds),
        seconds,
        concurrency=2,
        headers={"x-beta-user": "yes"},
    )
    loads: list[asyncio.Task[object]] = []
    decided: dict[str, float] = {}

    def watch(view: PassView) -> None:
        if not loads and view.observation.split is not None:
            loads.extend(asyncio.create_task(g.run()) for g in (main_load, beta_load))
        for event in view.events:
            if event.kind == "traffic_safe":
                decided["safe_ms"] = float(str(event.data["since_decision_ms"]))
                decided["at"] = time.time() - decided["safe_ms"] / 1000

    board: Dashboard | None = None
    if serve:  # the server's imports only when it is asked for
        from golive.cli.dashboard import Dashboard

        board = await Dashboard.start(store, workdir, mode)
    if board is not None:
        board.cancel_on_sigterm()
    try:
        if board is None:
            record = await start_or_continue(store, plan, say)
        else:
            record = await rollouts.start_or_continue(store, plan, board.starter, time.time(), say)
            board.announce(record.id)
        state = await drive(store, record, workdir, mode, extra=watch)
    except asyncio.CancelledError:
        if board is None:
            raise
        raise KeyboardInterrupt from None  # SIGTERM with --serve: as Ctrl-C, after the teardown
    finally:
        main_load.stop()
        beta_load.stop()
        if loads:
            await asyncio.wait(loads, timeout=10)
        if not args.keep:
            await _teardown(plan, workdir, stable.pid)
        if board is not None and sys.exc_info()[0] is not None:
            await board.stop()
    if mode != "json":
        _report(state, main_load, beta_load, decided, workdir)
    else:
        total = [main_load.stats, beta_load.stats]
        print(json.dumps({
            "rollout": state.id, "phase": state.phase.value, "reason": state.reason,
            "requests": sum(t.sent for t in total), "answered_5xx": sum(t.failed for t in total),
            "connection_errors": sum(t.errors for t in total),
            "traffic_safe_ms": decided.get("safe_ms"),
        }))  # fmt: skip
    if board is not None:
        await board.linger()
    return EXIT_CODES[state.phase]


def _own_stable(workdir: Path, pid: int, port: int) -> None:
    """The demo's stable app is golive's: recorded like a process golive deployed, so that
    'golive down' finds it after 'demo --keep'."""
    directory = version_dir(workdir / "revisions" / SERVICE, "2.0.0")
    directory.mkdir(parents=True, exist_ok=True)
    write_owner(
        directory, Owner("demo", "stable", "2.0.0", f"http://127.0.0.1:{port}", time.time())
    )
    record_pid(directory / PID_FILE, pid)


async def _teardown(plan: Plan, state_dir: Path, stable_pid: int) -> None:
    router = build_proxy(plan, state_dir)
    await router.stop()
    await router.aclose()
    for process in owned_processes(state_dir / "revisions", plan.service):
        await stop(process)
    await terminate(stable_pid)  # recorded above too: already stopped unless its record failed


def _report(
    state: RolloutState, main_load: LoadGenerator, beta: LoadGenerator,
    decided: dict[str, float], workdir: Path,
) -> None:  # fmt: skip
    summary(state, console, state_dir=workdir)
    total = main_load.stats
    versions = {
        v: total.by_version.get(v, 0) + beta.stats.by_version.get(v, 0)
        for v in set(total.by_version) | set(beta.stats.by_version)
    }
    served = ", ".join(f"{v}: {n}" for v, n in sorted(versions.items()))
    console.print(
        f"load: {total.sent + beta.stats.sent} requests ({served}); "
        f"{total.failed + beta.stats.failed} answered 5xx, "
        f"{total.errors + beta.stats.errors} connection errors"
        + (
            f" ({retried} resent on a fresh connection after the proxy closed an idle one)"
            if (retried := total.retried + beta.stats.retried)
            else ""
        )
    )
    if "at" in decided:
        decided_at = decided["at"]
        last_canary = max(g.stats.last_seen.get("2.1.0", 0.0) for g in (main_load, beta))
        console.print(
            f"rollback: router confirmed 100% stable "
            f"{decided['safe_ms']:.0f} ms after the decision; "
            f"the last response from the canary reached a client "
            f"{max(0.0, last_canary - decided_at) * 1000:.0f} ms after it"
        )
