"""The Router contract, shared by every implementation: the fake, Envoy, HAProxy and nginx."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from golive.plan.model import Segment, Split
from golive.testing import FakeRouter
from golive.traffic.base import Router, Verification
from tests.conftest import running_envoy, running_haproxy, running_nginx, wait_verified


@pytest.fixture(params=["fake", "envoy", "haproxy", "nginx"])
async def router(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Router]:
    if request.param == "fake":
        yield FakeRouter(lag=2)
    elif request.param == "envoy":
        apps: dict[str, int] = request.getfixturevalue("apps")
        async with running_envoy(tmp_path / "envoy", apps) as real:
            yield real
    elif request.param == "haproxy":
        apps = request.getfixturevalue("apps")
        async with running_haproxy(tmp_path / "haproxy", apps) as proxy:
            yield proxy
    else:
        apps = request.getfixturevalue("apps")
        async with running_nginx(tmp_path / "nginx", apps) as nginx:
            yield nginx


async def test_starts_all_stable(router: Router) -> None:
    assert await router.observe() == Split.all_stable()
    assert await router.verify(Split.all_stable()) is Verification.VERIFIED


async def test_observe_after_apply_reads_the_split_back(router: Router) -> None:
    target = Split(25.0, Segment("x-beta-user"))
    await router.apply(target)
    await wait_verified(router, target)
    assert await router.observe() == target


async def test_a_cookie_segment_reads_back_as_applied(router: Router) -> None:
    target = Split(5.0, Segment("beta", "1", cookie=True))
    await router.apply(target)
    await wait_verified(router, target)
    assert await router.observe() == target


async def test_apply_is_idempotent(router: Router) -> None:
    for _ in range(3):
        await router.apply(Split(5.0))
    await wait_verified(router, Split(5.0))
    await router.apply(Split(5.0))
    await wait_verified(router, Split(5.0))
    assert await router.observe() == Split(5.0)


async def test_verify_is_pending_until_applied_and_never_claims_an_unserved_split(
    router: Router,
) -> None:
    assert await router.verify(Split(50.0)) is Verification.PENDING
    await router.apply(Split(50.0))
    await wait_verified(router, Split(50.0))
    assert await router.verify(Split(10.0)) is Verification.PENDING


async def test_reset_sends_everything_to_stable(router: Router) -> None:
    await router.apply(Split(100.0))
    await wait_verified(router, Split(100.0))
    await router.reset()
    await wait_verified(router, Split.all_stable())
