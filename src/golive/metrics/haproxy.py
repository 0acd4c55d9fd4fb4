"""HAProxyStats: HAProxy's own per-server statistics (``show stat``) as a metric source.

Requests and errors per revision are summed over the revision's servers in every backend golive
runs (the weighted backend and the segment backends), or in the one backend of an HAProxy golive
attached to. A request sent to a server is one ``stot`` (a session), plus one per retry
(``wretr``), so requests are ``stot - wretr``. A request HAProxy could not deliver (a refused
connection, a reset, a timeout) is answered with a 5xx that the server's ``hrsp_5xx`` does not
count, and ``eresp`` counts a reset twice (measured on 2.6, ``benchmarks/error_counts.py``), so
errors are the requests the server did not answer with a status below 500.

HAProxy keeps response times only as averages, not as a histogram. So golive's HAProxy also
logs one line per request (``LOG_FORMAT``: backend, server, status, ``%Ta`` the active time in
ms) to a file golive owns, and :class:`HAProxyLog` counts requests, errors and latency buckets
from it, the shape the nginx access log gives. With a log, counters come from it (a request
the canary refused and ``option redispatch`` served from stable is logged once, under stable:
a dead canary is caught by ``canary_down``); without one (an attached HAProxy whose log golive
was not given), counters come from ``show stat`` and latency is not judged: the plan says so.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

from golive.analysis.snapshot import Snapshot
from golive.metrics.accesslog import AccessLog, Entry
from golive.plan.model import HAProxyAttach, Plan, Revision
from golive.proxy.haproxy_api import REQUESTS_LOG, RuntimeAPI, socket_path
from golive.proxy.haproxy_config import LOG_MARK, MANAGED, Servers
from golive.proxy.layout import proxy_dir

_RESPONSES = ("hrsp_1xx", "hrsp_2xx", "hrsp_3xx", "hrsp_4xx", "hrsp_5xx", "hrsp_other")


def parse_stat(text: str) -> list[dict[str, str]]:
    """Rows of ``show stat`` (CSV whose header line starts with ``# ``)."""
    body = text.lstrip("# ")
    return list(csv.DictReader(io.StringIO(body)))


def _int(row: dict[str, str], key: str) -> int:
    value = row.get(key) or "0"
    return int(value) if value.isdigit() else 0


def server_snapshot(rows: list[dict[str, str]], servers: tuple[str, ...]) -> Snapshot:
    mine = [r for r in rows if r.get("svname") in servers]
    answered = sum(_int(r, key) for r in mine for key in _RESPONSES)
    good = answered - sum(_int(r, "hrsp_5xx") for r in mine)
    requests = max(sum(_int(r, "stot") - _int(r, "wretr") for r in mine), answered)
    return Snapshot(requests, requests - good)


_TOKEN = re.compile(
    re.escape(LOG_MARK)
    + r"=(?P<backend>[^/\s]+)/(?P<server>[^/\s]+)/(?P<status>-?\d+)/(?P<ms>-?\d+)"
)


class HAProxyLog(AccessLog):
    """Counters from HAProxy's per-request log: the ``golive=BACKEND/SERVER/STATUS/TA`` token
    of each line (anywhere in it, so a syslog prefix or an operator's own fields around it do
    not matter). A request HAProxy could not deliver is logged with the 5xx it answered."""

    def __init__(self, path: Path, servers: Servers = MANAGED, backends: tuple[str, ...] = ()):
        self._revisions = {
            **{name: Revision.STABLE for name in servers.stable},
            **{name: Revision.CANARY for name in servers.canary},
        }
        self._backends = backends
        super().__init__(path, self._line)

    def _line(self, line: str) -> Entry | None:
        match = _TOKEN.search(line)
        if match is None or (self._backends and match["backend"] not in self._backends):
            return None
        revision = self._revisions.get(match["server"])
        if revision is None:
            return None
        ms = int(match["ms"])
        return revision, int(match["status"]), float(ms) if ms >= 0 else None


class HAProxyStats:
    def __init__(
        self,
        command: Callable[[str], Awaitable[str]],
        servers: Servers = MANAGED,
        backends: tuple[str, ...] = (),
        log: Path | None = None,
    ) -> None:
        self._command = command
        self._servers = servers
        self._backends = backends  # someone else's HAProxy: only these; ours: every backend
        self._log = None if log is None else HAProxyLog(log, servers, backends)

    async def _rows(self) -> list[dict[str, str]]:
        rows = parse_stat(await self._command("show stat"))
        return [r for r in rows if not self._backends or r.get("pxname") in self._backends]

    def _names(self, revision: Revision) -> tuple[str, ...]:
        return self._servers.stable if revision is Revision.STABLE else self._servers.canary

    async def sample(self, revision: Revision) -> Snapshot:
        if self._log is not None:  # requests, errors and latency from one count
            return await self._log.sample(revision)
        return server_snapshot(await self._rows(), self._names(revision))

    async def in_flight(self, revision: Revision) -> int:
        names = self._names(revision)
        return sum(_int(r, "scur") for r in await self._rows() if r.get("svname") in names)

    async def aclose(self) -> None:
        return None


def router_stats(plan: Plan, state_dir: Path, index: int) -> HAProxyStats:
    """The statistics of the route's ``index``-th HAProxy: golive's own (its request log and
    every backend), or the one attached to (its backends, and its log when the plan names it)."""
    given = plan.route.attach[index] if plan.route.attach else None
    if isinstance(given, HAProxyAttach):
        servers = Servers(given.backend, given.stable, given.canary)
        log = None if given.access_log is None else Path(given.access_log)
        api = RuntimeAPI(Path(given.socket), servers)
        return HAProxyStats(api.command, servers, given.backends(), log)
    workdir = proxy_dir(state_dir, "haproxy", plan.service, index).absolute()
    servers = Servers.managed(len(plan.stable.urls), len(plan.canary.urls))
    api = RuntimeAPI(socket_path(workdir), servers)
    return HAProxyStats(api.command, servers, (), workdir / REQUESTS_LOG)
