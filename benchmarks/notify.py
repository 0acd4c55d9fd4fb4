"""Notifications never slow a rollback: 10,000 notices queued for a slow receiver (100 ms per
request) while rollbacks happen, against the same rollbacks with nothing queued.

The harness of benchmarks/rollback.py: ~300 rps through Envoy at 100% canary, the rollback's
decision committed to SQLite (with its own notices, in the same transaction, as the engine
does), then 100% stable applied and verified; the figure is decision -> the last request a
canary answered. With the outbox loaded, the worker runs in the same process and event loop
(as in golive run), with its own store connection, sending to a real receiver on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import base64
import os
import tempfile
import time
from pathlib import Path

from tests.receiver import receiver

from benchmarks.harness import apply_verified, run, setup, summary
from benchmarks.rollback import client_loop
from golive.core.state import Phase, RolloutId, RolloutState
from golive.notify.notice import Delivery, Notice
from golive.notify.worker import Worker
from golive.plan.model import Split
from golive.store.leases import owner_id
from golive.store.records import RolloutRecord
from golive.store.sqlite import SQLiteStore

TRIALS = 15
QUEUED = 10_000
SECRET = "whsec_" + base64.b64encode(b"benchmark-notify-secret!").decode()


def notices(rid: str, url: str, prefix: str, count: int) -> list[Notice]:
    target = {"channel": "slow", "kind": "webhook", "url": url, "secret": "env:BENCH_WHSEC",
              "rate": 1000.0, "attempts": 3, "timeout": 5.0, "backoff": 1.0}  # fmt: skip
    return [Notice(f"msg_{prefix}_{i}", rid, "slow", "status", "info", "status", "x" * 200,
                   {"i": i}, target) for i in range(count)]  # fmt: skip


async def trials(store: SQLiteStore, st: RolloutState, version: int, hook: str,
                 tag: str) -> tuple[list[float], list[float], int]:  # fmt: skip
    to_safe, commits = [], []
    async with setup(router_kind="envoy") as (router, _):
        proxy = f"http://127.0.0.1:{router.port}/"
        for n in range(TRIALS):
            await apply_verified(router, Split(100.0))
            log: list[tuple[float, str]] = []
            stop = asyncio.Event()
            clients = [asyncio.create_task(client_loop(proxy, log, stop)) for _ in range(6)]
            await asyncio.sleep(0.5)
            decided = time.perf_counter()
            version = await store.commit(st, [], version, time.time(),
                                         notices=notices(st.id, hook, f"{tag}{n}", 2))  # fmt: skip
            commits.append(time.perf_counter() - decided)
            await apply_verified(router, Split.all_stable())
            await asyncio.sleep(0.3)
            stop.set()
            await asyncio.gather(*clients)
            canary_after = [t for t, v in log if t >= decided and v == "canary"]
            to_safe.append((max(canary_after) - decided) if canary_after else 0.0)
    return to_safe, commits, version


async def main() -> None:
    os.environ["BENCH_WHSEC"] = SECRET
    with tempfile.TemporaryDirectory() as tmp, receiver(SECRET, delay=0.1) as rx:
        store = SQLiteStore(Path(tmp) / "g.db")
        st = RolloutState(RolloutId("b"), Phase.PROGRESSING, 0, 0.0, Split(100.0), 0.0)
        await store.create(RolloutRecord(RolloutId("b"), "b", "", "", "", st, 1, 0, 0, None), [], 0)
        base, base_commit, version = await trials(store, st, 1, rx.url, "base")
        await store.commit(st, [], version, time.time(), notices=notices("b", rx.url, "q", QUEUED))
        version += 1
        worker = Worker(store, owner_id(os.getpid()), concurrency=8)
        task = asyncio.create_task(worker.run())
        t0 = time.perf_counter()
        loaded, loaded_commit, version = await trials(store, st, version, rx.url, "load")
        took = time.perf_counter() - t0
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        items = await store.outbox("b")
        sent = sum(1 for i in items if i.status is Delivery.SENT)
        pending = sum(1 for i in items if i.status is Delivery.PENDING)
        store.close()
    print(f"benchmark notify: {TRIALS} rollbacks each, 6 keep-alive clients at 100% canary")
    print(f"  no notification queued:   decision -> last canary answer {summary(base)}")
    print(f"                            commit with its notices {summary(base_commit)}")
    print(f"  {QUEUED:,} queued, 100 ms receiver: decision -> last canary answer {summary(loaded)}")
    print(f"                            commit with its notices {summary(loaded_commit)}")
    print(
        f"  meanwhile the worker sent {sent:,} in {took:.1f} s ({sent / took:.1f}/s, one channel "
        f"in order); {pending:,} still pending; receiver saw {len(rx.ids()):,} requests"
    )


if __name__ == "__main__":
    run(main)
