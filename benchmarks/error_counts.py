"""What each proxy counts when an upstream request fails: refused, reset, closed, timed out.

For each router and failure kind, 100% of traffic goes to a canary that fails that way
(``tests/broken.py``); 10 requests are sent; the script prints what the clients got, the
proxy's own counters for the canary, and what golive's metric source reads (requests, errors).
The proxies' timeouts are lowered to 1 s for the "hang" case only. Bounded: 10 requests per
case, 12 cases, about 30 s in all.

    .venv/bin/python -m benchmarks.error_counts [envoy|haproxy|nginx]
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
from tests.broken import KINDS, broken_upstream

from golive.demo.app import start_sample_app
from golive.metrics.envoy import EnvoyStats
from golive.metrics.haproxy import HAProxyStats
from golive.metrics.nginx import NginxLog
from golive.plan.model import Revision, Split
from golive.proxy import envoy_config, haproxy_config, nginx_config
from golive.proxy.ports import free_port
from golive.traffic.envoy import EnvoyRouter
from golive.traffic.haproxy import HAProxyRouter
from golive.traffic.nginx import NginxRouter

REQUESTS = 10
CLOSE = {"connection": "close"}  # one connection per request: no client keep-alive race


@contextlib.contextmanager
def short_timeouts() -> Iterator[None]:
    """Proxy timeouts of 1 s (the rendered configurations, changed for this measure only)."""
    saved = envoy_config.route_config, haproxy_config.render, nginx_config.render

    def envoy_routes(*args, **kwargs):  # type: ignore[no-untyped-def]
        doc = saved[0](*args, **kwargs)
        for route in doc["resources"][0]["virtual_hosts"][0]["routes"]:
            route["route"]["timeout"] = "1s"
        return doc

    def haproxy(*args, **kwargs):  # type: ignore[no-untyped-def]
        return saved[1](*args, **kwargs).replace("timeout server 60s", "timeout server 1s")

    def nginx(*args, **kwargs):  # type: ignore[no-untyped-def]
        return saved[2](*args, **kwargs).replace(
            "proxy_next_upstream off;", "proxy_next_upstream off; proxy_read_timeout 1s;"
        )

    envoy_config.route_config, haproxy_config.render, nginx_config.render = (  # type: ignore[assignment]
        envoy_routes,
        haproxy,
        nginx,
    )
    try:
        yield
    finally:
        envoy_config.route_config, haproxy_config.render, nginx_config.render = saved  # type: ignore[assignment]


async def raw_counters(kind: str, router: object) -> dict[str, int]:
    if isinstance(router, EnvoyRouter):
        resp = await router.admin.get(
            "/stats", {"format": "json", "filter": r"^cluster\.canary\.upstream_(rq|cx)_"}
        )
        return {
            s["name"].removeprefix("cluster.canary."): int(s["value"])
            for s in resp.json()["stats"]
            if s.get("value")
        }
    if isinstance(router, HAProxyRouter):
        from golive.metrics.haproxy import parse_stat

        rows = parse_stat(await router.api.command("show stat"))
        out: Counter[str] = Counter()
        for row in rows:
            if row.get("svname") == "canary":
                for key in (
                    "stot",
                    "req_tot",
                    "econ",
                    "eresp",
                    "hrsp_2xx",
                    "hrsp_5xx",
                    "wretr",
                    "wredis",
                    "srv_abrt",
                    "cli_abrt",
                ):
                    out[key] += int(row.get(key) or 0)
            if row.get("pxname") == "golive" and row.get("svname") == "BACKEND":
                out["backend_hrsp_5xx"] += int(row.get("hrsp_5xx") or 0)
        return {k: v for k, v in out.items() if v}
    assert isinstance(router, NginxRouter)
    lines = router.log_path.read_text().splitlines()
    return dict(Counter(" ".join(line.split()[1:3]) for line in lines))


def source(router: object, canary_port: int) -> object:
    if isinstance(router, EnvoyRouter):
        return EnvoyStats(router.admin_socket)
    if isinstance(router, HAProxyRouter):
        return HAProxyStats(router.api.command)
    assert isinstance(router, NginxRouter)
    return NginxLog(router.log_path, {f"127.0.0.1:{canary_port}": Revision.CANARY})


async def case(router_kind: str, failure: str, stable_port: int) -> None:
    kinds = {"envoy": EnvoyRouter, "haproxy": HAProxyRouter, "nginx": NginxRouter}
    async with broken_upstream(failure) as canary_port:
        upstreams = {
            "stable": f"http://127.0.0.1:{stable_port}",
            "canary": f"http://127.0.0.1:{canary_port}",
        }
        with tempfile.TemporaryDirectory(prefix="golive-errors-") as tmp:
            with short_timeouts() if failure == "hang" else contextlib.nullcontext():
                router = kinds[router_kind](
                    Path(tmp) / router_kind, "127.0.0.1", free_port(), upstreams
                )
                await router.start(Split(100.0))
            try:
                seen: Counter[int | str] = Counter()
                async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
                    for _ in range(REQUESTS):
                        try:
                            resp = await client.get(
                                f"http://127.0.0.1:{router.port}/", headers=CLOSE
                            )
                            seen[resp.status_code] += 1
                        except httpx.HTTPError as exc:  # the proxy closed without an answer
                            seen[type(exc).__name__] += 1
                await asyncio.sleep(1.5)  # Envoy flushes stats every second
                counters = await raw_counters(router_kind, router)
                metric = source(router, canary_port)
                snap = await metric.sample(Revision.CANARY)  # type: ignore[attr-defined]
                await metric.aclose()  # type: ignore[attr-defined]
                print(
                    f"{router_kind:8} {failure:8} clients {dict(seen)}  golive reads "
                    f"requests={snap.requests} errors={snap.errors}\n"
                    f"{'':18}{json.dumps(counters)}"
                )
            finally:
                await router.stop()
                await router.aclose()


async def main(routers: list[str]) -> None:
    proc, stable_port = start_sample_app("1.0.0", latency_ms=1)
    try:
        for router_kind in routers:
            for failure in KINDS:
                await asyncio.wait_for(case(router_kind, failure, stable_port), 60)
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:] or ["envoy", "haproxy", "nginx"]))
