"""TLS checks: the handshake verifies the chain and the hostname; days left before expiry."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time

from golive.checks.base import Probe
from golive.plan.checks import Tls


async def probe(o: Tls) -> Probe:
    host, _, port = o.host.rpartition(":")
    name = o.hostname or host
    context = ssl.create_default_context(cafile=o.ca_file)
    try:
        _, writer = await asyncio.open_connection(
            host, int(port), ssl=context, server_hostname=name
        )
    except ssl.SSLCertVerificationError as exc:
        return Probe.failed(
            "", f"{o.host}: certificate not trusted for {name}: {exc.verify_message}"
        )
    except ssl.SSLError as exc:
        return Probe.failed("", f"{o.host}: TLS handshake failed: {exc.reason or exc}")
    try:
        cert = writer.get_extra_info("peercert") or {}
    finally:
        writer.close()
        # a server that drops the connection at once is not the certificate's fault
        with contextlib.suppress(ssl.SSLError, OSError):
            await writer.wait_closed()
    expires = ssl.cert_time_to_seconds(str(cert["notAfter"]))
    days = (expires - time.time()) / 86400
    value = f"{days:.0f} days left"
    if days < o.min_days:
        return Probe.failed(value, f"{o.host}: the certificate expires in {days:.1f} days")
    if days < o.warn_days:
        return Probe.warned(value, f"{o.host}: the certificate expires in {days:.0f} days")
    return Probe.passed(value, f"{o.host}: certificate valid for {name}, {days:.0f} days left")
