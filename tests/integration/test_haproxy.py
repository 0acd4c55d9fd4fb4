"""HAProxyRouter against a real HAProxy (apt) and real sample apps on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from golive.errors import PermanentError
from golive.plan.model import Segment, Split
from golive.processes import live_pid, record_pid
from golive.traffic.haproxy import HAProxyRouter, haproxy_binary
from tests.conftest import running_haproxy, wait_verified

pytestmark = pytest.mark.integration


@pytest.fixture
async def haproxy(tmp_path: Path, apps: dict[str, int]) -> AsyncIterator[HAProxyRouter]:
    async with running_haproxy(tmp_path / "haproxy", apps) as router:
        yield router


def versions(router: HAProxyRouter, n: int, headers: dict[str, str] | None = None) -> Counter[str]:
    seen: Counter[str] = Counter()
    with httpx.Client(trust_env=False, timeout=5.0) as client:
        for _ in range(n):
            seen[
                client.get(f"http://127.0.0.1:{router.port}/", headers=headers).json()["version"]
            ] += 1
    return seen


async def test_weights_and_segments_are_served(haproxy: HAProxyRouter) -> None:
    await haproxy.apply(Split(25.0, Segment("x-beta-user", "yes")))
    await wait_verified(haproxy, Split(25.0, Segment("x-beta-user", "yes")))
    seen = await asyncio.to_thread(versions, haproxy, 200)
    assert 45 <= seen["2.0.0"] <= 55  # roundrobin: a quarter, give or take its position
    beta = await asyncio.to_thread(versions, haproxy, 20, {"x-beta-user": "yes"})
    assert beta == Counter({"2.0.0": 20})
    other = await asyncio.to_thread(versions, haproxy, 40, {"x-beta-user": "no"})
    assert other["1.0.0"] == 30  # another value is not the segment


async def test_a_reload_keeps_the_weights(haproxy: HAProxyRouter) -> None:
    await haproxy.apply(Split(30.0))
    old = live_pid(haproxy.pid_path)
    assert old is not None
    new_pid_file = haproxy.workdir / "reloaded.pid"
    proc = await asyncio.create_subprocess_exec(  # what a `systemctl reload` does
        haproxy_binary(), "-D", "-p", str(new_pid_file), "-f", str(haproxy.config_path),
        "-sf", str(old), stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert await proc.wait() == 0
    new_pid = int(new_pid_file.read_text())
    record_pid(haproxy.pid_path, new_pid)  # so the fixture stops the new one by its pid
    for _ in range(100):
        try:
            if f"Pid: {new_pid}" in await haproxy.command("show info"):
                break
        except Exception:
            pass
        await asyncio.sleep(0.05)
    assert await haproxy.observe() == Split(30.0)


async def test_a_bad_configuration_is_refused_before_anything_runs(
    tmp_path: Path, apps: dict[str, int]
) -> None:
    upstreams = {name: f"http://127.0.0.1:{port}" for name, port in apps.items()}
    router = HAProxyRouter(tmp_path / "bad", "127.0.0.1", 70000, upstreams)  # no such port
    with pytest.raises(PermanentError, match="HAProxy refused the configuration"):
        await router.start(Split.all_stable())
    assert not router.pid_path.exists()


async def test_a_second_start_attaches_instead_of_starting_another(haproxy: HAProxyRouter) -> None:
    await haproxy.apply(Split(10.0))
    again = HAProxyRouter(
        haproxy.workdir, haproxy.host, haproxy.port, haproxy.upstreams, tuple(haproxy.maps)
    )
    assert await again.start(Split.all_stable()) is False
    assert await again.observe() == Split(10.0)


async def test_haproxy_stats_count_each_revisions_requests_and_errors(
    haproxy: HAProxyRouter,
) -> None:
    from golive.metrics.haproxy import HAProxyStats
    from golive.plan.model import Revision

    stats = HAProxyStats(haproxy.command)
    await haproxy.apply(Split(50.0, Segment("x-beta-user")))
    await asyncio.to_thread(versions, haproxy, 100)
    await asyncio.to_thread(versions, haproxy, 10, {"x-beta-user": "1"})
    stable, canary = await stats.sample(Revision.STABLE), await stats.sample(Revision.CANARY)
    assert stable.requests + canary.requests == 110
    assert 45 <= stable.requests <= 55  # half of the 100; the 10 beta requests are all canary's
    assert (stable.errors, canary.errors) == (0, 0)
    assert stable.latency_ms_buckets == {}  # HAProxy keeps no latency histogram
    assert await stats.in_flight(Revision.CANARY) == 0
