"""Real processes for the benchmarks: two sample apps and a golive-managed Envoy on loopback.

Every process started here is stopped by its pid on exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx

from golive.demo.run import free_port
from golive.plan.model import Split
from golive.traffic.base import Verification
from golive.traffic.envoy import EnvoyRouter


def start_app(version: str, latency_ms: float) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "golive.demo.app",
            "--port",
            str(port),
            "--version",
            version,
            "--latency-ms",
            str(latency_ms),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=0.5).is_success:
                return proc, port
        except httpx.HTTPError:
            time.sleep(0.02)
    proc.kill()
    raise RuntimeError("sample app did not start")


@contextlib.asynccontextmanager
async def setup(latency_ms: float = 1.0) -> AsyncIterator[tuple[EnvoyRouter, dict[str, int]]]:
    apps = {"stable": start_app("stable", latency_ms), "canary": start_app("canary", latency_ms)}
    ports = {name: port for name, (_, port) in apps.items()}
    with tempfile.TemporaryDirectory(prefix="golive-bench-") as tmp:
        router = EnvoyRouter(
            Path(tmp) / "envoy",
            "127.0.0.1",
            free_port(),
            {n: f"http://127.0.0.1:{p}" for n, p in ports.items()},
        )
        await router.start(Split.all_stable())
        try:
            yield router, ports
        finally:
            await router.stop()
            await router.aclose()
            for proc, _ in apps.values():
                proc.terminate()
                proc.wait(10)


async def apply_verified(router: EnvoyRouter, split: Split, timeout: float = 5.0) -> float:
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
