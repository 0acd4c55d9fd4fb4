"""Several servers per revision, from a plan, on each real router: the revision's servers share
its weight, and the metric source counts all of them as that revision."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import pytest

from golive.engine.providers import build_providers
from golive.plan.loader import parse_plan
from golive.plan.model import Revision, Split
from golive.traffic.envoy import EnvoyRouter
from golive.traffic.haproxy import HAProxyRouter
from golive.traffic.nginx import NginxRouter
from tests.conftest import free_port, wait_verified

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("router", ["envoy", "haproxy", "nginx"])
async def test_a_revisions_servers_share_its_weight(
    router: str, servers: dict[str, int], tmp_path: object
) -> None:
    port = free_port()
    plan = parse_plan(
        f"""\
service: shop
revisions:
  stable:
    version: 1
    url: ["http://127.0.0.1:{servers["1.0.0-a"]}", "http://127.0.0.1:{servers["1.0.0-b"]}"]
  canary: {{version: 2, url: "http://127.0.0.1:{servers["2.0.0"]}"}}
route: {{router: {router}, listen: "127.0.0.1:{port}"}}
steps:
  - shift: 25
""",
        "plan.yaml",
    )
    providers = build_providers(plan, tmp_path)  # type: ignore[arg-type]
    proxy = providers.router
    assert isinstance(proxy, EnvoyRouter | HAProxyRouter | NginxRouter)
    try:
        await providers.start(Split.all_stable())
        await proxy.apply(Split(25.0))
        await wait_verified(proxy, Split(25.0))
        seen: Counter[str] = Counter()
        async with httpx.AsyncClient(trust_env=False, timeout=5.0) as client:
            for _ in range(400):
                seen[(await client.get(f"http://127.0.0.1:{port}/")).json()["version"]] += 1
        assert 60 <= seen["2.0.0"] <= 140, seen  # a quarter of 400
        assert abs(seen["1.0.0-a"] - seen["1.0.0-b"]) <= 60, seen  # stable's servers share
        for _ in range(50):  # nginx logs a request after answering it
            stable = await providers.metrics.sample(Revision.STABLE)
            canary = await providers.metrics.sample(Revision.CANARY)
            if stable.requests + canary.requests >= 400:
                break
            await asyncio.sleep(0.02)
        assert stable.requests == seen["1.0.0-a"] + seen["1.0.0-b"]
        assert canary.requests == seen["2.0.0"]
    finally:
        await proxy.stop()
        await providers.close()
