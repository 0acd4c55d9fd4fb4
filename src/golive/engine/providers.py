"""The providers one rollout uses, built from the plan by the kinds it names (the registries
of :mod:`golive.plan.kinds`; an unknown kind never gets here: the plan loader rejects it with
the list of known kinds)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, cast

from golive.analysis.snapshot import Snapshot
from golive.checks.catalogue import step_check
from golive.core.results import CheckResult
from golive.deploy.base import Deployer
from golive.metrics.base import MetricSource
from golive.metrics.fleet import FleetStats
from golive.plan.kinds import DEPLOYERS, ROUTERS, SOURCES
from golive.plan.model import Check, Plan, Revision, Split
from golive.plan.registry import load
from golive.traffic.base import Proxy, Router
from golive.traffic.fleet import FleetRouter, start_all

DEPLOYER = "process"  # the plan has no choice of deployer yet: revisions are local processes


class Closing(MetricSource, Protocol):
    async def aclose(self) -> None: ...


class ClosingDeployer(Deployer, Protocol):
    async def aclose(self) -> None: ...


ProxyFactory = Callable[[Plan, Path, int], Proxy]
StatsFactory = Callable[[Plan, Path, int], Closing]
SourceFactory = Callable[[Plan], Closing]
DeployerFactory = Callable[[Plan, Path, str], ClosingDeployer]


async def _none_died(split: Split) -> bool:
    return False


@dataclass
class Providers:
    router: Router
    metrics: MetricSource
    deployer: Deployer
    check: Callable[[Check], Awaitable[CheckResult]]
    start: Callable[[Split], Awaitable[bool]]
    close: Callable[[], Awaitable[None]]
    # start again, serving the split, the proxies golive started that died (killed, crashed;
    # never one golive stopped or attached to); True if there was one
    revive: Callable[[Split], Awaitable[bool]] = _none_died


def build_proxy(plan: Plan, state_dir: Path, index: int = 0) -> Proxy:
    """The ``index``-th proxy of the route, as its router kind builds it."""
    factory = cast(ProxyFactory, load(ROUTERS.get(plan.route.router).router))
    return factory(plan, state_dir, index)


def _proxy(plan: Plan, state_dir: Path, index: int) -> tuple[Proxy, Closing]:
    """The ``index``-th proxy of the route and its own statistics."""
    stats = cast(StatsFactory, load(ROUTERS.get(plan.route.router).stats))
    return build_proxy(plan, state_dir, index), stats(plan, state_dir, index)


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

    async def revive(split: Split) -> bool:
        dead = [p for p, _ in proxies if p.died()]
        await start_all([p.start for p in dead], split)
        return bool(dead)

    deployer = build_deployer(plan, state_dir, rollout)
    metrics: MetricSource = own
    source = SOURCES.get(plan.metrics.source)
    counters = None if source.factory is None else cast(SourceFactory, load(source.factory))(plan)
    if counters is not None:
        metrics = CountersAndInFlight(counters, own)

    async def close() -> None:
        for proxy, stats in proxies:
            await proxy.aclose()
            await stats.aclose()
        if counters is not None:
            await counters.aclose()
        await deployer.aclose()

    return Providers(router, metrics, deployer, step_check, start, close, revive)


def build_deployer(plan: Plan, state_dir: Path, rollout: str) -> ClosingDeployer:
    """The deployer of ``rollout``; it keeps its processes under ``revisions/<service>/``."""
    factory = cast(DeployerFactory, load(DEPLOYERS.get(DEPLOYER).factory))
    return factory(plan, state_dir / "revisions" / plan.service, rollout)


class CountersAndInFlight:
    """Counters from one source, requests in flight (for draining) from the router's own."""

    def __init__(self, counters: MetricSource, live: MetricSource) -> None:
        self._counters, self._live = counters, live

    async def sample(self, revision: Revision) -> Snapshot:
        return await self._counters.sample(revision)

    async def in_flight(self, revision: Revision) -> int:
        return await self._live.in_flight(revision)
