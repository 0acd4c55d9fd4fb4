"""A canary whose every worker is killed costs as few requests as the proxy allows.

Until golive's own probe sees the canary down and writes 0%, the proxy decides what happens
to the canary's share: HAProxy redispatches a refused request to stable (one retry); nginx
takes a failed canary server out of the weighted upstream (never the stable: its share goes to
stable); Envoy retries a refused request on another server of the same revision.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import httpx
import pytest

from golive.plan.model import Split
from golive.proxy.ports import free_port
from golive.traffic.envoy import EnvoyRouter
from tests.conftest import running_envoy, running_haproxy, running_nginx, wait_verified
from tests.realapp import gunicorn_apps

pytestmark = pytest.mark.integration
STARTERS = {"haproxy": running_haproxy, "nginx": running_nginx}
ALLOWED = {"haproxy": 0, "nginx": 1}  # nginx learns from the first failed request


async def answers(port: int, n: int) -> Counter[str]:
    seen: Counter[str] = Counter()
    async with httpx.AsyncClient(trust_env=False, timeout=15) as client:
        for _ in range(n):
            resp = await client.get(f"http://127.0.0.1:{port}/get")
            seen[f"{resp.status_code} {resp.headers.get('x-version', '-')}"] += 1
    return seen


@pytest.mark.parametrize("router_kind", sorted(STARTERS))
async def test_a_dead_canarys_share_is_served_by_stable_until_golive_rolls_back(
    tmp_path: Path, router_kind: str
) -> None:
    with gunicorn_apps("1.0.0", "2.0.0") as (stable, canary):
        apps = {"stable": stable.port, "canary": canary.port}
        async with STARTERS[router_kind](tmp_path / router_kind, apps) as router:
            await router.apply(Split(25.0))
            await wait_verified(router, Split(25.0))
            canary.kill()
            seen = await answers(router.port, 12)
    failed = sum(n for key, n in seen.items() if not key.startswith("200"))
    assert failed <= ALLOWED[router_kind], seen
    assert seen["200 1.0.0"] == 12 - failed, seen


async def test_envoy_retries_a_refused_request_on_the_revisions_other_server(
    tmp_path: Path,
) -> None:
    with gunicorn_apps("1.0.0", "2.0.0", "2.0.0") as (stable, canary, canary2):
        upstreams = {"stable": (stable.url,), "canary": (canary.url, canary2.url)}
        router = EnvoyRouter(tmp_path / "envoy", "127.0.0.1", free_port(), upstreams)  # type: ignore[arg-type]
        assert await router.start(Split(100.0))
        try:
            canary.kill()
            seen = await answers(router.port, 12)
        finally:
            await router.stop()
            await router.aclose()
    assert seen == Counter({"200 2.0.0": 12})


async def test_envoy_a_dead_canary_fails_its_share_until_golive_writes_zero(
    tmp_path: Path,
) -> None:
    """One server, dead: nothing in the revision to retry on, and Envoy never moves a weighted
    cluster's share (outlier detection and health checks leave a one-host cluster in panic)."""
    with gunicorn_apps("1.0.0", "2.0.0") as (stable, canary):
        apps = {"stable": stable.port, "canary": canary.port}
        async with running_envoy(tmp_path / "envoy", apps) as router:
            await router.apply(Split(100.0))
            await wait_verified(router, Split(100.0))
            canary.kill()
            dead = await answers(router.port, 4)
            await router.apply(Split.all_stable())
            await wait_verified(router, Split.all_stable())
            safe = await answers(router.port, 4)
    assert dead == Counter({"503 -": 4})
    assert safe == Counter({"200 1.0.0": 4})
