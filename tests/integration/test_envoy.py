"""EnvoyRouter and EnvoyStats against a real Envoy and real sample apps on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from golive.metrics.envoy import EnvoyStats
from golive.plan.model import Revision, Segment, Split
from golive.traffic.envoy import EnvoyRouter
from tests.conftest import start_app, wait_verified

pytestmark = pytest.mark.integration


def url(router: EnvoyRouter) -> str:
    return f"http://127.0.0.1:{router.port}/"


async def test_weights_are_served_in_proportion(envoy: EnvoyRouter) -> None:
    await envoy.apply(Split(25.0))
    await wait_verified(envoy, Split(25.0))
    async with httpx.AsyncClient(trust_env=False) as client:
        versions = [(await client.get(url(envoy))).headers["x-version"] for _ in range(400)]
    share = versions.count("2.0.0") / len(versions)
    assert 0.15 < share < 0.35


async def test_header_segment_routes_beta_users_to_the_canary(envoy: EnvoyRouter) -> None:
    await envoy.apply(Split(0.0, Segment("x-beta-user")))
    await wait_verified(envoy, Split(0.0, Segment("x-beta-user")))
    async with httpx.AsyncClient(trust_env=False) as client:
        beta = {
            (await client.get(url(envoy), headers={"x-beta-user": "1"})).headers["x-version"]
            for _ in range(20)
        }
        others = {(await client.get(url(envoy))).headers["x-version"] for _ in range(20)}
    assert beta == {"2.0.0"} and others == {"1.0.0"}


async def test_stats_count_requests_errors_and_latency_per_revision(tmp_path, apps) -> None:  # type: ignore[no-untyped-def]
    failing, port = start_app("2.0.0-bad", error_rate=1.0)
    router = EnvoyRouter(
        tmp_path / "e",
        "127.0.0.1",
        __import__("tests.conftest").conftest.free_port(),
        {"stable": f"http://127.0.0.1:{apps['stable']}", "canary": f"http://127.0.0.1:{port}"},
    )
    await router.start(Split(100.0))
    stats = EnvoyStats(router.admin_socket)
    try:
        before = await stats.sample(Revision.CANARY)
        async with httpx.AsyncClient(trust_env=False) as client:
            codes = [(await client.get(url(router))).status_code for _ in range(30)]
        assert codes == [500] * 30
        # histograms update on Envoy's stats flush (1 s): wait for it, not for a fixed time
        deadline = asyncio.get_running_loop().time() + 15
        while True:
            after = await stats.sample(Revision.CANARY)
            inf = float("inf")
            seen = after.latency_ms_buckets[inf] - before.latency_ms_buckets.get(inf, 0)
            if seen >= 30 or asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.1)
        assert after.requests - before.requests == 30
        assert after.errors - before.errors == 30
        assert (
            after.latency_ms_buckets[float("inf")] - before.latency_ms_buckets.get(float("inf"), 0)
            == 30
        )
        failing.terminate()
        failing.wait(5)
        async with httpx.AsyncClient(trust_env=False) as client:
            refused = [(await client.get(url(router))).status_code for _ in range(5)]
        assert refused == [503] * 5
        dead = await stats.sample(Revision.CANARY)
        assert dead.requests - after.requests == 5 and dead.errors - after.errors == 5
    finally:
        await router.stop()
        await router.aclose()
        await stats.aclose()


async def test_a_rejected_route_file_leaves_traffic_untouched(envoy: EnvoyRouter) -> None:
    await envoy.apply(Split(50.0))
    await wait_verified(envoy, Split(50.0))
    rejected = await envoy.rejected_updates()
    bad = json.loads(envoy.routes_path.read_text())
    clusters = bad["resources"][0]["virtual_hosts"][0]["routes"][-1]["route"]["weighted_clusters"]
    clusters["clusters"][1]["name"] = "no-such-cluster"
    bad["version_info"] = "999"
    from golive.atomic import write_atomically

    write_atomically(envoy.routes_path, json.dumps(bad))
    for _ in range(100):
        if await envoy.rejected_updates() > rejected:
            break
        await asyncio.sleep(0.01)
    assert await envoy.rejected_updates() == rejected + 1
    assert await envoy.observe() == Split(50.0)
    async with httpx.AsyncClient(trust_env=False) as client:
        codes = {(await client.get(url(envoy))).status_code for _ in range(40)}
    assert codes == {200}


async def test_a_second_controller_attaches_to_the_running_envoy(envoy: EnvoyRouter) -> None:
    await envoy.apply(Split(5.0))
    await wait_verified(envoy, Split(5.0))
    again = EnvoyRouter(envoy.workdir, envoy.host, envoy.port, envoy.upstreams)
    try:
        assert await again.start(Split.all_stable()) is False  # attached, not restarted
        assert await again.observe() == Split(5.0)
        await again.apply(Split(25.0))
        await wait_verified(again, Split(25.0))
    finally:
        await again.aclose()


async def test_a_busy_port_is_a_clear_error(tmp_path, apps) -> None:  # type: ignore[no-untyped-def]
    import socket

    from golive.errors import PermanentError

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        router = EnvoyRouter(
            tmp_path / "e",
            "127.0.0.1",
            port,
            {
                "stable": f"http://127.0.0.1:{apps['stable']}",
                "canary": f"http://127.0.0.1:{apps['canary']}",
            },
        )
        with pytest.raises(PermanentError, match=f"Envoy did not start on 127.0.0.1:{port}"):
            await router.start(Split.all_stable())
        await router.aclose()
