"""Upstreams that fail the way real ones do, for counting what each proxy records.

``refused``: nothing listens. ``reset``: the request is read, then the connection is reset
(RST) before any byte of a response. ``closed``: the same, closed cleanly (FIN). ``hang``: the
request is read and never answered (the proxy's timeout ends it).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import AsyncIterator

from golive.proxy.ports import free_port

KINDS = ("refused", "reset", "closed", "hang")


async def _read_request(reader: asyncio.StreamReader) -> None:
    with contextlib.suppress(
        asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError
    ):
        await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)


def _handler(kind: str):  # type: ignore[no-untyped-def]
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        if kind == "hang":
            with contextlib.suppress(Exception):
                await asyncio.wait_for(reader.read(), 30)  # until the proxy gives up
        elif kind == "reset":
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()

    return handle


@contextlib.asynccontextmanager
async def broken_upstream(kind: str) -> AsyncIterator[int]:
    """The port of an upstream that fails as ``kind`` says, for the block's duration."""
    if kind == "refused":
        yield free_port()
        return
    server = await asyncio.start_server(_handler(kind), "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 2)


class ClosingKeepAlive:
    """An upstream that keeps connections alive and closes one idle for ``idle`` seconds just
    as the next request arrives on it (a reset before any response byte): the race a real
    server's keep-alive timeout (gunicorn: 2 s) loses now and then, made certain.
    ``late`` counts the requests that arrived on such a connection."""

    def __init__(self, idle: float, version: str = "2.0.0") -> None:
        self.idle = idle
        self.version = version
        self.late = 0
        self.answered = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        last = None
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                if last is not None and loop.time() - last >= self.idle:
                    self.late += 1
                    sock = writer.get_extra_info("socket")
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    break
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                if length:
                    await reader.readexactly(length)
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nx-version: "
                    + self.version.encode()
                    + b"\r\n\r\nok"
                )
                await writer.drain()
                self.answered += 1
                last = loop.time()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


@contextlib.asynccontextmanager
async def closing_keepalive(
    idle: float, version: str = "2.0.0"
) -> AsyncIterator[tuple[int, ClosingKeepAlive]]:
    upstream = ClosingKeepAlive(idle, version)
    server = await asyncio.start_server(upstream.handle, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1], upstream
    finally:
        server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 2)
