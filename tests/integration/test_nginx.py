"""NginxRouter and NginxLog against a real nginx (apt) and real sample apps on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from golive.metrics.nginx import NginxLog
from golive.plan.model import Revision, Segment, Split
from golive.traffic.nginx import NginxRouter
from tests.conftest import running_nginx, wait_verified

pytestmark = pytest.mark.integration


@pytest.fixture
async def nginx(tmp_path: Path, apps: dict[str, int]) -> AsyncIterator[NginxRouter]:
    async with running_nginx(tmp_path / "nginx", apps) as router:
        yield router


def versions(router: NginxRouter, n: int, headers: dict[str, str] | None = None) -> Counter[str]:
    seen: Counter[str] = Counter()
    with httpx.Client(trust_env=False, timeout=5.0) as client:
        for _ in range(n):
            answer = client.get(f"http://127.0.0.1:{router.port}/", headers=headers)
            seen[answer.json()["version"]] += 1
    return seen


async def test_weights_segments_and_the_access_log_counts(nginx: NginxRouter) -> None:
    log = NginxLog(
        nginx.log_path,
        {
            nginx.upstreams[n][0].removeprefix("http://"): r
            for n, r in (("stable", Revision.STABLE), ("canary", Revision.CANARY))
        },
    )
    await nginx.apply(Split(25.0, Segment("x-beta-user", "yes")))
    await wait_verified(nginx, Split(25.0, Segment("x-beta-user", "yes")))
    seen = await asyncio.to_thread(versions, nginx, 200)
    assert 45 <= seen["2.0.0"] <= 55
    beta = await asyncio.to_thread(versions, nginx, 20, {"x-beta-user": "yes"})
    assert beta == Counter({"2.0.0": 20})
    for _ in range(50):  # nginx writes its log line after the answer
        stable, canary = await log.sample(Revision.STABLE), await log.sample(Revision.CANARY)
        if stable.requests + canary.requests == 220:
            break
        await asyncio.sleep(0.02)
    assert (stable.requests, canary.requests) == (seen["1.0.0"], seen["2.0.0"] + 20)
    assert canary.errors == 0 and max(canary.latency_ms_buckets.values()) == canary.requests


async def test_a_second_start_attaches(nginx: NginxRouter) -> None:
    await nginx.apply(Split(30.0))
    await wait_verified(nginx, Split(30.0))
    again = NginxRouter(nginx.workdir, nginx.host, nginx.port, dict(nginx.upstreams))
    assert await again.start(Split.all_stable()) is False
    assert await again.observe() == Split(30.0)


async def test_the_access_log_is_counted_once_however_samples_interleave(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    path.write_text("")
    log = NginxLog(path, {"127.0.0.1:1": Revision.STABLE, "127.0.0.1:2": Revision.CANARY})
    for i in range(200):
        with path.open("a") as f:  # nginx appends while golive samples both revisions at once
            f.write(f"1.0 127.0.0.1:{1 + i % 2} {500 if i % 10 == 0 else 200} 0.012\n")
            if i % 7 == 0:
                f.write("2.0 127.0.0.1:2 200 0.0")  # a line still being written
        await asyncio.gather(log.sample(Revision.STABLE), log.sample(Revision.CANARY))
        if i % 7 == 0:
            with path.open("a") as f:
                f.write("40\n")
    stable, canary = await log.sample(Revision.STABLE), await log.sample(Revision.CANARY)
    assert (stable.requests, canary.requests) == (100, 100 + 29)
    assert stable.errors == 20 and canary.errors == 0
