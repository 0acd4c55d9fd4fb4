"""Header and cookie segments route real requests through every real router."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import pytest

from golive.plan.model import Segment, Split
from tests.conftest import wait_verified

pytestmark = pytest.mark.integration


def versions(port: int, n: int, headers: dict[str, str]) -> Counter[str]:
    seen: Counter[str] = Counter()
    with httpx.Client(trust_env=False, timeout=5.0) as client:
        for _ in range(n):
            seen[client.get(f"http://127.0.0.1:{port}/", headers=headers).json()["version"]] += 1
    return seen


async def test_cookie_and_header_segments(real_router: object) -> None:
    router = real_router
    port = router.port  # type: ignore[attr-defined]
    cookie = Split(0.0, Segment("beta", "1", cookie=True))
    await router.apply(cookie)  # type: ignore[attr-defined]
    await wait_verified(router, cookie)
    assert await asyncio.to_thread(versions, port, 10, {"cookie": "a=b; beta=1"}) == {"2.0.0": 10}
    assert await asyncio.to_thread(versions, port, 10, {"cookie": "beta=10"}) == {"1.0.0": 10}
    assert await asyncio.to_thread(versions, port, 10, {"x-beta-user": "1"}) == {"1.0.0": 10}
    header = Split(0.0, Segment("x-beta-user"))
    await router.apply(header)  # type: ignore[attr-defined]
    await wait_verified(router, header)
    assert await asyncio.to_thread(versions, port, 10, {"x-beta-user": "any"}) == {"2.0.0": 10}
    assert await asyncio.to_thread(versions, port, 10, {"cookie": "beta=1"}) == {"1.0.0": 10}
