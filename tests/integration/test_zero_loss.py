"""Every real router shifts 0 -> 100 -> 0 under keep-alive load without losing a request."""

from __future__ import annotations

import asyncio

import pytest

from golive.demo.load import LoadGenerator
from golive.plan.model import Split
from tests.conftest import wait_verified

pytestmark = pytest.mark.integration


async def test_shifting_under_keep_alive_load_loses_no_request(real_router: object) -> None:
    router = real_router
    url = f"http://127.0.0.1:{router.port}/"  # type: ignore[attr-defined]
    load = LoadGenerator(url, rate=200, max_requests=2400, max_seconds=15, concurrency=8)
    task = asyncio.create_task(load.run())
    for weight in (0, 1, 5, 25, 50, 100, 0):
        await router.apply(Split(float(weight)))  # type: ignore[attr-defined]
        await wait_verified(router, Split(float(weight)))
        await asyncio.sleep(0.4)
    load.stop()
    stats = await task
    assert stats.sent > 300
    # an nginx reload closes idle keep-alive connections; clients resend (RFC 9112 9.3.1)
    assert (stats.failed, stats.errors) == (0, 0)
    assert stats.by_version.get("2.0.0", 0) > 0 and stats.by_version.get("1.0.0", 0) > 0
