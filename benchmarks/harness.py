"""Real processes for the benchmarks: two sample apps and a golive-managed Envoy on loopback.

Every process started here is stopped by its pid on exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

from golive.demo.app import start_sample_app
from golive.plan.model import Split
from golive.proxy.ports import free_port
from golive.traffic.base import Verification
from golive.traffic.envoy import EnvoyRouter
from golive.traffic.haproxy import HAProxyRouter
from golive.traffic.nginx import NginxRouter


@contextlib.asynccontextmanager
async def setup(
    latency_ms: float = 1.0, router_kind: str = "envoy"
) -> AsyncIterator[tuple[EnvoyRouter | HAProxyRouter | NginxRouter, dict[str, int]]]:
    task = asyncio.current_task()
    if task is not None:  # SIGTERM (e.g. from `timeout`) cancels the run, so cleanup still happens
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    apps = {name: start_sample_app(name, latency_ms=latency_ms) for name in ("stable", "canary")}
    ports = {name: port for name, (_, port) in apps.items()}
    with tempfile.TemporaryDirectory(prefix="golive-bench-") as tmp:
        upstreams = {n: f"http://127.0.0.1:{p}" for n, p in ports.items()}
        kinds = {"haproxy": HAProxyRouter, "nginx": NginxRouter, "envoy": EnvoyRouter}
        router = kinds[router_kind](Path(tmp) / router_kind, "127.0.0.1", free_port(), upstreams)
        await router.start(Split.all_stable())
        try:
            yield router, ports
        finally:
            await router.stop()
            await router.aclose()
            for proc, _ in apps.values():
                proc.terminate()
                proc.wait(10)


async def apply_verified(
    router: EnvoyRouter | HAProxyRouter | NginxRouter, split: Split, timeout: float = 5.0
) -> float:
    """Apply and poll read-back; seconds until verified."""
    t0 = time.perf_counter()
    await router.apply(split)
    while time.perf_counter() - t0 < timeout:
        if await router.verify(split) is Verification.VERIFIED:
            return time.perf_counter() - t0
        await asyncio.sleep(0.002)
    raise RuntimeError(f"{split} not verified within {timeout}s")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(values: list[float]) -> str:
    return (
        f"p50 {pct(values, 0.5) * 1000:.1f} ms, p99 {pct(values, 0.99) * 1000:.1f} ms, "
        f"max {max(values) * 1000:.1f} ms, mean {statistics.mean(values) * 1000:.1f} ms"
    )


def run(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run a benchmark; an interruption (SIGTERM, Ctrl-C) stops it after cleanup, quietly."""
    try:
        asyncio.run(main())
    except (asyncio.CancelledError, KeyboardInterrupt):
        print("benchmark interrupted; every process it started was stopped", file=sys.stderr)
        sys.exit(130)
