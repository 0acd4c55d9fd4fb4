"""A fleet of two real HAProxy instances driven as one router, from a plan."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from golive.engine.providers import build_providers
from golive.errors import TransientError
from golive.plan.loader import parse_plan
from golive.plan.model import Revision, Split
from golive.processes import terminate
from golive.traffic.fleet import FleetRouter
from golive.traffic.haproxy import HAProxyRouter
from tests.conftest import free_port, wait_verified

pytestmark = pytest.mark.integration


async def test_two_proxies_move_together_and_one_down_is_seen(
    tmp_path: Path, apps: dict[str, int]
) -> None:
    ports = [free_port(), free_port()]
    plan = parse_plan(
        f"""\
service: shop
revisions:
  stable: {{version: 1, url: "http://127.0.0.1:{apps["stable"]}"}}
  canary: {{version: 2, url: "http://127.0.0.1:{apps["canary"]}"}}
route: {{router: haproxy, listen: ["127.0.0.1:{ports[0]}", "127.0.0.1:{ports[1]}"]}}
steps:
  - shift: 50
""",
        "plan.yaml",
    )
    providers = build_providers(plan, tmp_path)
    fleet = providers.router
    assert isinstance(fleet, FleetRouter)
    proxies = [r for r in fleet.routers if isinstance(r, HAProxyRouter)]
    try:
        assert await providers.start(Split.all_stable())
        await fleet.apply(Split(50.0))
        await wait_verified(fleet, Split(50.0))
        async with httpx.AsyncClient(trust_env=False) as client:
            for port in ports:
                versions = [
                    (await client.get(f"http://127.0.0.1:{port}/")).json()["version"]
                    for _ in range(20)
                ]
                assert versions.count("2.0.0") == 10  # each proxy serves the split
        snap = await providers.metrics.sample(Revision.CANARY)
        assert snap.requests == 20  # summed over both proxies
        pid = proxies[1]._pid()
        assert pid is not None
        await terminate(pid)
        with pytest.raises(TransientError, match=f"proxy 127.0.0.1:{ports[1]} of the fleet"):
            await fleet.observe()
    finally:
        for proxy in proxies:
            await proxy.stop()
        await providers.close()
