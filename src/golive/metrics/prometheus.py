"""PrometheusSource: per-revision counters from Prometheus, by PromQL over HTTP.

Three instant queries per revision, templated with ``$revision`` (``stable`` / ``canary``):
the cumulative request count, the cumulative error count, and the cumulative latency buckets
``sum by (le)``. Counters, not rates: the judge takes differences itself and treats a decrease
as a restart, so resets and missed scrapes need no PromQL care. An absent series is zero (a
revision that never failed has no error series yet); an unreachable or failing Prometheus is a
``TransientError``, which the engine records as an alarm and treats as "not yet known", never
as a pass.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from string import Template

import httpx

from golive.analysis.snapshot import Snapshot
from golive.errors import PermanentError, TransientError
from golive.plan.model import Plan, Revision

# Templates for Prometheus scraping golive's Envoy (its /stats/prometheus, clusters named after
# the revisions). Requests include connection failures; errors are 5xx, which already count
# refused connections, resets and timeouts (Envoy 1.40, benchmarks/error_counts.py).
_C = 'envoy_cluster_name="$revision"'
ENVOY_QUERIES = {
    "requests": f"sum(envoy_cluster_upstream_rq_completed{{{_C}}})",
    "errors": (
        f'sum(envoy_cluster_upstream_rq_xx{{{_C},envoy_response_code_class="5"}}) or vector(0)'
    ),
    "latency_buckets": f"sum by (le) (envoy_cluster_upstream_rq_time_bucket{{{_C}}})",
}


def parse_vector(body: Mapping[str, object]) -> list[tuple[dict[str, str], float]]:
    """(labels, value) of an instant-query answer; raises on a Prometheus error."""
    if body.get("status") != "success":
        raise TransientError(f"Prometheus answered {body.get('errorType')}: {body.get('error')}")
    data = body.get("data")
    if not isinstance(data, dict) or data.get("resultType") not in ("vector", "scalar"):
        raise TransientError("Prometheus answered something other than an instant vector")
    if data["resultType"] == "scalar":
        return [({}, float(data["result"][1]))]
    return [(dict(r["metric"]), float(r["value"][1])) for r in data["result"]]


def _count(value: float) -> int:
    return 0 if math.isnan(value) else round(value)


class PrometheusSource:
    def __init__(self, url: str, queries: Mapping[str, str] | None = None) -> None:
        self.url = url.rstrip("/")
        self.queries = {**ENVOY_QUERIES, **(queries or {})}
        unknown = set(self.queries) - set(ENVOY_QUERIES)
        if unknown:
            raise PermanentError(f"unknown Prometheus queries: {', '.join(sorted(unknown))}")
        self._client = httpx.AsyncClient(timeout=3.0, trust_env=False)

    async def query(self, promql: str) -> list[tuple[dict[str, str], float]]:
        try:
            resp = await self._client.get(f"{self.url}/api/v1/query", params={"query": promql})
            body = resp.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise TransientError(f"cannot query Prometheus at {self.url}: {exc}") from exc
        return parse_vector(body)

    async def sample(self, revision: Revision) -> Snapshot:
        def promql(name: str) -> str:
            return Template(self.queries[name]).safe_substitute(revision=revision.value)

        requests = await self.query(promql("requests"))
        errors = await self.query(promql("errors"))
        buckets = await self.query(promql("latency_buckets"))
        total = sum(_count(v) for _, v in requests)
        failed = sum(_count(v) for _, v in errors)
        hist = {
            math.inf if labels.get("le") == "+Inf" else float(labels["le"]): _count(v)
            for labels, v in buckets
            if "le" in labels
        }
        return Snapshot(total, min(failed, total), hist)

    async def in_flight(self, revision: Revision) -> int:
        """Prometheus is minutes behind for this; the drain relies on the router's read-back."""
        return 0

    async def aclose(self) -> None:
        await self._client.aclose()


def from_plan(plan: Plan) -> PrometheusSource:
    """``metrics: {source: prometheus, url: ..., queries: ...}`` (the rules require the url)."""
    assert plan.metrics.url is not None
    return PrometheusSource(plan.metrics.url, dict(plan.metrics.queries))
