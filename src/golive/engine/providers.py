"""The providers one rollout uses, built from the plan by kind (an unknown kind never gets here:
the plan loader rejects it with the list of known kinds)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from golive.analysis.snapshot import Snapshot
from golive.checks.base import CheckResult
from golive.checks.http import run_http_check
from golive.deploy.base import Deployer
from golive.deploy.process import ProcessDeployer
from golive.metrics.base import MetricSource
from golive.metrics.envoy import EnvoyStats
from golive.metrics.haproxy import HAProxyStats
from golive.metrics.nginx import NginxLog
from golive.metrics.prometheus import PrometheusSource
from golive.plan.model import HttpCheck, Plan, Revision, Split
from golive.traffic.base import Router
from golive.traffic.envoy import EnvoyRouter
from golive.traffic.haproxy import HAProxyRouter
from golive.traffic.nginx import NginxRouter
from golive.traffic.nginx_config import address


@dataclass
class Providers:
    router: Router
    metrics: MetricSource
    deployer: Deployer
    check: Callable[[HttpCheck], Awaitable[CheckResult]]
    start: Callable[[Split], Awaitable[bool]]
    close: Callable[[], Awaitable[None]]


def build_providers(plan: Plan, state_dir: Path) -> Providers:
    router: EnvoyRouter | HAProxyRouter | NginxRouter
    stats: EnvoyStats | HAProxyStats | NginxLog
    if plan.route.router == "haproxy":
        router = HAProxyRouter.from_plan(plan, state_dir)
        stats = HAProxyStats(router.command)
    elif plan.route.router == "nginx":
        router = NginxRouter.from_plan(plan, state_dir)
        addresses = {
            address(plan.stable.url): Revision.STABLE,
            address(plan.canary.url): Revision.CANARY,
        }
        stats = NginxLog(router.log_path, addresses)
    else:
        envoy = router = EnvoyRouter.from_plan(plan, state_dir)
        stats = EnvoyStats(lambda: envoy.admin_url)
    deployer = ProcessDeployer(plan, state_dir / "revisions" / plan.service)
    metrics: MetricSource = stats
    prometheus = None
    if plan.metrics.source == "prometheus":
        assert plan.metrics.url is not None  # the loader requires it
        prometheus = PrometheusSource(plan.metrics.url, dict(plan.metrics.queries))
        metrics = _Split(prometheus, stats)

    async def close() -> None:
        await router.aclose()
        await stats.aclose()
        if prometheus is not None:
            await prometheus.aclose()
        await deployer.aclose()

    return Providers(router, metrics, deployer, run_http_check, router.start, close)


class _Split:
    """Counters from one source, requests in flight (for draining) from the router's own."""

    def __init__(self, counters: MetricSource, live: MetricSource) -> None:
        self._counters, self._live = counters, live

    async def sample(self, revision: Revision) -> Snapshot:
        return await self._counters.sample(revision)

    async def in_flight(self, revision: Revision) -> int:
        return await self._live.in_flight(revision)
