"""HAProxy's runtime API on its admin socket: commands, their answers, what they mean."""

from __future__ import annotations

import asyncio
from pathlib import Path

from golive import files
from golive.errors import PermanentError, TransientError
from golive.proxy.haproxy_config import Servers

REQUESTS_LOG = "requests.log"  # golive's HAProxy logs one line per request there (latency)


def socket_path(workdir: Path) -> Path:
    """A unix socket path must fit in 108 bytes; long state dirs get one in the temp dir."""
    return files.socket_path(workdir, "admin.sock")


class RuntimeAPI:
    def __init__(self, path: Path, servers: Servers) -> None:
        self.socket_path, self.servers = path, servers

    async def command(self, line: str) -> str:
        """One runtime API command (or several joined by ';'); the answer text."""
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_unix_connection(str(self.socket_path)), 2.0
            )
            writer.write(line.encode() + b"\n")
            await writer.drain()
            answer = await asyncio.wait_for(reader.read(), 2.0)
            writer.close()
            await writer.wait_closed()
        except (OSError, TimeoutError) as exc:
            where = self.socket_path
            raise TransientError(f"cannot reach HAProxy's admin socket {where}: {exc}") from exc
        return answer.decode(errors="replace")

    async def map_command(self, line: str) -> str:
        """A map command. Its answer is nothing, or entries (``0x... key value``); anything else
        is HAProxy's complaint (an unknown map, a refused entry), which is permanent."""
        answer = await self.command(line)
        complaint = [ln for ln in answer.splitlines() if ln.strip() and not ln.startswith("0x")]
        if complaint:
            raise PermanentError(f"HAProxy refused '{line}': {' '.join(complaint)}")
        return answer

    async def check_servers(self) -> None:
        """Every server golive weights is in the backend (one round trip for all of them)."""
        backend, names = self.servers.backend, self.servers.all()
        answer = await self.command("; ".join(f"get weight {backend}/{n}" for n in names))
        lines = [ln.strip() for ln in answer.splitlines() if ln.strip()]
        for name, line in zip(names, lines + [""] * len(names), strict=False):
            if not line[:1].isdigit():
                raise PermanentError(
                    f"HAProxy has no server {backend}/{name}: {line or 'no answer'}"
                )

    async def alive(self) -> bool:
        try:
            return "Name: HAProxy" in await self.command("show info")
        except TransientError:
            return False
