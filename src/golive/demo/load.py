"""A bounded load generator on loopback: keep-alive connections, a fixed request rate.

Bounded in both count and time; records every response's status, the version that served it
and when, so the demo can say when the last request reached the canary after a rollback.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

import httpx


@dataclass
class LoadStats:
    sent: int = 0
    ok: int = 0
    failed: int = 0  # 5xx answers
    errors: int = 0  # connection errors / timeouts
    by_version: dict[str, int] = field(default_factory=dict)
    last_seen: dict[str, float] = field(default_factory=dict)  # version -> wall time of response


class LoadGenerator:
    def __init__(
        self,
        url: str,
        rate: float,
        max_requests: int,
        max_seconds: float,
        concurrency: int = 8,
        headers: dict[str, str] | None = None,
    ) -> None:
        if not url.startswith(("http://127.", "http://localhost")):
            raise ValueError("the load generator only targets loopback addresses")
        self.url, self.rate = url, rate
        self.max_requests, self.max_seconds = max_requests, max_seconds
        self.concurrency = concurrency
        self.headers = headers or {}
        self.stats = LoadStats()
        self._stop = asyncio.Event()

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> LoadStats:
        limits = httpx.Limits(
            max_connections=self.concurrency, max_keepalive_connections=self.concurrency
        )
        async with httpx.AsyncClient(limits=limits, timeout=5.0, trust_env=False) as client:
            start = time.monotonic()
            interval = 1.0 / self.rate
            tasks: set[asyncio.Task[None]] = set()
            sem = asyncio.Semaphore(self.concurrency * 4)
            n = 0
            while (
                n < self.max_requests
                and time.monotonic() - start < self.max_seconds
                and not self._stop.is_set()
            ):
                await sem.acquire()
                task = asyncio.create_task(self._one(client, sem))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                n += 1
                delay = start + n * interval - time.monotonic()
                if delay > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stop.wait(), delay)
            if tasks:
                await asyncio.wait(tasks, timeout=6.0)
        return self.stats

    async def _one(self, client: httpx.AsyncClient, sem: asyncio.Semaphore) -> None:
        try:
            self.stats.sent += 1
            resp = await client.get(self.url, headers=self.headers)
            version = resp.headers.get("x-version", "?")
            self.stats.by_version[version] = self.stats.by_version.get(version, 0) + 1
            self.stats.last_seen[version] = time.time()
            if resp.status_code >= 500:
                self.stats.failed += 1
            else:
                self.stats.ok += 1
        except httpx.HTTPError:
            self.stats.errors += 1
        finally:
            sem.release()
