"""EnvoyStats: the router's own per-cluster statistics as a metric source.

Reads Envoy's Prometheus text (``/stats/prometheus``) through its admin socket (``EnvoyAdmin``);
it carries the ``+Inf`` bucket and counters in one response. Requests are
``upstream_rq_completed`` (it counts connection failures, ``upstream_rq_total`` does not);
errors are ``upstream_rq_xx`` of class 5. Measured on Envoy 1.40 (``benchmarks/error_counts.py``):
a refused connection (local 503), a reset or a connection closed before the response (503) and
an upstream timeout (504) are each one ``upstream_rq_completed`` and one 5xx, already; adding
``upstream_cx_connect_fail`` counted refusals twice. Absent series mean zero: Envoy creates the
5xx counter only at the first 5xx.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from golive.analysis.snapshot import Snapshot
from golive.errors import NoData
from golive.plan.model import Plan, Revision
from golive.proxy.envoy_admin import EnvoyAdmin, admin_socket
from golive.proxy.layout import proxy_dir

__all__ = ["EnvoyAdmin", "EnvoyStats", "parse_cluster"]

_LINE = re.compile(r"^(\w+)\{([^}]*)\}\s+(\S+)")
_LABEL = re.compile(r'(\w+)="([^"]*)"')


def parse_cluster(text: str, cluster: str) -> Snapshot:
    """One cluster's snapshot from Envoy's Prometheus text."""
    requests = errors = 0
    buckets: dict[float, int] = {}
    for line in text.splitlines():
        match = _LINE.match(line)
        if match is None:
            continue
        name, raw_labels, raw_value = match.groups()
        labels = dict(_LABEL.findall(raw_labels))
        if labels.get("envoy_cluster_name") != cluster:
            continue
        value = float(raw_value)
        if name == "envoy_cluster_upstream_rq_completed":
            requests = int(value)
        elif (
            name == "envoy_cluster_upstream_rq_xx"
            and labels.get("envoy_response_code_class") == "5"
        ):
            errors += int(value)
        elif name == "envoy_cluster_upstream_rq_time_bucket":
            le = labels["le"]
            buckets[math.inf if le == "+Inf" else float(le)] = int(value)
    return Snapshot(requests, min(errors, requests), buckets)


class EnvoyStats:
    def __init__(self, admin_socket: Path) -> None:
        self.admin = EnvoyAdmin(admin_socket)

    async def sample(self, revision: Revision) -> Snapshot:
        if not self.admin.socket.exists():
            raise NoData("Envoy is not running yet (no admin socket)")
        resp = await self.admin.get(
            "/stats/prometheus",
            {"filter": rf"^cluster\.{revision.value}\.upstream_(rq_completed|rq_[0-9]xx|rq_time)$"},
        )
        return parse_cluster(resp.text, revision.value)

    async def in_flight(self, revision: Revision) -> int:
        return await self.admin.stat(f"cluster.{revision.value}.upstream_rq_active")

    async def aclose(self) -> None:
        await self.admin.aclose()


def router_stats(plan: Plan, state_dir: Path, index: int) -> EnvoyStats:
    """The statistics of the route's ``index``-th Envoy (``metrics: {source: router}``)."""
    return EnvoyStats(admin_socket(proxy_dir(state_dir, "envoy", plan.service, index)))
