"""(c) Envoy's overhead: p50/p99 latency through Envoy vs straight to the app, as a ratio.

One keep-alive client, 3000 sequential requests each way (bounded), app with ~0 ms work.
"""

from __future__ import annotations

import time

import httpx

from benchmarks.harness import pct, run, setup

N = 3000


async def timed(url: str) -> list[float]:
    out = []
    async with httpx.AsyncClient(trust_env=False, timeout=5) as client:
        for _ in range(200):
            await client.get(url)
        for _ in range(N):
            t = time.perf_counter()
            await client.get(url)
            out.append(time.perf_counter() - t)
    return out


async def main(router_kind: str = "envoy") -> None:
    async with setup(latency_ms=0.0, router_kind=router_kind) as (router, ports):
        direct = await timed(f"http://127.0.0.1:{ports['stable']}/")
        proxied = await timed(f"http://127.0.0.1:{router.port}/")
    print(f"benchmark overhead ({router_kind}): {N} sequential keep-alive requests each way")
    for q in (0.5, 0.99):
        d, p = pct(direct, q), pct(proxied, q)
        print(
            f"  p{q * 100:g}: direct {d * 1000:.2f} ms, via {router_kind} {p * 1000:.2f} ms, "
            f"ratio {p / d:.2f}, added {(p - d) * 1000:.2f} ms"
        )


if __name__ == "__main__":
    run(main)
