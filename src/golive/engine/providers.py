"""The providers one rollout uses, built from the plan by kind (an unknown kind never gets here:
the plan loader rejects it with the list of known kinds)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from golive.analysis.snapshot import Snapshot
from golive.checks.catalogue import step_check
from golive.core.results import CheckResult
from golive.deploy.base import Deployer
from golive.deploy.process import ProcessDeployer
from golive.metrics.base import MetricSource
from golive.metrics.envoy import EnvoyStats
from golive.metrics.fleet import FleetStats
from golive.metrics.haproxy import HAProxyStats
from golive.metrics.nginx import NginxLog
from golive.metrics.prometheus import PrometheusSource
from golive.plan.model import Check, Plan, Revision, Split
from golive.proxy.nginx_config import address
from golive.traffic.base import Router
from golive.traffic.envoy import EnvoyRouter
from golive.traffic.fleet import FleetRouter, start_all
from golive.traffic.haproxy import HAProxyRouter
from golive.traffic.nginx import NginxRouter


@dataclass
class Providers:
    router: Router
    metrics: MetricSource
    deployer: Deployer
    check: Callable[[Check], Awaitable[CheckResult]]
    start: Callable[[Split], Awaitable[bool]]
    close: Callable[[], Awaitable[None]]


Proxy = EnvoyRouter | HAProxyRouter | NginxRouter
ProxyStats = EnvoyStats | HAProxyStats | NginxLog


def _proxy(plan: Plan, state_dir: Path, index: int) -> tuple[Proxy, ProxyStats]:
    """The ``index``-th proxy of the route and its own statistics."""
    if plan.route.router == "haproxy":
        haproxy = HAProxyRouter.from_plan(plan, state_dir, index)
        backends = haproxy.attached.backends() if haproxy.attached else ()
        if haproxy.attached is None:
            log: Path | None = haproxy.requests_log
        else:
            log = None if haproxy.attached.access_log is None else Path(haproxy.attached.access_log)
        return haproxy, HAProxyStats(haproxy.command, haproxy.servers, backends, log)
    if plan.route.router == "nginx":
        nginx = NginxRouter.from_plan(plan, state_dir, index)
        addresses = {
            **{address(url): Revision.STABLE for url in plan.stable.urls},
            **{address(url): Revision.CANARY for url in plan.canary.urls},
        }
        return nginx, NginxLog(nginx.log_path, addresses)
    envoy = EnvoyRouter.from_plan(plan, state_dir, index)
    return envoy, EnvoyStats(envoy.admin_socket)


def build_providers(plan: Plan, state_dir: Path, rollout: str = "") -> Providers:
    """The providers of ``rollout`` (which owns the processes its deployer starts)."""
    names = plan.route.proxy_names()
    proxies = [_proxy(plan, state_dir, i) for i in range(len(names))]
    router: Router
    own: MetricSource
    if len(proxies) == 1:
        router, own = proxies[0]
    else:
        router = FleetRouter([p for p, _ in proxies], names)
        own = FleetStats([s for _, s in proxies])

    async def start(split: Split) -> bool:
        return await start_all([p.start for p, _ in proxies], split)

    deployer = ProcessDeployer(plan, state_dir / "revisions" / plan.service, rollout)
    metrics: MetricSource = own
    prometheus = None
    if plan.metrics.source == "prometheus":
        assert plan.metrics.url is not None  # the loader requires it
        prometheus = PrometheusSource(plan.metrics.url, dict(plan.metrics.queries))
        metrics = CountersAndInFlight(prometheus, own)

    async def close() -> None:
        for proxy, stats in proxies:
            await proxy.aclose()
            await stats.aclose()
        if prometheus is not None:
            await prometheus.aclose()
        await deployer.aclose()

    return Providers(router, metrics, deployer, step_check, start, close)


class CountersAndInFlight:
    """Counters from one source, requests in flight (for draining) from the router's own."""

    def __init__(self, counters: MetricSource, live: MetricSource) -> None:
        self._counters, self._live = counters, live

    async def sample(self, revision: Revision) -> Snapshot:
        return await self._counters.sample(revision)

    async def in_flight(self, revision: Revision) -> int:
        return await self._live.in_flight(revision)
