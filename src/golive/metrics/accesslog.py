"""AccessLog: per-revision counters from a proxy's per-request log, a file golive reads.

A proxy without a latency histogram of its own (nginx, HAProxy) writes one line per request;
this counts them per revision: requests, 5xx, and latency buckets on golive's usual bounds
(the bounds of Envoy's histograms, so every router feeds the judge the same shape). The file is
the durable counter: a restarted controller reads it again from the start and gets the same
totals; a file that shrank was rotated, which reads as a counter reset. What a line means is the
product's business: each source gives a parser from a line to (revision, status, milliseconds).
Requests in flight are not in a log: the product's own statistics give them.
"""

from __future__ import annotations

import asyncio
import bisect
import math
import threading
from collections.abc import Callable
from pathlib import Path

from golive.analysis.snapshot import Snapshot
from golive.plan.model import Revision
from golive.proxy.envoy_config import LATENCY_BUCKETS_MS

BOUNDS = [float(b) for b in LATENCY_BUCKETS_MS]

# (revision, status, milliseconds or None when the line has no time), or None: not ours
Entry = tuple[Revision, int, float | None]
Parser = Callable[[str], Entry | None]


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


class AccessLog:
    def __init__(self, path: Path, parse: Parser) -> None:
        self.path = path
        self._parse = parse
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
        entry = self._parse(line)
        if entry is None:
            return
        revision, status, ms = entry
        t = self._totals[revision]
        t.requests += 1
        if 500 <= status <= 599:
            t.errors += 1
        if ms is not None:
            t.per_bucket[bisect.bisect_left(BOUNDS, ms)] += 1
