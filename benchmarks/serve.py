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
import json
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx

from benchmarks.harness import pct, run, summary
from golive.engine.clock import WakeableClock
from golive.identity import Identity
from golive.operations import rollouts
from golive.plan.loader import parse_plan
from golive.plan.model import Plan, Revision
from golive.server import controller as controller_module
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


class LagClock(WakeableClock):
    """The runner's clock (one per runner). A runner sleeps ``min(1 s, interval)`` between
    passes, so a pass is due one interval after the previous one started: ``lags`` is how late
    each pass starts against that (its predecessor's duration plus the wake-up's delay);
    ``wakes`` only the wake-up's delay against the time asked for."""

    lags: list[float] = []  # noqa: RUF012 (one list for every runner of the benchmark)
    wakes: list[float] = []  # noqa: RUF012
    recording = False

    def __init__(self) -> None:
        super().__init__()
        self.started: float | None = None  # when the current pass started

    async def sleep(self, seconds: float) -> None:
        asked = time.monotonic()
        await super().sleep(seconds)
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
    return (
        f"p50 {pct(values, 0.5) * 1000:.0f} ms, p99 {pct(values, 0.99) * 1000:.0f} ms, "
        f"max {max(values) * 1000:.0f} ms"
    )


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
    controller_module.WakeableClock = LagClock  # type: ignore[misc]  # the server's runners
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
    print(
        f"  one rollout: step {sample.state.step + 1}, canary "
        f"{sample.state.desired.canary_weight:g}%, {measured} measurements, {journal} journal "
        "entries"
    )
    print(f"  CPU share {cpu / wall:.2f} core (process CPU {cpu:.1f} s over {wall:.1f} s wall)")
    print(
        f"  RSS {rss_mb():.0f} MB (peak sampled {peak:.0f} MB, maxrss "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)"
    )
    if lags:
        print(
            f"  passes {len(wakes)} ({len(wakes) / wall / max(1, driving):.2f} per rollout per "
            f"s, due 1 per s); reconcile-loop lag (pass start vs due): {ms(lags)}"
        )
        print(f"  wake-up delay alone (event loop): {ms(wakes)}")


SSE_CLIENTS, API_RATE = 100, 50.0


async def _sse_client(
    url: str, headers: dict[str, str], got: list[int], stop: asyncio.Event
) -> None:
    """One dashboard: the rollout's event stream, reconnecting (Last-Event-ID) until stopped."""
    last = "0"
    async with httpx.AsyncClient(trust_env=False, timeout=30) as client:
        while not stop.is_set():
            with contextlib.suppress(httpx.HTTPError):
                async with client.stream(
                    "GET", url, headers={**headers, "Last-Event-ID": last}
                ) as resp:
                    async for line in resp.aiter_lines():
                        if line.startswith("id: "):
                            last = line[4:]
                            got[0] += 1
                        if stop.is_set():
                            return
            await asyncio.sleep(0.5)


async def _api_reads(
    base: str,
    rid: str,
    headers: dict[str, str],
    latencies: list[float],
    errors: list[int],
    stop: asyncio.Event,
) -> None:
    paths = [
        f"/api/v1/rollouts/{rid}",
        "/api/v1/rollouts",
        f"/api/v1/rollouts/{rid}/journal",
        f"/api/v1/rollouts/{rid}/measurements",
        "/status/demo-shop.json",
    ]
    async with httpx.AsyncClient(trust_env=False, timeout=10, base_url=base) as client:
        t0, n = time.perf_counter(), 0
        pending: set[asyncio.Task[None]] = set()
        while not stop.is_set() and n < 50_000:
            due = t0 + n / API_RATE  # an open loop: a slow answer does not slow the next ask
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            n += 1

            async def one(path: str) -> None:
                t = time.perf_counter()
                try:
                    resp = await client.get(path, headers=headers)
                    latencies.append(time.perf_counter() - t)
                    if resp.status_code >= 400:
                        errors.append(resp.status_code)
                except httpx.HTTPError:
                    errors.append(0)

            asked = asyncio.create_task(one(paths[n % len(paths)]))
            pending.add(asked)
            asked.add_done_callback(pending.discard)
        if pending:
            await asyncio.wait(pending, timeout=15)


async def dashboard(max_seconds: float, sse_clients: int = SSE_CLIENTS) -> None:
    """A real demo rollout (Envoy, the sample app) driven by a ``golive serve`` process, with
    100 dashboards on its event stream and 50 API reads a second."""
    from golive.cli.demo import BETA_RATE, RATE, SERVICE, demo_plan
    from golive.demo.app import start_sample_app
    from golive.demo.load import LoadGenerator
    from golive.deploy.ownership import owned_processes, stop
    from golive.engine.providers import build_proxy
    from golive.proxy.ports import free_port

    golive = str(Path(sys.executable).with_name("golive"))
    with tempfile.TemporaryDirectory(prefix="golive-bench-serve-") as tmp:
        state = Path(tmp) / "state"
        out = subprocess.run(  # noqa: ASYNC221 (before anything runs)
            [golive, "token", "init", "bench", "--state-dir", str(state)],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
        token = re.findall(r"glv_\S+", out)[0]
        headers = {"Authorization": f"Bearer {token}"}
        viewers = []  # the server lets one user open 20 event streams: a viewer per 20 clients
        for n in range((sse_clients + 19) // 20):
            minted = subprocess.run(  # noqa: ASYNC221 (before anything runs)
                [golive, "token", "add", f"viewer{n}", "--state-dir", str(state)],
                capture_output=True, text=True, check=True, timeout=60,
                env={**os.environ, "GOLIVE_TOKEN": token},
            ).stdout  # fmt: skip
            viewer = re.findall(r"glv_\S+", minted)[0]
            viewers.append({"Authorization": f"Bearer {viewer}"})
        stable, stable_port = await asyncio.to_thread(start_sample_app, "2.0.0", 0.002, 20.0)
        ports = [stable_port, free_port(), free_port()]
        plan_text = demo_plan(ports[0], ports[1], ports[2], bad=False)
        api_port = free_port()
        base = f"http://127.0.0.1:{api_port}"
        server = await asyncio.create_subprocess_exec(
            golive,
            "serve",
            "--listen",
            f"127.0.0.1:{api_port}",
            "--state-dir",
            str(state),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        stop_all = asyncio.Event()
        tasks: list[asyncio.Task[None]] = []
        reader: asyncio.subprocess.Process | None = None
        loads: list[LoadGenerator] = []
        latencies: list[float] = []
        errors: list[int] = []  # statuses of failed reads (0: no answer)
        events = [0]
        phase, cpu, wall, peak, mine = "?", 0.0, 0.0, 0.0, 0.0
        try:
            async with httpx.AsyncClient(trust_env=False, timeout=10, base_url=base) as client:
                for _ in range(100):
                    with contextlib.suppress(httpx.HTTPError):
                        if (await client.get("/api/v1/health")).status_code == 200:
                            break
                    await asyncio.sleep(0.1)
                cpu0, wall0 = cpu_seconds(server.pid), time.perf_counter()
                mine0 = time.process_time()
                resp = await client.post(
                    "/api/v1/rollouts",
                    content=plan_text.encode(),
                    headers={**headers, "Content-Type": "application/yaml"},
                )
                resp.raise_for_status()
                rid = resp.json()["id"]
                events_url = f"{base}/api/v1/rollouts/{rid}/events"
                tasks += [
                    asyncio.create_task(_sse_client(events_url, viewers[n // 20], events, stop_all))
                    for n in range(sse_clients)
                ]
                reader = await asyncio.create_subprocess_exec(  # its own process: its own core
                    sys.executable,
                    "-m",
                    "benchmarks.serve",
                    "reads",
                    f"--base={base}",
                    f"--rollout={rid}",
                    f"--seconds={max_seconds}",
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                )
                assert reader.stdin is not None
                reader.stdin.write(f"{token}\n".encode())
                await reader.stdin.drain()
                reader.stdin.close()
                url = f"http://127.0.0.1:{ports[2]}/"
                loads = [
                    LoadGenerator(url, RATE, int(RATE * max_seconds), max_seconds),
                    LoadGenerator(
                        url,
                        BETA_RATE,
                        int(BETA_RATE * max_seconds),
                        max_seconds,
                        concurrency=2,
                        headers={"x-beta-user": "yes"},
                    ),
                ]
                tasks += [asyncio.create_task(g.run()) for g in loads]  # type: ignore[misc]
                end = time.monotonic() + max_seconds
                while time.monotonic() < end:
                    await asyncio.sleep(1)
                    peak = max(peak, rss_mb(server.pid))
                    doc = (await client.get(f"/api/v1/rollouts/{rid}", headers=headers)).json()
                    phase = str(doc.get("state", {}).get("phase", "?"))
                    if phase not in ("progressing", "paused", "rolling_back"):
                        break
                cpu, wall = cpu_seconds(server.pid) - cpu0, time.perf_counter() - wall0
                mine = time.process_time() - mine0
                if reader.returncode is None:
                    reader.send_signal(signal.SIGINT)  # stop asking; report what was answered
                found, _ = await asyncio.wait_for(reader.communicate(), 30)
                report = json.loads(found or b"{}")
                latencies, errors = report.get("latencies", []), report.get("errors", [])
        finally:
            stop_all.set()
            for g in loads:
                g.stop()
            if tasks:
                await asyncio.wait(tasks, timeout=15)
            for t in tasks:
                t.cancel()
            if reader is not None and reader.returncode is None:
                reader.terminate()
                await asyncio.wait_for(reader.wait(), 30)
            if server.returncode is None:
                server.terminate()
            await asyncio.wait_for(server.wait(), 30)
            plan = parse_plan(plan_text, "plan.yaml")
            router = build_proxy(plan, state)
            await router.stop()
            await router.aclose()
            for process in owned_processes(state / "revisions", SERVICE):
                await stop(process)
            stable.terminate()
            stable.wait(10)
    print(
        f"benchmark serve dashboard: a demo rollout (Envoy, sample app) on golive serve, "
        f"{sse_clients} SSE clients, {API_RATE:g} API reads/s; {load()}"
    )
    print(
        f"  rollout ended {phase} after {wall:.0f} s; {events[0]} events delivered to the "
        "dashboards"
    )
    if wall:
        print(
            f"  server process: CPU share {cpu / wall:.2f} core ({cpu:.1f} s over {wall:.0f} s)"
            f", RSS peak {peak:.0f} MB; this benchmark's own process (clients): "
            f"{mine / wall:.2f} core"
        )
    if latencies:
        print(
            f"  API reads: {len(latencies)} answered, {len(errors)} errors "
            f"{sorted(set(errors))}; latency "
            f"{summary(latencies)}"
        )


async def rollback_beside(count: int) -> None:
    """benchmarks/rollback.py's trials alone, then beside a server process: a controller
    driving ``count`` fake rollouts on SQLite (part (a)'s heaviest case), started here and
    stopped by its pid."""
    from benchmarks import rollback

    print(f"benchmark serve rollback: without a server ({load()})")
    await rollback.main()
    cmd = [
        sys.executable,
        "-m",
        "benchmarks.serve",
        "fleet",
        "--store",
        "sqlite",
        f"--rollouts={count}",
        "--seconds=300",
    ]
    proc = await asyncio.create_subprocess_exec(*cmd, stdout=asyncio.subprocess.DEVNULL)
    try:
        await asyncio.sleep(8 + count / 100)  # its rollouts created and driven
        if proc.returncode is not None:
            raise RuntimeError("the server process ended early")
        cpu0, wall0 = cpu_seconds(proc.pid), time.perf_counter()
        print(f"benchmark serve rollback: beside a server driving {count} rollouts ({load()})")
        await rollback.main()
        share = (cpu_seconds(proc.pid) - cpu0) / (time.perf_counter() - wall0)
        print(
            f"  (the server process used {share:.2f} core meanwhile, RSS {rss_mb(proc.pid):.0f} MB)"
        )
    finally:
        if proc.returncode is None:
            proc.terminate()
        await asyncio.wait_for(proc.wait(), 30)


async def reads(base: str, rid: str, seconds: float) -> None:
    """The API reader of ``dashboard``, in its own process: token on stdin, figures (JSON) on
    stdout when its time is up or on SIGINT."""
    token = sys.stdin.readline().strip()
    latencies: list[float] = []
    errors: list[int] = []
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.call_later(seconds, stop.set)
    await _api_reads(base, rid, {"Authorization": f"Bearer {token}"}, latencies, errors, stop)
    print(json.dumps({"latencies": latencies, "errors": errors}))


def main() -> None:
    parser = argparse.ArgumentParser(prog="scripts/bench serve")
    parser.add_argument(
        "part", nargs="?", default="all", choices=["all", "fleet", "dashboard", "rollback", "reads"]
    )
    parser.add_argument("--rollouts", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--store", choices=["memory", "sqlite", "both"], default="both")
    parser.add_argument("--sse", type=int, default=SSE_CLIENTS, help="dashboard: SSE clients")
    parser.add_argument("--base", help=argparse.SUPPRESS)
    parser.add_argument("--rollout", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.part == "reads":
        asyncio.run(reads(args.base, args.rollout, args.seconds))
        return
    args.rollouts = max(1, min(args.rollouts, 5000))
    args.seconds = max(5.0, min(args.seconds, 600.0))
    args.sse = max(0, min(args.sse, 100))  # the server serves at most 100 streams
    kinds = ["memory", "sqlite"] if args.store == "both" else [args.store]

    async def go() -> None:
        task = asyncio.current_task()
        if task is not None:  # SIGTERM cancels the run, so cleanup still happens
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        if args.part in ("all", "fleet"):
            for kind in kinds:
                await fleet(kind, args.rollouts, args.seconds)

        if args.part in ("all", "dashboard"):
            await dashboard(min(args.seconds * 3, 150.0), args.sse)
        if args.part in ("all", "rollback"):
            await rollback_beside(args.rollouts)

    run(go)


if __name__ == "__main__":
    sys.exit(main())
