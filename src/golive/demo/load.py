"""A bounded load generator on loopback: keep-alive HTTP/1.1 connections at a fixed rate.

A small raw-socket client (asyncio streams) rather than a general HTTP library, so that one
Python process can offer several hundred requests per second on a 2-core machine. Bounded in
both count and time; records every response's status, the version that served it (the
``x-version`` header) and when, so the demo can say when the last request reached the canary.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class LoadStats:
    sent: int = 0
    ok: int = 0
    failed: int = 0  # 5xx answers
    errors: int = 0  # connection errors / timeouts
    retried: int = 0  # resent on a fresh connection: the server had closed an idle keep-alive one
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
        loopback_only: bool = True,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"the load generator sends plain http:// requests, not {url!r}")
        if loopback_only and not parts.hostname.startswith(("127.", "localhost")):
            raise ValueError("the load generator only targets http:// loopback addresses")
        for k, v in (headers or {}).items():
            if any(c in k + v for c in "\r\n") or not k:
                raise ValueError(f"not a header: {k!r}: {v!r}")
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self._request = (
            f"GET {parts.path or '/'} HTTP/1.1\r\nHost: {parts.netloc}\r\n{extra}\r\n"
        ).encode()
        self.rate, self.max_requests, self.max_seconds = rate, max_requests, max_seconds
        self.concurrency = concurrency
        self.stats = LoadStats()
        self._stopped = False
        self._next = 0
        self._start = 0.0

    def stop(self) -> None:
        self._stopped = True

    async def run(self) -> LoadStats:
        self._start = time.monotonic()
        await asyncio.gather(*(self._worker() for _ in range(self.concurrency)))
        return self.stats

    def _ticket(self) -> float | None:
        """When this worker's next request is due, or None when the run is over."""
        k = self._next
        elapsed = time.monotonic() - self._start
        if self._stopped or k >= self.max_requests or elapsed >= self.max_seconds:
            return None
        self._next += 1
        return self._start + k / self.rate

    async def _worker(self) -> None:
        conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        try:
            while (due := self._ticket()) is not None:
                delay = due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                self.stats.sent += 1
                try:
                    reused = conn is not None
                    if conn is None:
                        conn = await self._connect()
                    try:
                        keep = await asyncio.wait_for(self._one(*conn), 10.0)
                    except (ConnectionError, asyncio.IncompleteReadError) as exc:
                        if not reused or not _closed_before_answering(exc):
                            raise
                        # what HTTP clients do (RFC 9112 9.3.1): the server closed an idle
                        # keep-alive connection as we wrote; send the GET again on a new one
                        conn[1].close()
                        conn = await self._connect()
                        self.stats.retried += 1
                        keep = await asyncio.wait_for(self._one(*conn), 10.0)
                except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError):
                    self.stats.errors += 1
                    keep = False
                if not keep and conn is not None:
                    conn[1].close()
                    conn = None
        finally:
            if conn is not None:
                conn[1].close()

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.wait_for(asyncio.open_connection(self.host, self.port), 5.0)

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        writer.write(self._request)
        await writer.drain()
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(head[0].split(" ", 2)[1])
        headers = {
            k.strip().lower(): v.strip()
            for k, _, v in (line.partition(":") for line in head[1:] if line)
        }
        await reader.readexactly(int(headers.get("content-length", "0")))
        version = headers.get("x-version", "?")
        self.stats.by_version[version] = self.stats.by_version.get(version, 0) + 1
        self.stats.last_seen[version] = time.time()
        if status >= 500:
            self.stats.failed += 1
        else:
            self.stats.ok += 1
        return headers.get("connection", "").lower() != "close"


def _closed_before_answering(exc: BaseException) -> bool:
    """The peer closed the connection before sending a single byte of an answer."""
    if isinstance(exc, asyncio.IncompleteReadError):
        return not exc.partial
    return isinstance(exc, ConnectionResetError | BrokenPipeError)
