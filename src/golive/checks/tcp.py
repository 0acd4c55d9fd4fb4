"""TCP checks: a connection is accepted."""

from __future__ import annotations

import asyncio
import time

from golive.checks.base import Probe, ms, one_line
from golive.plan.checks import Tcp


async def probe(o: Tcp) -> Probe:
    started = time.perf_counter()
    try:
        _, writer = await asyncio.open_connection(o.host, o.port)
    except OSError as exc:
        return Probe.failed("", f"cannot connect to {o.host}:{o.port}: {one_line(exc)}")
    took = time.perf_counter() - started
    writer.close()
    await writer.wait_closed()
    return Probe.passed(ms(took), f"{o.host}:{o.port} accepted a connection in {ms(took)}")
