"""Envoy configuration golive generates: a bootstrap with static clusters, routes through RDS.

Weights are shifted by replacing the RDS file atomically (Envoy reacts to a rename into place,
never to an in-place write) and never by replacing the listener, which would drain keep-alive
connections. ``validate_clusters`` makes Envoy reject a route that names an unknown cluster
instead of serving 503 for that share. Pure rendering and parsing; no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

from golive.errors import TransientError
from golive.plan.model import Segment, Split, Sticky
from golive.proxy.envoy_sticky import sticky_filter, sticky_routes
from golive.proxy.upstreams import Upstreams, server_urls

ROUTE_NAME = "golive"
STAT_PREFIX = "ingress"
STATS_LISTENER = "golive_stats"
ADMIN_CLUSTER = "golive_admin"
ADMIN_SOCKET_MODE = 0o600
TOTAL_WEIGHT = 10_000  # weights in hundredths of a percent
LATENCY_BUCKETS_MS = [
    1,
    2,
    5,
    10,
    25,
    50,
    75,
    100,
    150,
    200,
    300,
    500,
    750,
    1000,
    1500,
    2000,
    3000,
    5000,
    10000,
    30000,
]
_ROUTE_TYPE = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
_HCM_TYPE = (
    "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager."
    "v3.HttpConnectionManager"
)
_ROUTER_TYPE = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
_HTTP_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
_PREVIOUS_HOSTS = (
    "type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate"
)
# Envoy keeps an idle upstream connection for an hour by default; application servers close
# theirs much sooner (gunicorn: 2 s, uvicorn: 5 s, Node: 5 s) and a request Envoy sends on one
# they are closing is answered 503. Closing first at 1 s avoids the race.
UPSTREAM_IDLE = "1s"
RETRIES = 1  # bounded: one retry per request
IDEMPOTENT = "^(GET|HEAD|OPTIONS|PUT|DELETE|TRACE)$"
IDEMPOTENT_ROUTE = "idempotent"  # the weighted route again, for idempotent methods


def _cluster(name: str, urls: Sequence[str]) -> dict[str, object]:
    """A cluster of the revision's servers; round robin among them, each with equal weight."""
    endpoints = []
    numeric = True
    for url in urls:
        parts = urlsplit(url)
        host, port = parts.hostname or "127.0.0.1", 80 if parts.port is None else parts.port
        numeric = numeric and host.replace(".", "").isdigit()
        address = {"socket_address": {"address": host, "port_value": port}}
        endpoints.append({"endpoint": {"address": address}})
    return {
        "name": name,
        "type": "STATIC" if numeric else "STRICT_DNS",
        "connect_timeout": "1s",
        "load_assignment": {"cluster_name": name, "endpoints": [{"lb_endpoints": endpoints}]},
        "typed_extension_protocol_options": {
            _HTTP_OPTIONS: {
                "@type": f"type.googleapis.com/{_HTTP_OPTIONS}",
                "common_http_protocol_options": {"idle_timeout": UPSTREAM_IDLE},
                "explicit_http_config": {"http_protocol_options": {}},
            }
        },
    }


def retry_policy(idempotent: bool) -> dict[str, object]:
    """One retry, on another server of the same revision when it has several (the cluster is
    chosen once: a canary's request is never retried on stable). Any method: a refused
    connection, or a reset before the request was sent. Idempotent methods also: a reset
    before any byte of the response (the server closing a kept-alive connection as the request
    arrived)."""
    return {
        "retry_on": "connect-failure,reset"
        if idempotent
        else "connect-failure,reset-before-request",
        "num_retries": RETRIES,
        "retry_host_predicate": [
            {
                "name": "envoy.retry_host_predicates.previous_hosts",
                "typed_config": {"@type": _PREVIOUS_HOSTS},
            }
        ],
        "host_selection_retry_max_attempts": 3,
    }


def bootstrap(
    host: str,
    port: int,
    routes_path: str,
    upstreams: Upstreams,
    sticky: Sticky | None = None,
    *,
    admin_socket: str,
) -> dict[str, object]:
    """Envoy bootstrap: one listener, RDS from ``routes_path``, a static cluster per revision,
    the admin interface on the 0600 unix socket ``admin_socket`` (no TCP port), and a read-only
    stats listener for Prometheus (``stats_listener``)."""
    hcm = {
        "@type": _HCM_TYPE,
        "stat_prefix": STAT_PREFIX,
        "rds": {
            "route_config_name": ROUTE_NAME,
            "config_source": {
                "resource_api_version": "V3",
                "path_config_source": {"path": routes_path},
            },
        },
        "http_filters": [
            *([sticky_filter(sticky)] if sticky else []),
            {"name": "envoy.filters.http.router", "typed_config": {"@type": _ROUTER_TYPE}},
        ],
    }
    return {
        "node": {"id": "golive", "cluster": "golive"},
        "admin": {"address": {"pipe": {"path": admin_socket, "mode": ADMIN_SOCKET_MODE}}},
        "stats_flush_interval": "1s",
        "stats_config": {
            "histogram_bucket_settings": [
                {"match": {"suffix": "upstream_rq_time"}, "buckets": LATENCY_BUCKETS_MS}
            ]
        },
        "static_resources": {
            "listeners": [
                {
                    "name": "ingress",
                    "address": {"socket_address": {"address": host, "port_value": port}},
                    # the port is this Envoy's alone: with reuse (Envoy's default) a second
                    # Envoy binds it too and the kernel splits new connections between them
                    "enable_reuse_port": False,
                    "filter_chains": [
                        {
                            "filters": [
                                {
                                    "name": "envoy.filters.network.http_connection_manager",
                                    "typed_config": hcm,
                                }
                            ]
                        }
                    ],
                },
                stats_listener(),
            ],
            "clusters": [
                *(_cluster(name, urls) for name, urls in server_urls(upstreams).items()),
                _admin_cluster(admin_socket),
            ],
        },
    }


def stats_listener() -> dict[str, object]:
    """A loopback listener (ephemeral port) that answers ``GET /stats/prometheus`` from the
    admin interface and 404 to anything else: Prometheus can scrape Envoy, nobody can drive it.
    """
    stats_route = {
        "match": {
            "path": "/stats/prometheus",
            "headers": [{"name": ":method", "string_match": {"exact": "GET"}}],
        },
        "route": {"cluster": ADMIN_CLUSTER},
    }
    hcm = {
        "@type": _HCM_TYPE,
        "stat_prefix": STATS_LISTENER,
        "normalize_path": True,
        "route_config": {
            "name": STATS_LISTENER,
            "virtual_hosts": [
                {
                    "name": STATS_LISTENER,
                    "domains": ["*"],
                    "routes": [
                        stats_route,
                        {"match": {"prefix": "/"}, "direct_response": {"status": 404}},
                    ],
                }
            ],
        },
        "http_filters": [
            {"name": "envoy.filters.http.router", "typed_config": {"@type": _ROUTER_TYPE}}
        ],
    }
    return {
        "name": STATS_LISTENER,
        "address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}},
        "filter_chains": [
            {"filters": [{"name": "envoy.filters.network.http_connection_manager",
                          "typed_config": hcm}]}
        ],
    }  # fmt: skip


def _admin_cluster(admin_socket: str) -> dict[str, object]:
    address = {"pipe": {"path": admin_socket}}
    return {
        "name": ADMIN_CLUSTER,
        "type": "STATIC",
        "connect_timeout": "1s",
        "load_assignment": {
            "cluster_name": ADMIN_CLUSTER,
            "endpoints": [{"lb_endpoints": [{"endpoint": {"address": address}}]}],
        },
    }


def stats_address(listeners: Mapping[str, object]) -> str | None:
    """``host:port`` of the stats listener, from the admin's ``/listeners?format=json``."""
    for status in listeners.get("listener_statuses", []) or []:  # type: ignore[attr-defined]
        if status.get("name") == STATS_LISTENER:
            socket = status.get("local_address", {}).get("socket_address", {})
            return f"{socket.get('address')}:{socket.get('port_value')}"
    return None


def route_config(split: Split, version: int, sticky: bool = False) -> dict[str, object]:
    """An RDS DiscoveryResponse serving ``split``; ``version`` is read back from Envoy."""
    canary = round(split.canary_weight * TOTAL_WEIGHT / 100)
    routes: list[dict[str, object]] = []
    if split.segment is not None:
        routes.append(
            {
                "name": _segment_name(split.segment),
                "match": {"prefix": "/", "headers": [_header_match(split.segment)]},
                "route": {"cluster": "canary"},
            }
        )
    if sticky:
        routes += sticky_routes(split.canary_weight)
    weighted = {
        "weighted_clusters": {
            "clusters": [
                {"name": "stable", "weight": TOTAL_WEIGHT - canary},
                {"name": "canary", "weight": canary},
            ]
        }
    }
    method = {"name": ":method", "string_match": {"safe_regex": {"regex": IDEMPOTENT}}}
    routes.append(
        {
            "name": IDEMPOTENT_ROUTE,
            "match": {"prefix": "/", "headers": [method]},
            "route": {**weighted, "retry_policy": retry_policy(idempotent=True)},
        }
    )
    routes.append({"match": {"prefix": "/"}, "route": weighted})
    host = {
        "name": "all",
        "domains": ["*"],
        "routes": routes,
        "retry_policy": retry_policy(idempotent=False),
    }
    return {
        "version_info": str(version),
        "resources": [
            {
                "@type": _ROUTE_TYPE,
                "name": ROUTE_NAME,
                "validate_clusters": True,
                "virtual_hosts": [host],
            }
        ],
    }


def _segment_name(segment: Segment) -> str:
    """The segment route's name: how golive reads the segment back from Envoy."""
    kind = "cookie" if segment.cookie else "header"
    return f"segment:{kind}:{segment.header}" + (
        "" if segment.value is None else f"={segment.value}"
    )


def _segment_from_name(name: str) -> Segment | None:
    kind, _, rest = name.removeprefix("segment:").partition(":")
    if not name.startswith("segment:") or kind not in ("cookie", "header"):
        return None
    header, _, value = rest.partition("=")
    return Segment(header, value or None, cookie=kind == "cookie")


def _header_match(segment: Segment) -> dict[str, object]:
    if segment.cookie:
        value = "[^;]*" if segment.value is None else re.escape(segment.value)
        regex = rf"(^|.*;\s*){re.escape(segment.header)}={value}(;.*|$)"
        return {"name": "cookie", "string_match": {"safe_regex": {"regex": regex}}}
    if segment.value is None:
        return {"name": segment.header, "present_match": True}
    return {"name": segment.header, "string_match": {"exact": segment.value}}


def parse_served(config_dump: Mapping[str, object]) -> tuple[Split, str]:
    """The split and version Envoy serves, from ``/config_dump?resource=dynamic_route_configs``."""
    for config in config_dump.get("configs", []) or []:  # type: ignore[attr-defined]
        route = config.get("route_config", {})
        if route.get("name") != ROUTE_NAME:
            continue
        return _split_of(route), str(config.get("version_info", ""))
    raise TransientError("Envoy has not loaded golive's route configuration yet")


def _split_of(route: Mapping[str, object]) -> Split:
    hosts = route.get("virtual_hosts") or []
    routes = hosts[0].get("routes", []) if hosts else []  # type: ignore[index]
    segment: Segment | None = None
    weight = 0.0
    for r in routes:
        headers = r.get("match", {}).get("headers")
        action = r.get("route", {})
        if str(r.get("name", "")).startswith("sticky:") or r.get("name") == IDEMPOTENT_ROUTE:
            continue  # derived from the weight, which the weighted route carries
        if headers:
            h = headers[0]
            exact = h.get("string_match", {}).get("exact")
            segment = _segment_from_name(str(r.get("name", ""))) or Segment(h["name"], exact)
        elif "weighted_clusters" in action:
            clusters = {
                c["name"]: int(c.get("weight", 0)) for c in action["weighted_clusters"]["clusters"]
            }
            total = sum(clusters.values()) or 1
            weight = round(clusters.get("canary", 0) * 100 / total, 2)
        elif action.get("cluster") == "canary":
            weight = 100.0
    return Split(weight, segment)
