"""HAProxyLog: requests, errors and latency buckets from HAProxy's per-request log lines."""

from __future__ import annotations

import asyncio
from pathlib import Path

from golive.metrics.haproxy import HAProxyLog
from golive.plan.model import Revision
from golive.proxy.haproxy_config import Servers


def test_the_golive_token_is_counted_wherever_it_sits_in_the_line(tmp_path: Path) -> None:
    log = tmp_path / "haproxy.log"
    log.write_text(
        "golive=golive/stable/200/12\n"
        "golive=golive_canary/canary/200/230\n"
        # their syslog prefix and their own fields around the token
        "Nov 29 23:00:00 lb haproxy[42]: 10.0.0.9 GET / golive=web/b1/503/3001 extra\n"
        "Nov 29 23:00:00 lb haproxy[42]: golive=other/b1/200/5\n"  # another backend's b1
        "golive=web/<NOSRV>/503/0\n"  # no server: neither revision's
        "golive=web/b1/-1/-1\n"  # client gone before any answer: a request, no time
        "no token here\n"
        "golive=web/a1/200/7"  # still being written: waits for its newline
    )
    servers = Servers("web", ("a1", "stable"), ("b1", "canary"))
    source = HAProxyLog(log, servers, ("golive", "golive_canary", "web"))
    stable = asyncio.run(source.sample(Revision.STABLE))
    canary = asyncio.run(source.sample(Revision.CANARY))
    assert (stable.requests, stable.errors) == (1, 0)
    assert (canary.requests, canary.errors) == (3, 1)
    assert canary.latency_ms_buckets[300.0] - canary.latency_ms_buckets[200.0] == 1
    assert canary.latency_ms_buckets[float("inf")] == 2  # the line without a time has none
    with log.open("a") as f:
        f.write("\n")
    assert asyncio.run(source.sample(Revision.STABLE)).requests == 2
