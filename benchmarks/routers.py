"""Every router through the same three benchmarks (``scripts/bench routers``): requests lost
while shifting 0 -> 100 -> 0 and rolling back under keep-alive load, time from apply to effect
(verified by read-back), and latency overhead against calling the app directly."""

from __future__ import annotations

from benchmarks import overhead, rollback, shifting
from benchmarks.harness import run

ROUTERS = ("envoy", "haproxy", "nginx")


async def main() -> None:
    for kind in ROUTERS:
        for bench in (shifting, rollback, overhead):
            await bench.main(kind)
        print()


if __name__ == "__main__":
    run(main)
