"""``golive serve`` under load (issue #14, item 8). Prints figures, asserts nothing.

(a) ``fleet``: N concurrent rollouts (default 1,000) driven by one server controller
    (``golive.server.controller.Controller``, as ``golive serve`` runs it) over the in-memory
    store and over SQLite, with fake providers (``golive.testing``: router, scripted metrics,
    deployer) and a plan of shift/analyze steps with a 1 s metrics interval, so every rollout
    makes a real pass (lease, observe, sample, judge, decide, commit) every second. Measured over
    ``--seconds`` (default 60) after every rollout is driven: CPU share (process CPU time /
    wall), RSS, and the reconcile-loop lag: how late each pass starts against when its runner
    asked to be woken (``clock.sleep``), p50/p99/max.
(b) ``dashboard``: a real demo rollout (Envoy, the bundled sample app as ``golive demo``
    starts it) driven by a ``golive serve`` subprocess, 100 SSE clients connected to its event
    stream and 50 requests/s of API reads: the server process's CPU and RSS, API latency.
(c) ``rollback``: ``benchmarks/rollback.py``'s method (decision -> last canary answer) with
    no server running, then with a ``golive serve`` subprocess driving N fake rollouts beside
    it.

``scripts/bench serve [fleet|dashboard|rollback] [--rollouts N] [--seconds S] [--store ...]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import signal
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

from benchmarks.harness import pct, run
from golive.identity import Identity
from golive.operations import rollouts
from golive.plan.loader import parse_plan
from golive.plan.model import Plan, Revision
from golive.server.controller import Controller
from golive.store.base import Store
from golive.store.sqlite import SQLiteStore
from golive.testing import MemoryStore
from golive.testing.fakes import FakeDeployer, FakeRouter, ScriptedMetrics, passing_check

PLAN = """\
service: svc-{n}
revisions:
  stable: {{version: 1.0.0, url: "http://127.0.0.1:9001"}}
  canary: {{version: 2.0.0, url: "http://127.0.0.1:9002"}}
route: {{router: envoy, listen: "127.0.0.1:{port}"}}
metrics: {{source: router, interval: 1s}}
triggers:
  - {{when: "error_rate > 5%", for: 10s, then: rollback}}
judge: {{kind: threshold, max_latency: 500ms, min_requests: 20, window: 10s}}
steps:
  - shift: 10
  - analyze: 30m
  - shift: 50
  - analyze: 30m
  - promote
"""
WHO = Identity("bench", ("operator",), "token")


class WallClock:
    def now(self) -> float:
        return time.time()


class LagClock:
    """The runner's clock (one per runner). A runner sleeps ``min(1 s, interval)`` between
    passes, so a pass is due one interval after the previous one started: ``lags`` is how late
    each pass starts against that (its predecessor's duration plus the wake-up's delay);
    ``wakes`` only the wake-up's delay against the time asked for."""

    lags: list[float] = []  # noqa: RUF012 (one list for every runner of the benchmark)
    wakes: list[float] = []  # noqa: RUF012
    recording = False

    def __init__(self) -> None:
        self.started: float | None = None  # when the current pass started

    def now(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        asked = time.monotonic()
        await asyncio.sleep(seconds)
        woke = time.monotonic()
        if LagClock.recording:
            LagClock.wakes.append(woke - asked - seconds)
            if self.started is not None:
                LagClock.lags.append(woke - self.started - seconds)
        self.started = woke


def fake_providers(plan: Plan, state_dir: Path, rollout: str = "") -> object:
    from golive.engine.providers import Providers

    router = FakeRouter()
    metrics = ScriptedMetrics(WallClock(), router, rps=200.0)  # type: ignore[arg-type]
    deployer = FakeDeployer(ready_after=0)
    deployer.running[Revision.CANARY] = 0  # both revisions up and ready

    async def start(split: object) -> bool:
        return False

    async def close() -> None:
        return None

    return Providers(router, metrics, deployer, passing_check, start, close)  # type: ignore[arg-type]


def ms(values: list[float]) -> str:
    return (f"p50 {pct(values, 0.5) * 1000:.0f} ms, p99 {pct(values, 0.99) * 1000:.0f} ms, "
            f"max {max(values) * 1000:.0f} ms")  # fmt: skip


def rss_mb(pid: int | None = None) -> float:
    with open(f"/proc/{pid or 'self'}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


@contextlib.asynccontextmanager
async def opened(kind: str, tmp: Path) -> AsyncIterator[Store]:
    store: Store = MemoryStore() if kind == "memory" else SQLiteStore(tmp / "golive.db")
    try:
        yield store
    finally:
        store.close()


async def fleet(kind: str, count: int, seconds: float) -> None:
    rollouts.build_providers = fake_providers  # type: ignore[assignment]
    rollouts.SystemClock = LagClock  # type: ignore[misc]
    with tempfile.TemporaryDirectory(prefix="golive-bench-serve-") as tmp:
        async with opened(kind, Path(tmp)) as store:
            t0 = time.perf_counter()
            for n in range(count):
                plan = parse_plan(PLAN.format(n=n, port=20000 + n), f"svc-{n}.yaml")
                await rollouts.start_or_continue(store, plan, WHO, time.time(), lambda s: None)
            created = time.perf_counter() - t0
            controller = Controller(store, Path(tmp))
            task = asyncio.create_task(controller.run())
            try:
                deadline = time.monotonic() + 120
                while len(controller.tasks) < count and time.monotonic() < deadline:  # noqa: ASYNC110
                    await asyncio.sleep(0.5)
                driving = len(controller.tasks)
                await asyncio.sleep(3)  # every runner past its start
                LagClock.lags.clear()
                LagClock.wakes.clear()
                LagClock.recording = True
                wall0, cpu0 = time.perf_counter(), time.process_time()
                peak = rss_mb()
                end = time.monotonic() + seconds
                while time.monotonic() < end:
                    await asyncio.sleep(1)
                    peak = max(peak, rss_mb())
                wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
                LagClock.recording = False
                lags, wakes = list(LagClock.lags), list(LagClock.wakes)
                sample = (await store.active_for_service(f"svc-{count - 1}"))[0]
                measured = len(await store.measurements(sample.id))
                journal = len(await store.events(sample.id))
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                await controller.stop()
    print(f"benchmark serve fleet ({kind} store): {count} rollouts, {seconds:.0f} s, {load()}")
    print(f"  created in {created:.1f} s; driven by the controller: {driving} of {count}")
    print(f"  one rollout: step {sample.state.step + 1}, canary "
          f"{sample.state.desired.canary_weight:g}%, {measured} measurements, {journal} journal "
          "entries")  # fmt: skip
    print(f"  CPU share {cpu / wall:.2f} core (process CPU {cpu:.1f} s over {wall:.1f} s wall)")
    print(f"  RSS {rss_mb():.0f} MB (peak sampled {peak:.0f} MB, maxrss "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)")  # fmt: skip
    if lags:
        print(
            f"  passes {len(wakes)} ({len(wakes) / wall / max(1, driving):.2f} per rollout per "
            f"s, due 1 per s); reconcile-loop lag (pass start vs due): {ms(lags)}"
        )
        print(f"  wake-up delay alone (event loop): {ms(wakes)}")  # fmt: skip


async def rollback_beside(count: int) -> None:
    """benchmarks/rollback.py's trials alone, then beside a server process: a controller
    driving ``count`` fake rollouts on SQLite (part (a)'s heaviest case), started here and
    stopped by its pid."""
    from benchmarks import rollback

    print(f"benchmark serve rollback: without a server ({load()})")
    await rollback.main()
    cmd = [sys.executable, "-m", "benchmarks.serve", "fleet", "--store", "sqlite",
           f"--rollouts={count}", "--seconds=300"]  # fmt: skip
    proc = await asyncio.create_subprocess_exec(*cmd, stdout=asyncio.subprocess.DEVNULL)
    try:
        await asyncio.sleep(8 + count / 100)  # its rollouts created and driven
        if proc.returncode is not None:
            raise RuntimeError("the server process ended early")
        cpu0, wall0 = cpu_seconds(proc.pid), time.perf_counter()
        print(f"benchmark serve rollback: beside a server driving {count} rollouts ({load()})")
        await rollback.main()
        share = (cpu_seconds(proc.pid) - cpu0) / (time.perf_counter() - wall0)
        print(f"  (the server process used {share:.2f} core meanwhile, RSS "
              f"{rss_mb(proc.pid):.0f} MB)")  # fmt: skip
    finally:
        if proc.returncode is None:
            proc.terminate()
        await asyncio.wait_for(proc.wait(), 30)


def main() -> None:
    parser = argparse.ArgumentParser(prog="scripts/bench serve")
    parser.add_argument("part", nargs="?", default="all",
                        choices=["all", "fleet", "dashboard", "rollback"])  # fmt: skip
    parser.add_argument("--rollouts", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--store", choices=["memory", "sqlite", "both"], default="both")
    args = parser.parse_args()
    args.rollouts = max(1, min(args.rollouts, 5000))
    args.seconds = max(5.0, min(args.seconds, 600.0))
    kinds = ["memory", "sqlite"] if args.store == "both" else [args.store]

    async def go() -> None:
        task = asyncio.current_task()
        if task is not None:  # SIGTERM cancels the run, so cleanup still happens
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        if args.part in ("all", "fleet"):
            for kind in kinds:
                await fleet(kind, args.rollouts, args.seconds)

        if args.part in ("all", "rollback"):
            await rollback_beside(args.rollouts)

    run(go)


if __name__ == "__main__":
    sys.exit(main())
