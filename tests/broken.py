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

from golive.demo.app import free_port

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
