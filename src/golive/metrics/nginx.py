"""NginxLog: per-revision counters from the access log golive's nginx writes.

OSS nginx keeps no per-upstream statistics, so golive's configuration logs one line per request
(``$msec $upstream_addr $upstream_status $upstream_response_time``) and this source counts
them per upstream address: requests, 5xx (a connection failure is a 502 here), and latency
buckets on golive's usual bounds. The log file is the durable counter: a restarted controller
reads it again from the start and gets the same totals; a file that shrank was rotated, which
reads as a counter reset. Requests in flight are not visible in a log; the drain relies on the
request counter standing still instead.
"""

from __future__ import annotations

import asyncio
import bisect
import math
import threading
from pathlib import Path

from golive.analysis.snapshot import Snapshot
from golive.plan.model import Revision
from golive.traffic.envoy_config import LATENCY_BUCKETS_MS

BOUNDS = [float(b) for b in LATENCY_BUCKETS_MS]


class _Totals:
    def __init__(self) -> None:
        self.requests = 0
        self.errors = 0
        self.per_bucket = [0] * (len(BOUNDS) + 1)

    def snapshot(self) -> Snapshot:
        buckets, running = {}, 0
        for bound, count in zip([*BOUNDS, math.inf], self.per_bucket, strict=True):
            running += count
            buckets[bound] = running
        return Snapshot(self.requests, self.errors, buckets)


class NginxLog:
    def __init__(self, path: Path, addresses: dict[str, Revision]) -> None:
        self.path = path
        self.addresses = addresses
        self._offset = 0
        self._totals = {r: _Totals() for r in Revision}
        self._lock = threading.Lock()  # stable and canary are sampled concurrently

    async def sample(self, revision: Revision) -> Snapshot:
        await asyncio.to_thread(self._read)
        return self._totals[revision].snapshot()

    async def in_flight(self, revision: Revision) -> int:
        return 0

    async def aclose(self) -> None:
        return None

    def _read(self) -> None:
        with self._lock:
            self._read_locked()

    def _read_locked(self) -> None:
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return
        if size < self._offset:  # rotated or truncated: start again (a counter reset)
            self._offset = 0
            self._totals = {r: _Totals() for r in Revision}
        with self.path.open("rb") as f:
            f.seek(self._offset)
            chunk = f.read()
        end = chunk.rfind(b"\n") + 1  # a line still being written waits for the next read
        self._offset += end
        for line in chunk[:end].decode(errors="replace").splitlines():
            self._count(line)

    def _count(self, line: str) -> None:
        parts = line.split()
        if len(parts) != 4:
            return
        _, addr, status, seconds = parts
        revision = self.addresses.get(addr)
        if revision is None or not status.isdigit():
            return
        t = self._totals[revision]
        t.requests += 1
        if status.startswith("5"):
            t.errors += 1
        try:
            ms = float(seconds) * 1000
        except ValueError:
            return
        t.per_bucket[bisect.bisect_left(BOUNDS, ms)] += 1
