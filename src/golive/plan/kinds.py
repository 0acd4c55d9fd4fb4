"""golive's routers, metric sources and deployers: one registration each (see docs/design.md,
"Adding a router"). The plan rules, the loader, the engine's providers, ``golive demo
--router`` and ``golive down`` read these tables; nothing else lists the kinds."""

from __future__ import annotations

from collections.abc import Iterator

from golive.errors import PlanIssue
from golive.plan import spec as s
from golive.plan.model import HAProxyAttach, NginxAttach
from golive.plan.registry import (
    AttachKind,
    DeployerKind,
    Issue,
    Launch,
    Registry,
    RouterKind,
    SourceKind,
)
from golive.plan.yamlsource import Path

ROUTERS: Registry[RouterKind] = Registry("router")
SOURCES: Registry[SourceKind] = Registry("metric source")
DEPLOYERS: Registry[DeployerKind] = Registry("deployer")


def local_routers() -> tuple[str, ...]:
    """The routers golive runs itself (``golive demo --router`` offers them), first the default."""
    return tuple(k.name for k in ROUTERS.kinds() if k.launch is not None)


def map_key(key: str) -> str:
    """``header:X-Beta-User`` -> ``header:x-beta-user``: header names are case-insensitive and
    segments keep them lower-case; cookie names are kept as written."""
    kind, _, name = key.partition(":")
    return f"{kind}:{name.lower() if kind == 'header' else name}"


def _attach_entries(spec: s.PlanSpec) -> list[s.AttachSpec]:
    attach = spec.route.attach
    return [] if attach is None else [attach] if isinstance(attach, s.AttachSpec) else attach


# -- Envoy -----------------------------------------------------------------------------------

ROUTERS.register(
    RouterKind(
        "envoy",
        "Envoy",
        router="golive.traffic.envoy:EnvoyRouter.from_plan",
        stats="golive.metrics.envoy:router_stats",
        launch=Launch("-c", "bootstrap.json", leaves=("admin.sock",)),
        default_queries=True,
    )
)

# -- HAProxy ---------------------------------------------------------------------------------


def _haproxy_attach(a: s.AttachSpec) -> HAProxyAttach:
    assert a.socket and a.backend and a.stable and a.canary
    maps = tuple(sorted((map_key(k), v) for k, v in (a.maps or {}).items()))
    return HAProxyAttach(
        a.socket, a.backend, tuple(a.stable), tuple(a.canary), a.state_file, maps,
        a.sticky_map, a.canary_backend, a.stable_backend, a.access_log,
    )  # fmt: skip


def _haproxy_latency(spec: s.PlanSpec) -> str | None:
    """golive's own HAProxy logs every request to a file golive reads; an attached one has
    latency only when the plan names its log (``access_log``)."""
    if any(a.access_log is None for a in _attach_entries(spec)):
        return "HAProxy's statistics have no latency histogram and the plan gives no access_log"
    return None


def _haproxy_routing(
    spec: s.PlanSpec, where: Path, entry: s.AttachSpec, issue: Issue
) -> Iterator[PlanIssue]:
    """Segments and sticky users on someone else's HAProxy need its maps and backends."""
    maps = {map_key(k) for k in entry.maps or {}}
    for i, step in enumerate(spec.steps):
        shift = step.get("shift")
        seg = shift.segment if shift else None
        if not isinstance(seg, s.SegmentSpec):  # none, or kept: the earlier one is checked
            continue
        key = f"cookie:{seg.cookie}" if seg.cookie else f"header:{(seg.header or '').lower()}"
        if key not in maps:
            yield issue(
                ("steps", i, "shift", "segment"),
                f"HAProxy at {entry.socket} has no map for {key}: add 'maps: {{{key}: PATH}}' "
                "to attach (see docs/providers/haproxy.md)",
            )
        if entry.canary_backend is None:
            yield issue(where, "segments need canary_backend: the backend your map routes to")
    if spec.route.sticky and not (
        entry.sticky_map and entry.canary_backend and entry.stable_backend
    ):
        yield issue(
            where,
            "sticky users need sticky_map, canary_backend and stable_backend from your HAProxy "
            "(see docs/providers/haproxy.md)",
        )


ROUTERS.register(
    RouterKind(
        "haproxy",
        "HAProxy",
        router="golive.traffic.haproxy:HAProxyRouter.from_plan",
        stats="golive.metrics.haproxy:router_stats",
        launch=Launch("-f", "haproxy.cfg"),
        attach=AttachKind(
            ("socket", "backend", "stable", "canary"),
            ("state_file", "maps", "sticky_map", "canary_backend", "stable_backend", "access_log"),
            _haproxy_attach,
            _haproxy_routing,
        ),
        latency=_haproxy_latency,
        latency_remedy="give the HAProxy's per-request log (attach: access_log, see "
        "docs/providers/haproxy.md)",
    )
)

# -- nginx -----------------------------------------------------------------------------------


def _nginx_attach(a: s.AttachSpec) -> NginxAttach:
    assert a.config and a.pid and a.include and a.upstream
    return NginxAttach(a.config, a.pid, a.include, a.upstream, a.access_log)


def _nginx_log(
    spec: s.PlanSpec, where: Path, entry: s.AttachSpec, issue: Issue
) -> Iterator[PlanIssue]:
    source = SOURCES.find(spec.metrics.source)
    if source is not None and source.router_stats and entry.access_log is None:
        yield issue(
            where,
            "metrics from nginx come from its access log: give access_log, the file your server "
            f"block writes with 'access_log PATH golive_{entry.upstream or 'UPSTREAM'};'",
        )


ROUTERS.register(
    RouterKind(
        "nginx",
        "nginx",
        router="golive.traffic.nginx:NginxRouter.from_plan",
        stats="golive.metrics.nginx:router_stats",
        launch=Launch("-c", "nginx.conf"),
        attach=AttachKind(
            ("config", "pid", "include", "upstream"), ("access_log",), _nginx_attach, _nginx_log
        ),
    )
)

# -- metric sources --------------------------------------------------------------------------


def _prometheus_queries(spec: s.PlanSpec, issue: Issue) -> Iterator[PlanIssue]:
    router = ROUTERS.find(spec.route.router)
    if (router is None or not router.default_queries) and not spec.metrics.queries:
        yield issue(
            ("metrics",),
            "the default Prometheus queries read golive's Envoy; give 'queries' "
            "(requests, errors, latency_buckets) for this router's exporter",
        )


SOURCES.register(SourceKind("router"))
SOURCES.register(
    SourceKind(
        "prometheus",
        "golive.metrics.prometheus:from_plan",
        url_example="http://127.0.0.1:9090",
        lag=60.0,  # a scrape interval and a rate window behind
        rules=_prometheus_queries,
    )
)

# -- deployers -------------------------------------------------------------------------------

DEPLOYERS.register(DeployerKind("process", "golive.deploy.process:ProcessDeployer"))
