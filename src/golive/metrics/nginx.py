"""NginxLog: per-revision counters from the access log golive's nginx writes.

OSS nginx keeps no per-upstream statistics, so golive's configuration logs one line per request
(``$msec $upstream_addr $upstream_status $upstream_response_time``) and this source counts
them per upstream address (see :mod:`golive.metrics.accesslog`): requests, 5xx (a connection
failure is a 502 here), and latency buckets. Requests in flight are not visible in a log; the
drain relies on the request counter standing still instead.
"""

from __future__ import annotations

from pathlib import Path

from golive.metrics.accesslog import BOUNDS, AccessLog, Entry
from golive.plan.model import NginxAttach, Plan, Revision
from golive.proxy.layout import proxy_dir
from golive.proxy.nginx_config import ACCESS_LOG, address

__all__ = ["BOUNDS", "NginxLog"]


class NginxLog(AccessLog):
    def __init__(self, path: Path, addresses: dict[str, Revision]) -> None:
        self.addresses = addresses
        super().__init__(path, self._line)

    def _line(self, line: str) -> Entry | None:
        parts = line.split()
        if len(parts) != 4:
            return None
        _, addr, status, seconds = parts
        revision = self.addresses.get(addr)
        if revision is None or not status.isdigit():
            return None
        try:
            ms: float | None = float(seconds) * 1000
        except ValueError:
            ms = None
        return revision, int(status), ms


def router_stats(plan: Plan, state_dir: Path, index: int) -> NginxLog:
    """The access log of the route's ``index``-th nginx: golive's own, or the one the plan
    names for an nginx golive attached to; each line's upstream address names its revision."""
    workdir = proxy_dir(state_dir, "nginx", plan.service, index).absolute()
    given = plan.route.attach[index] if plan.route.attach else None
    named = given.access_log if isinstance(given, NginxAttach) else None
    addresses = {
        **{address(url): Revision.STABLE for url in plan.stable.urls},
        **{address(url): Revision.CANARY for url in plan.canary.urls},
    }
    return NginxLog(Path(named or workdir / ACCESS_LOG), addresses)
