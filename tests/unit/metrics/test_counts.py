"""A failed request is one request and one error, from each proxy's counters as measured
(benchmarks/error_counts.py): Envoy's 5xx already include refusals; HAProxy's eresp counts a
reset twice and its stot counts every retry."""

from __future__ import annotations

from golive.metrics.envoy import parse_cluster
from golive.metrics.haproxy import server_snapshot

ENVOY = """\
envoy_cluster_upstream_cx_connect_fail{envoy_cluster_name="canary"} 6
envoy_cluster_upstream_rq_completed{envoy_cluster_name="canary"} 12
envoy_cluster_upstream_rq_xx{envoy_response_code_class="2",envoy_cluster_name="canary"} 6
envoy_cluster_upstream_rq_xx{envoy_response_code_class="5",envoy_cluster_name="canary"} 6
"""


def test_envoy_refused_connections_are_counted_once() -> None:
    snap = parse_cluster(ENVOY, "canary")
    assert (snap.requests, snap.errors) == (12, 6)


def row(**counters: int) -> dict[str, str]:
    return {"pxname": "golive", "svname": "canary", **{k: str(v) for k, v in counters.items()}}


def test_haproxy_a_reset_is_one_request_and_one_error() -> None:
    snap = server_snapshot([row(stot=12, hrsp_2xx=6, eresp=12)], ("canary",))
    assert (snap.requests, snap.errors) == (12, 6)


def test_haproxy_retries_of_a_refused_request_are_not_requests() -> None:
    snap = server_snapshot([row(stot=40, wretr=15, hrsp_2xx=20, econ=5)], ("canary",))
    assert (snap.requests, snap.errors) == (25, 5)


def test_haproxy_a_5xx_answered_by_the_server_is_an_error() -> None:
    snap = server_snapshot([row(stot=10, hrsp_2xx=7, hrsp_5xx=3)], ("canary",))
    assert (snap.requests, snap.errors) == (10, 3)
