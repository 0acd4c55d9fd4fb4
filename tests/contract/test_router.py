"""The Router contract, shared by every implementation: the fake, Envoy, HAProxy and nginx."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest

from golive.errors import PermanentError
from golive.plan.model import Segment, Split
from golive.proxy import envoy_config
from golive.testing import FakeRouter
from golive.traffic.base import Router, Verification
from tests.conftest import running_envoy, running_haproxy, running_nginx, wait_verified


class Subject:
    """A router under contract, a way to make it refuse its next configuration (the proxy's own
    refusal: Envoy rejects a route file, nginx -t fails, HAProxy has no such map) and a way to
    send it client requests (none for the fake)."""

    def __init__(
        self,
        router: Router,
        refusing: Callable[[], contextlib.AbstractContextManager[None]],
        port: int | None = None,
    ) -> None:
        self.router, self.refusing, self.port = router, refusing, port

    async def statuses(self, n: int) -> set[int]:
        if self.port is None:
            return {200}
        async with httpx.AsyncClient(trust_env=False, timeout=5.0) as client:
            return {
                (await client.get(f"http://127.0.0.1:{self.port}/")).status_code for _ in range(n)
            }


@contextlib.contextmanager
def _setting(obj: object, name: str, value: object) -> Iterator[None]:
    before = getattr(obj, name)
    setattr(obj, name, value)
    try:
        yield
    finally:
        setattr(obj, name, before)


@pytest.fixture(params=["fake", "envoy", "haproxy", "nginx"])
async def subject(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Subject]:
    if request.param == "fake":
        fake = FakeRouter(lag=2)
        yield Subject(fake, lambda: _setting(fake, "refusing", True))
        return
    apps: dict[str, int] = request.getfixturevalue("apps")
    if request.param == "envoy":
        good = envoy_config.route_config

        def unknown_cluster(split: Split, version: int, sticky: bool = False) -> dict[str, object]:
            doc = json.loads(json.dumps(good(split, version, sticky)))
            route = doc["resources"][0]["virtual_hosts"][0]["routes"][-1]["route"]
            route["weighted_clusters"]["clusters"][1]["name"] = "no-such-cluster"
            return doc  # type: ignore[no-any-return]

        async with running_envoy(tmp_path / "envoy", apps) as envoy:
            patched = lambda: _setting(envoy_config, "route_config", unknown_cluster)  # noqa: E731
            yield Subject(envoy, patched, envoy.port)
    elif request.param == "haproxy":
        async with running_haproxy(tmp_path / "haproxy", apps) as proxy:
            missing = {**proxy.maps, "header:x-beta-user": str(tmp_path / "missing.map")}
            yield Subject(proxy, lambda: _setting(proxy, "maps", missing), proxy.port)
    else:
        async with running_nginx(tmp_path / "nginx", apps) as nginx:
            bad = {**nginx.upstreams, "canary": ("http://127.0.0.1:0",)}  # nginx -t: invalid port
            yield Subject(nginx, lambda: _setting(nginx, "upstreams", bad), nginx.port)


@pytest.fixture
def router(subject: Subject) -> Router:
    return subject.router


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


async def test_a_configuration_the_proxy_refuses_changes_nothing(subject: Subject) -> None:
    router = subject.router
    await router.apply(Split(10.0))
    await wait_verified(router, Split(10.0))
    with subject.refusing(), pytest.raises(PermanentError):
        await router.apply(Split(20.0, Segment("x-beta-user")))
        await wait_verified(router, Split(20.0, Segment("x-beta-user")))
    assert await router.observe() == Split(10.0)  # still serving the last good configuration
    assert await router.verify(Split(10.0)) is Verification.VERIFIED
    assert await subject.statuses(20) == {200}
