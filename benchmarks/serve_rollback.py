"""The rollback path through a real ``golive serve``, against ``golive run`` (issue #14.8).

The same rollout, driven two ways: by a ``golive run`` subprocess (rolled back with the CLI,
``golive rollback ID``), and by a ``golive serve`` subprocess (the plan submitted and rolled
back through the API, 20 dashboards following its event stream meanwhile). Real Envoy, two
sample apps (stable 1.0.0, canary 2.0.0) started here, 50% on the canary, 6 keep-alive clients
(each request timed by when it was *sent*). Per trial: the rollback decision's instant (its
``rollback_started`` journal entry, read from the state database) to the last request sent
after it that the canary answered, and command -> decision (the controller's pick-up). Prints
p50/p99 for each; asserts nothing. Every process is stopped by its pid.

``scripts/bench serve_rollback [--trials N]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.harness import run, summary
from golive.demo.app import start_sample_app
from golive.proxy.ports import free_port
from golive.store.sqlite import SQLiteStore

GOLIVE = str(Path(sys.executable).with_name("golive"))
PLAN = """\
service: bench-rb
revisions:
  stable: {{version: 1.0.0, url: "http://127.0.0.1:{stable}"}}
  canary: {{version: 2.0.0, url: "http://127.0.0.1:{canary}"}}
route: {{router: envoy, listen: "127.0.0.1:{listen}"}}
metrics: {{source: router, interval: 1s}}
judge: {{kind: threshold, max_error_rate: 50%, min_requests: 1000000}}
steps:
  - shift: 50
  - analyze: 30m
"""
CLIENTS, SSE = 6, 20


async def clients(url: str, log: list[tuple[float, str]], stop: asyncio.Event) -> None:
    async with httpx.AsyncClient(trust_env=False, timeout=5) as client:
        for _ in range(100_000):
            if stop.is_set():
                return
            sent = time.time()
            with contextlib.suppress(httpx.HTTPError):
                resp = await client.get(url)
                log.append((sent, resp.headers.get("x-version", "?")))


async def follow(url: str, headers: dict[str, str], stop: asyncio.Event) -> None:
    with contextlib.suppress(httpx.HTTPError, asyncio.CancelledError):
        async with (
            httpx.AsyncClient(trust_env=False, timeout=None) as client,
            client.stream("GET", url, headers=headers) as resp,
        ):
            async for _ in resp.aiter_lines():
                if stop.is_set():
                    return


async def answers(base: str) -> bool:
    async with httpx.AsyncClient(trust_env=False, timeout=2) as client:
        with contextlib.suppress(httpx.HTTPError):
            return (await client.get(f"{base}/api/v1/health")).is_success
    return False


async def events(state: Path, rid: str) -> list[tuple[str, float]]:
    store = SQLiteStore(state / "golive.db")
    try:
        return [(e.kind, e.at) for e in await store.events(rid)]
    finally:
        store.close()


async def wait_for(what: str, check: object, limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if await check():  # type: ignore[operator]
            return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"not within {limit:.0f} s: {what}")


async def trial(mode: str, state: Path, plan: Path, listen: int, token: str,
                base: str | None) -> tuple[float, float]:  # fmt: skip
    """One rollout to 50% canary, then rolled back: (decision -> last canary answer, command
    -> decision), in seconds."""
    headers = {"authorization": f"Bearer {token}"}
    runner: asyncio.subprocess.Process | None = None
    async with httpx.AsyncClient(trust_env=False, timeout=10, base_url=base or "http://x") as api:
        if mode == "run":
            runner = await asyncio.create_subprocess_exec(
                GOLIVE, "--state-dir", str(state), "run", str(plan), "--json",
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
                env={**os.environ, "GOLIVE_TOKEN": token},
            )  # fmt: skip
            rid = ""

            async def started() -> bool:
                nonlocal rid
                store = SQLiteStore(state / "golive.db")
                try:
                    found = [r for r in await store.active() if not isinstance(r, Exception)]
                finally:
                    store.close()
                rid = found[0].id if found else ""
                return bool(rid)

            await wait_for("golive run starts the rollout", started)
        else:
            yaml = {**headers, "content-type": "application/yaml"}
            resp = await api.post("/api/v1/rollouts", content=plan.read_bytes(), headers=yaml)
            resp.raise_for_status()
            rid = resp.json()["id"]

        async def at_half() -> bool:
            return any(k == "split_applied" for k, _ in await events(state, rid))

        await wait_for("50% on the canary", at_half)
        stop, log = asyncio.Event(), []
        url = f"http://127.0.0.1:{listen}/"
        tasks = [asyncio.create_task(clients(url, log, stop)) for _ in range(CLIENTS)]
        if mode == "serve":
            tasks += [
                asyncio.create_task(follow(f"{base}/api/v1/rollouts/{rid}/events", headers, stop))
                for _ in range(SSE)
            ]
        await asyncio.sleep(1.0)
        asked = time.time()
        if mode == "run":
            done = await asyncio.create_subprocess_exec(
                GOLIVE, "--state-dir", str(state), "rollback", rid, "--reason", "bench",
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
                env={**os.environ, "GOLIVE_TOKEN": token},
            )  # fmt: skip
            await done.wait()
        else:
            resp = await api.post(f"/api/v1/rollouts/{rid}/rollback", headers=headers,
                                  json={"reason": "bench"})  # fmt: skip
            resp.raise_for_status()

        async def decided() -> bool:
            return any(k == "rollback_started" for k, _ in await events(state, rid))

        await wait_for("the rollback decision", decided)
        await asyncio.sleep(1.0)
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        decision = next(at for k, at in await events(state, rid) if k == "rollback_started")
        canary = [sent for sent, v in log if sent >= decision and v == "2.0.0"]
        if runner is not None:
            await asyncio.wait_for(runner.wait(), 60)

        async def ended() -> bool:
            store = SQLiteStore(state / "golive.db")
            try:
                return not await store.active()
            finally:
                store.close()

        await wait_for("the rollout ends", ended)
        return (max(canary) - decision if canary else 0.0), max(0.0, decision - asked)


async def main(trials: int) -> None:
    stable, stable_port = start_sample_app("1.0.0", 0.0, 2.0)
    canary, canary_port = start_sample_app("2.0.0", 0.0, 2.0)
    figures: dict[str, tuple[list[float], list[float]]] = {}
    try:
        for mode in ("run", "serve"):
            with tempfile.TemporaryDirectory(prefix=f"golive-bench-rb-{mode}-") as tmp:
                state, listen = Path(tmp) / "state", free_port()
                plan = Path(tmp) / "plan.yaml"
                plan.write_text(PLAN.format(stable=stable_port, canary=canary_port, listen=listen))
                out = subprocess.run(  # noqa: ASYNC221 (before anything runs)
                    [GOLIVE, "--state-dir", str(state), "token", "init", "bench"],
                    capture_output=True, text=True, check=True, timeout=60,
                ).stdout  # fmt: skip
                token = re.findall(r"glv_\S+", out)[0]
                server, base = None, None
                if mode == "serve":
                    port = free_port()
                    base = f"http://127.0.0.1:{port}"
                    server = await asyncio.create_subprocess_exec(
                        GOLIVE, "--state-dir", str(state), "serve", "--listen", f"127.0.0.1:{port}",
                        stdout=asyncio.subprocess.DEVNULL,
                        stderr=asyncio.subprocess.DEVNULL,
                    )  # fmt: skip
                safe: list[float] = []
                pickup: list[float] = []
                try:
                    if base is not None:
                        await wait_for("golive serve answers", lambda u=base: answers(u))
                    for _ in range(trials):
                        a, b = await trial(mode, state, plan, listen, token, base)
                        safe.append(a)
                        pickup.append(b)
                finally:
                    if server is not None and server.returncode is None:
                        server.terminate()
                        await asyncio.wait_for(server.wait(), 30)
                    down = await asyncio.create_subprocess_exec(
                        GOLIVE, "--state-dir", str(state), "down",
                        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
                        env={**os.environ, "GOLIVE_TOKEN": token},
                    )  # fmt: skip
                    await asyncio.wait_for(down.wait(), 60)
                figures[mode] = (safe, pickup)
    finally:
        for app in (stable, canary):
            app.terminate()
            app.wait(10)
    print(f"benchmark serve_rollback: {trials} trials each, real Envoy, 50% canary, "
          f"{CLIENTS} keep-alive clients; serve with {SSE} event streams open")  # fmt: skip
    for mode, (safe, pickup) in figures.items():
        who = "golive run + golive rollback" if mode == "run" else "golive serve + API rollback"
        print(f"  {who}: decision → last canary answer {summary(safe)}")
        print(f"  {' ' * len(who)}  command → decision {summary(pickup)}")


def cli() -> None:
    parser = argparse.ArgumentParser(prog="scripts/bench serve_rollback")
    parser.add_argument("--trials", type=int, default=10)
    args = parser.parse_args()
    run(lambda: main(max(1, min(args.trials, 100))))


if __name__ == "__main__":
    cli()
