"""(b) Rollback latency: from the rollback decision to every client request served by stable.

Under ~300 rps with 100% on the canary, each trial records the decision instant, applies 100%
stable the way the engine does (commit the decision to SQLite first, then write the route file,
then poll read-back), and finds the last request *sent* after the decision that a canary
answered. 25 trials; p50/p99 printed (goal: p99 <= 1 s).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.harness import apply_verified, run, setup, summary
from golive.core.state import Phase, RolloutId, RolloutState
from golive.plan.model import Split
from golive.store.records import RolloutRecord
from golive.store.sqlite import SQLiteStore

TRIALS = 25


async def client_loop(url: str, log: list[tuple[float, str]], stop: asyncio.Event) -> None:
    async with httpx.AsyncClient(trust_env=False, timeout=5) as client:
        sent = 0
        while not stop.is_set() and sent < 200_000:
            t = time.perf_counter()
            try:
                resp = await client.get(url)
            except httpx.RemoteProtocolError:  # an idle keep-alive connection closed by a reload:
                resp = await client.get(url)  # resend on a new one, as HTTP clients do
            log.append((t, resp.headers.get("x-version", "?")))
            sent += 1


async def main(router_kind: str = "envoy") -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "g.db")
        st = RolloutState(RolloutId("b"), Phase.PROGRESSING, 0, 0.0, Split(100.0), 0.0)
        await store.create(RolloutRecord(RolloutId("b"), "b", "", "", "", st, 1, 0, 0, None), [], 0)
        version = 1
        to_safe, to_verified = [], []
        async with setup(router_kind=router_kind) as (router, _):
            url = f"http://127.0.0.1:{router.port}/"
            for _ in range(TRIALS):
                await apply_verified(router, Split(100.0))
                log: list[tuple[float, str]] = []
                stop = asyncio.Event()
                clients = [asyncio.create_task(client_loop(url, log, stop)) for _ in range(6)]
                await asyncio.sleep(0.5)
                decided = time.perf_counter()
                version = await store.commit(st, [], version, time.time())
                await apply_verified(router, Split.all_stable())
                to_verified.append(time.perf_counter() - decided)
                await asyncio.sleep(0.3)
                stop.set()
                await asyncio.gather(*clients)
                canary_after = [t for t, v in log if t >= decided and v == "canary"]
                to_safe.append((max(canary_after) - decided) if canary_after else 0.0)
        store.close()
    print(
        f"benchmark rollback ({router_kind}): {TRIALS} trials, 6 keep-alive clients at 100% canary"
    )
    print(f"  decision → last request a canary answered: {summary(to_safe)}")
    print(f"  decision → 100% stable verified by read-back: {summary(to_verified)}")


if __name__ == "__main__":
    run(main)
