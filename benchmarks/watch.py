"""Rollback during the watch window: from a trigger firing to 100% on the previous revision.

After a promotion with ``watch:``, Envoy serves 100% to the new version and the previous one
runs out of the route. Each trial plays the engine's passes as the Runner does them, with real
parts: ``decide()`` on the state in the window, the previous revision's readiness probed over
HTTP (the deployer's check), the decision committed to SQLite before it is acted on, the
urgent 100%-previous write and its read-back. Timed from the pass in which the trigger fires
to the read-back of 100% on the previous revision. Two cases: the previous revision healthy
(health-checked, then traffic moves), and killed -9 during the window (deployed again first:
the sample app started again on its port). Bounded: 25 + 5 trials, about a minute.

    .venv/bin/python -m benchmarks.watch [--trials N]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.harness import apply_verified, run, summary
from golive.core.actions import ApplySplit, EnsureRevision, Observation
from golive.core.results import Health
from golive.core.state import Phase, RolloutId, RolloutState
from golive.demo.app import start_sample_app
from golive.engine.decide import decide
from golive.plan.loader import parse_plan
from golive.plan.model import Plan, Revision, Split
from golive.proxy.ports import free_port
from golive.store.records import RolloutRecord
from golive.store.sqlite import SQLiteStore
from golive.traffic.base import Verification
from golive.traffic.envoy import EnvoyRouter

FULL = Split(100.0)


def plan_for(stable: int, canary: int) -> Plan:
    return parse_plan(
        f"""\
service: bench
revisions:
  stable:
    version: 1.0.0
    url: "http://127.0.0.1:{stable}"
    process: {{command: [app], ready: "http://127.0.0.1:{stable}/health"}}
  canary: {{version: 2.0.0, url: "http://127.0.0.1:{canary}"}}
route: {{router: envoy, listen: "127.0.0.1:{free_port()}"}}
triggers:
  - {{when: "error_rate > 5%", for: 1s, then: rollback}}
steps:
  - shift: 50
  - promote: {{watch: 6h, keep_previous: 48h}}
""",
        "bench.yaml",
    )


def start_previous(port: int) -> subprocess.Popen[bytes]:
    """The previous revision on its own port (the deployer starts it there again)."""
    return subprocess.Popen(
        [sys.executable, "-m", "golive.demo.app", "--port", str(port), "--version", "stable",
         "--latency-ms", "1"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip


async def healthy(client: httpx.AsyncClient, port: int) -> Health:
    try:
        resp = await client.get(f"http://127.0.0.1:{port}/health")
    except httpx.HTTPError:
        return Health.ABSENT
    return Health.READY if resp.is_success else Health.STARTING


async def trial(
    plan: Plan,
    router: EnvoyRouter,
    store: SQLiteStore,
    port: int,
    previous: list[subprocess.Popen[bytes]],
) -> tuple[float, int]:
    """One trigger in the window; seconds to 100% on the previous revision read back, passes."""
    client = httpx.AsyncClient(timeout=1.0, trust_env=False)
    now = time.time()
    state = RolloutState(
        RolloutId("w"), Phase.PROGRESSING, len(plan.steps) - 1, now, FULL, now - 60,
        shifted=True, trigger_since=(now - 2,), notified=(False,), promoted_at=now - 30,
        watch_until=now + 3600, keep_until=now + 7200,
    )  # fmt: skip
    version = (await store.load("w")).version
    t0, passes = time.perf_counter(), 0
    values: tuple[float | None, ...] = (0.5,)  # the new version's error rate: 50%
    try:
        for passes in range(1, 200):  # each pass: observe, decide, commit, act
            split, health = await asyncio.gather(router.observe(), healthy(client, port))
            obs = Observation(
                time.time(), split, {Revision.STABLE: health, Revision.CANARY: Health.READY},
                trigger_values=values,
            )  # fmt: skip
            d = decide(plan, state, obs)
            version = await store.commit(d.state, list(d.events), version, time.time())
            state = d.state
            if state.phase is Phase.ROLLED_BACK:
                return time.perf_counter() - t0, passes
            assert not state.phase.terminal, state.reason
            for action in d.actions:
                if isinstance(action, ApplySplit):
                    await router.apply(action.split)
                    deadline = time.perf_counter() + 5
                    while time.perf_counter() < deadline:
                        if await router.verify(action.split) is Verification.VERIFIED:
                            break
                        await asyncio.sleep(0.002)
                elif isinstance(action, EnsureRevision) and previous[0].poll() is not None:
                    previous[0] = start_previous(port)
            if not d.again:
                await asyncio.sleep(0.05)  # a pass waiting for the previous one to be ready
        raise RuntimeError("no rollback within 200 passes")
    finally:
        await client.aclose()


async def main(trials: int = 25) -> None:
    stable_port = free_port()
    previous = [start_previous(stable_port)]
    canary, canary_port = start_sample_app("canary", latency_ms=1)
    plan = plan_for(stable_port, canary_port)
    healthy_times: list[float] = []
    killed_times: list[float] = []
    with tempfile.TemporaryDirectory(prefix="golive-bench-") as tmp:
        store = SQLiteStore(Path(tmp) / "g.db")
        st = RolloutState(RolloutId("w"), Phase.PROGRESSING, 0, 0.0, FULL, 0.0)
        await store.create(
            RolloutRecord(RolloutId("w"), "bench", "", "", "", st, 1, 0, 0, None), [], 0
        )
        upstreams = {
            "stable": f"http://127.0.0.1:{stable_port}",
            "canary": f"http://127.0.0.1:{canary_port}",
        }
        router = EnvoyRouter(Path(tmp) / "envoy", "127.0.0.1", free_port(), upstreams)
        await router.start(FULL)
        try:
            async with httpx.AsyncClient(timeout=1.0, trust_env=False) as probe:
                for _ in range(50):  # the previous revision answers before the first trial
                    if await healthy(probe, stable_port) is Health.READY:
                        break
                    await asyncio.sleep(0.1)
            for _ in range(trials):
                await apply_verified(router, FULL)
                seconds, _ = await trial(plan, router, store, stable_port, previous)
                healthy_times.append(seconds)
            for _ in range(max(1, trials // 5)):
                await apply_verified(router, FULL)
                previous[0].kill()  # kill -9 of the previous revision during the window
                previous[0].wait(5)
                seconds, _ = await trial(plan, router, store, stable_port, previous)
                killed_times.append(seconds)
        finally:
            await router.stop()
            await router.aclose()
            store.close()
            for proc in (previous[0], canary):
                proc.terminate()
                proc.wait(10)
    print("benchmark watch: a trigger in the watch window -> 100% on the previous revision,")
    print("  read back from Envoy (decide, SQLite commit, readiness probe, urgent write)")
    print(f"  previous revision healthy ({len(healthy_times)} trials): {summary(healthy_times)}")
    print(
        f"  previous revision killed -9, deployed again first ({len(killed_times)} trials): "
        f"{summary(killed_times)}"
    )


def cli() -> None:
    parser = argparse.ArgumentParser(prog="benchmarks.watch")
    parser.add_argument("--trials", type=int, default=25)
    args = parser.parse_args()
    run(lambda: main(max(1, min(args.trials, 500))))


if __name__ == "__main__":
    cli()
