"""DNS checks: a name resolves, and to the expected addresses."""

from __future__ import annotations

import asyncio
import socket

from golive.checks.base import Probe
from golive.plan.checks import Dns


async def probe(o: Dns) -> Probe:
    try:
        answers = await asyncio.get_running_loop().getaddrinfo(
            o.name, None, type=socket.SOCK_STREAM
        )
    except socket.gaierror as exc:
        return Probe.failed("", f"{o.name} does not resolve: {exc.strerror}")
    found = sorted({str(a[4][0]) for a in answers})
    value = ", ".join(found)
    missing = [e for e in o.expect if e not in found]
    if missing:
        return Probe.failed(value, f"{o.name} resolves to {value}, not to {', '.join(missing)}")
    return Probe.passed(value, f"{o.name} resolves to {value}")
