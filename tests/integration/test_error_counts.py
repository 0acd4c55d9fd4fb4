"""Each failed request is one error, once, on every router's metric source.

The canary has two servers, one healthy and one failing (refused, reset, closed cleanly, or
never answering until the proxy's timeout, lowered to 1 s here), so its traffic mixes
successes and failures: a source that counts a failure twice reads more errors than clients
got. Retries are off here (each request is one attempt); with them, Envoy counts a request once
by its final answer and HAProxy counts each attempt on the server it went to. Envoy counts refused connections in ``upstream_rq_5xx`` already (adding
``upstream_cx_connect_fail`` counted them twice); HAProxy counts a reset response twice in
``eresp``.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import httpx
import pytest

from golive.analysis.snapshot import Snapshot
from golive.demo.app import start_sample_app
from golive.metrics.envoy import EnvoyStats
from golive.metrics.haproxy import HAProxyStats
from golive.metrics.nginx import NginxLog
from golive.plan.model import Revision, Split
from golive.proxy import envoy_config, haproxy_config, nginx_config
from golive.traffic.envoy import EnvoyRouter
from golive.traffic.haproxy import HAProxyRouter
from golive.traffic.nginx import NginxRouter
from tests.broken import KINDS, broken_upstream
from tests.conftest import free_port

pytestmark = pytest.mark.integration
ROUTERS = {"envoy": EnvoyRouter, "haproxy": HAProxyRouter, "nginx": NginxRouter}
REQUESTS = 12


def without_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each request one attempt: what is counted, not what a retry rescues (tested in
    test_dying_canary and test_upstream_keepalive)."""
    routes, haproxy = envoy_config.route_config, haproxy_config.render

    def envoy_routes(*args, **kwargs):  # type: ignore[no-untyped-def]
        doc = routes(*args, **kwargs)
        host = doc["resources"][0]["virtual_hosts"][0]
        host.pop("retry_policy", None)
        for route in host["routes"]:
            route["route"].pop("retry_policy", None)
        return doc

    monkeypatch.setattr(envoy_config, "route_config", envoy_routes)
    monkeypatch.setattr(
        haproxy_config, "render", lambda *a, **k: haproxy(*a, **k).replace("retries 1", "retries 0")
    )


def one_second_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    """The proxies' upstream timeouts lowered to 1 s in the configurations golive renders."""
    routes, haproxy, nginx = envoy_config.route_config, haproxy_config.render, nginx_config.render

    def envoy_routes(*args, **kwargs):  # type: ignore[no-untyped-def]
        doc = routes(*args, **kwargs)
        for route in doc["resources"][0]["virtual_hosts"][0]["routes"]:
            route["route"]["timeout"] = "1s"
        return doc

    monkeypatch.setattr(envoy_config, "route_config", envoy_routes)
    monkeypatch.setattr(
        haproxy_config,
        "render",
        lambda *a, **k: haproxy(*a, **k).replace("timeout server 60s", "timeout server 1s"),
    )
    monkeypatch.setattr(
        nginx_config,
        "render",
        lambda *a, **k: nginx(*a, **k).replace(
            "proxy_next_upstream off;", "proxy_next_upstream off; proxy_read_timeout 1s;"
        ),
    )


def source(router: object, canary: tuple[str, ...]):  # type: ignore[no-untyped-def]
    if isinstance(router, EnvoyRouter):
        return EnvoyStats(router.admin_socket)
    if isinstance(router, HAProxyRouter):
        return HAProxyStats(router.api.command, router.servers)
    assert isinstance(router, NginxRouter)
    return NginxLog(
        router.log_path, {url.removeprefix("http://"): Revision.CANARY for url in canary}
    )


async def counted(metric, want: int) -> Snapshot:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while True:  # nginx logs after answering
        snap: Snapshot = await metric.sample(Revision.CANARY)
        if snap.requests >= want or loop.time() > deadline:
            return snap
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("router_kind", sorted(ROUTERS))
async def test_a_failed_request_is_one_error_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, router_kind: str, kind: str
) -> None:
    without_retries(monkeypatch)
    if kind == "hang":
        one_second_timeouts(monkeypatch)
    healthy, healthy_port = start_sample_app("2.0.0", latency_ms=1)
    try:
        async with broken_upstream(kind) as broken_port:
            canary = (f"http://127.0.0.1:{healthy_port}", f"http://127.0.0.1:{broken_port}")
            upstreams = {"stable": (f"http://127.0.0.1:{free_port()}",), "canary": canary}
            router = ROUTERS[router_kind](
                tmp_path / router_kind, "127.0.0.1", free_port(), upstreams
            )  # type: ignore[arg-type]
            assert await router.start(Split(100.0))
            metric = source(router, canary)
            try:
                seen: Counter[int] = Counter()
                async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
                    for _ in range(REQUESTS):
                        url = f"http://127.0.0.1:{router.port}/"
                        seen[
                            (await client.get(url, headers={"connection": "close"})).status_code
                        ] += 1
                snap = await counted(metric, REQUESTS)
            finally:
                await metric.aclose()
                await router.stop()
                await router.aclose()
    finally:
        healthy.terminate()
        healthy.wait(10)
    failed = sum(n for status, n in seen.items() if status >= 500)
    assert 0 < failed < REQUESTS, (seen, snap)  # the canary's traffic mixes successes and failures
    assert (snap.requests, snap.errors) == (REQUESTS, failed), seen
