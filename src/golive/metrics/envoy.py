"""EnvoyStats: the router's own per-cluster statistics as a metric source.

Reads Envoy's Prometheus text (``/stats/prometheus``), which carries the ``+Inf`` bucket and
counters in one response. Requests are ``upstream_rq_completed`` (it counts connection failures,
``upstream_rq_total`` does not); errors are 5xx responses plus connection failures, which Envoy
answers with a local 503 that the 5xx counter does not see. Absent series mean zero: Envoy
creates the 5xx counter only at the first 5xx.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import httpx

from golive.analysis.snapshot import Snapshot
from golive.errors import NoData, TransientError
from golive.plan.model import Revision

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
        ) or name == "envoy_cluster_upstream_cx_connect_fail":
            errors += int(value)
        elif name == "envoy_cluster_upstream_rq_time_bucket":
            le = labels["le"]
            buckets[math.inf if le == "+Inf" else float(le)] = int(value)
    return Snapshot(requests, min(errors, requests), buckets)


async def read_stat(client: httpx.AsyncClient, admin_url: str, name: str) -> int:
    """One counter or gauge from Envoy's admin ``/stats`` (absent means 0)."""
    try:
        resp = await client.get(
            f"{admin_url}/stats", params={"format": "json", "filter": f"^{name}$"}
        )
        resp.raise_for_status()
        stats = resp.json().get("stats", [])
    except (httpx.HTTPError, ValueError) as exc:
        raise TransientError(f"cannot read Envoy stats at {admin_url}: {exc}") from exc
    return int(stats[0]["value"]) if stats else 0


class EnvoyStats:
    def __init__(self, admin_url: Callable[[], str]) -> None:
        self._admin_url = admin_url
        self._client = httpx.AsyncClient(timeout=2.0, trust_env=False)

    async def sample(self, revision: Revision) -> Snapshot:
        url = self._admin_url()
        if not url:
            raise NoData("Envoy's admin address is not known yet")
        try:
            resp = await self._client.get(
                f"{url}/stats/prometheus",
                params={
                    "filter": rf"^cluster\.{revision.value}\.upstream_(rq_completed|rq_[0-9]xx|"
                    r"cx_connect_fail|rq_time)$"
                },
            )
            resp.raise_for_status()
        except httpx.HTTPError as exc:
            raise TransientError(f"cannot read Envoy stats at {url}: {exc}") from exc
        return parse_cluster(resp.text, revision.value)

    async def in_flight(self, revision: Revision) -> int:
        name = f"cluster.{revision.value}.upstream_rq_active"
        return await read_stat(self._client, self._admin_url(), name)

    async def aclose(self) -> None:
        await self._client.aclose()
