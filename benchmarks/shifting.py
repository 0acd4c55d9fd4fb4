"""(a) Zero-loss shifting: keep-alive load through Envoy during 0→1→5→25→50→100→0 and a rollback.

Prints total and failed requests (goal: 0 failed). Load is bounded: 250 rps, at most 30 s.
"""

from __future__ import annotations

import asyncio

from benchmarks.harness import apply_verified, run, setup, summary
from golive.demo.load import LoadGenerator
from golive.plan.model import Split


async def main(router_kind: str = "envoy") -> None:
    async with setup(router_kind=router_kind) as (router, _):
        load = LoadGenerator(
            f"http://127.0.0.1:{router.port}/",
            rate=250,
            max_requests=7500,
            max_seconds=30,
            concurrency=16,
        )
        task = asyncio.create_task(load.run())
        await asyncio.sleep(1)
        times = []
        for weight in (0, 1, 5, 25, 50, 100, 0, 50):
            times.append(await apply_verified(router, Split(float(weight))))
            await asyncio.sleep(1.5)
        times.append(await apply_verified(router, Split.all_stable()))  # the rollback
        await asyncio.sleep(1.5)
        load.stop()
        stats = await task
    print(
        f"benchmark shifting ({router_kind}): 250 rps keep-alive (16 connections), "
        "weights 0→1→5→25→50→100→0→50 then rollback to 0"
    )
    print(
        f"  requests sent {stats.sent}, ok {stats.ok}, 5xx {stats.failed}, "
        f"connection errors {stats.errors} (resent on a new connection: {stats.retried}), "
        f"by version {stats.by_version}"
    )
    print(f"  apply → verified by read-back: {summary(times)}")


if __name__ == "__main__":
    run(main)
