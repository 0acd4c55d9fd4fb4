"""HAProxyStats: HAProxy's own per-server statistics (``show stat``) as a metric source.

Requests and errors per revision are summed over every backend the revision's server is in
(the weighted backend and the segment backend). A request HAProxy could not deliver (a
connection error, ``econ``, or a broken response, ``eresp``) is answered with a 5xx that the
server's own ``hrsp_5xx`` does not count, so both are added as errors. HAProxy keeps response
times only as averages, not as a histogram: this source has no latency buckets, and the plan
loader says so when a plan asks for latency from it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable

from golive.analysis.snapshot import Snapshot
from golive.plan.model import Revision

_RESPONSES = ("hrsp_1xx", "hrsp_2xx", "hrsp_3xx", "hrsp_4xx", "hrsp_5xx", "hrsp_other")


def parse_stat(text: str) -> list[dict[str, str]]:
    """Rows of ``show stat`` (CSV whose header line starts with ``# ``)."""
    body = text.lstrip("# ")
    return list(csv.DictReader(io.StringIO(body)))


def _int(row: dict[str, str], key: str) -> int:
    value = row.get(key) or "0"
    return int(value) if value.isdigit() else 0


def server_snapshot(rows: list[dict[str, str]], server: str) -> Snapshot:
    mine = [r for r in rows if r.get("svname") == server]
    failed = sum(_int(r, "econ") + _int(r, "eresp") for r in mine)
    answered = sum(_int(r, key) for r in mine for key in _RESPONSES)
    errors = sum(_int(r, "hrsp_5xx") for r in mine) + failed
    return Snapshot(answered + failed, errors)


class HAProxyStats:
    def __init__(self, command: Callable[[str], Awaitable[str]]) -> None:
        self._command = command

    async def sample(self, revision: Revision) -> Snapshot:
        return server_snapshot(parse_stat(await self._command("show stat")), revision.value)

    async def in_flight(self, revision: Revision) -> int:
        rows = parse_stat(await self._command("show stat"))
        return sum(_int(r, "scur") for r in rows if r.get("svname") == revision.value)

    async def aclose(self) -> None:
        return None
