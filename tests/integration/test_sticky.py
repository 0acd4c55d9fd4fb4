"""Sticky users on real Envoy, HAProxy and nginx: as the weight grows, users only move to the
canary, never back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from golive.plan.model import Split, Sticky
from tests.conftest import running_envoy, running_haproxy, running_nginx, start_app, wait_verified

pytestmark = pytest.mark.integration
USERS = 100
VERSIONS = {"stable": "1.0.0", "canary": "2.0.0"}


@pytest.fixture
def fast_apps() -> Iterator[dict[str, int]]:
    started = {name: start_app(version, latency_ms=1.0) for name, version in VERSIONS.items()}
    yield {name: port for name, (_, port) in started.items()}
    for proc, _ in started.values():
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(params=["envoy", "haproxy", "nginx"])
async def router(
    request: pytest.FixtureRequest, tmp_path: Path, fast_apps: dict[str, int]
) -> AsyncIterator[object]:
    apps = fast_apps
    sticky = Sticky("user")
    if request.param == "envoy":
        async with running_envoy(tmp_path / "e", apps, sticky=sticky) as envoy:
            yield envoy
    elif request.param == "haproxy":
        async with running_haproxy(tmp_path / "h", apps, sticky=sticky) as proxy:
            yield proxy
    else:
        async with running_nginx(tmp_path / "n", apps, sticky=sticky) as nginx:
            yield nginx


async def canary_users(port: int, repeat: int = 1) -> set[int]:
    url = f"http://127.0.0.1:{port}/"
    limits = httpx.Limits(max_connections=16)
    async with httpx.AsyncClient(trust_env=False, timeout=5.0, limits=limits) as client:

        async def ask(user: int) -> tuple[int, set[str]]:
            headers = {"cookie": f"theme=dark; user=u{user}"}
            seen = {
                (await client.get(url, headers=headers)).json()["version"] for _ in range(repeat)
            }
            return user, seen

        answers = await asyncio.gather(*(ask(u) for u in range(USERS)))
    for user, seen in answers:
        assert len(seen) == 1, f"user {user} saw {seen}"  # the same answer every time
    return {user for user, seen in answers if seen == {"2.0.0"}}


async def test_users_only_move_from_stable_to_canary(router: object) -> None:
    port = router.port  # type: ignore[attr-defined]
    async with httpx.AsyncClient(trust_env=False) as client:  # a client cannot pick its bucket
        for _ in range(5):
            answer = await client.get(f"http://127.0.0.1:{port}/", headers={"x-golive-bucket": "0"})
            assert answer.json()["version"] == "1.0.0"
    previous: set[int] = set()
    for weight in (10.0, 25.0, 50.0, 100.0):
        await router.apply(Split(weight))  # type: ignore[attr-defined]
        await wait_verified(router, Split(weight))
        users = await canary_users(port, 3 if weight == 25.0 else 1)
        assert previous <= users  # nobody went back to stable
        assert abs(len(users) / USERS * 100 - weight) <= 12  # about the weight's share
        previous = users
    assert len(previous) == USERS
