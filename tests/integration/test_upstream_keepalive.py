"""Envoy in front of gunicorn, whose keep-alive is 2 s: no request lands on a closing connection.

Envoy kept upstream connections idle for an hour by default and sent requests on connections
gunicorn was closing after 2 s idle; each such request was answered 503
(``upstream_cx_destroy_remote_with_active_rq``) and counted as an error of the revision it
landed on. The race is rare on a real gunicorn; an upstream that closes every connection idle
for its keep-alive just as the next request arrives (``tests/broken.py``) makes it certain.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import httpx
import pytest

from golive.plan.model import Split
from tests.broken import closing_keepalive
from tests.conftest import free_port, running_envoy, wait_verified
from tests.realapp import gunicorn_apps

pytestmark = pytest.mark.integration
PAUSES = (2.0, 2.1, 2.25, 2.4, 2.5, 2.6, 2.75, 2.9, 3.0)  # seconds idle between bursts
BURST = 8  # gunicorn's 2 workers x 4 threads


async def test_paced_requests_to_gunicorn_through_envoy_all_succeed(tmp_path: Path) -> None:
    with gunicorn_apps("1.0.0", "2.0.0") as (stable, canary):
        apps = {"stable": stable.port, "canary": canary.port}
        async with running_envoy(tmp_path / "envoy", apps) as router:
            await router.apply(Split(50.0))
            await wait_verified(router, Split(50.0))
            url = f"http://127.0.0.1:{router.port}/get"
            seen: Counter[int] = Counter()
            limits = httpx.Limits(max_keepalive_connections=BURST)
            async with httpx.AsyncClient(trust_env=False, timeout=10, limits=limits) as client:
                for pause in (0.0, *PAUSES):
                    await asyncio.sleep(pause)  # idle upstream connections, on purpose
                    answers = await asyncio.gather(*(client.get(url) for _ in range(BURST)))
                    seen.update(a.status_code for a in answers)
                reset = await router.admin.stat(
                    "cluster.stable.upstream_cx_destroy_remote_with_active_rq"
                ) + await router.admin.stat(
                    "cluster.canary.upstream_cx_destroy_remote_with_active_rq"
                )
    assert seen == Counter({200: BURST * (len(PAUSES) + 1)}), (seen, reset)


async def requests_after_pauses(
    port: int, pause: float, method: str = "GET", burst: int = 4, rounds: int = 3
) -> Counter[int]:
    seen: Counter[int] = Counter()
    async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
        for i in range(rounds):
            if i:
                await asyncio.sleep(pause)  # the upstream connections go idle, on purpose
            url = f"http://127.0.0.1:{port}/"
            answers = await asyncio.gather(*(client.request(method, url) for _ in range(burst)))
            seen.update(a.status_code for a in answers)
    return seen


async def test_envoy_closes_an_idle_upstream_connection_before_a_2s_keepalive_server_does(
    tmp_path: Path,
) -> None:
    async with closing_keepalive(idle=2.0) as (port, upstream):
        apps = {"stable": free_port(), "canary": port}
        async with running_envoy(tmp_path / "envoy", apps) as router:
            await router.apply(Split(100.0))
            await wait_verified(router, Split(100.0))
            seen = await requests_after_pauses(router.port, pause=2.3)
    assert seen == Counter({200: 12})
    assert upstream.late == 0  # no request was ever sent on a connection idle for 2 s


async def test_a_get_reset_before_any_response_byte_is_retried_once(tmp_path: Path) -> None:
    async with closing_keepalive(idle=0.3) as (port, upstream):  # closes before Envoy's 1 s
        apps = {"stable": free_port(), "canary": port}
        async with running_envoy(tmp_path / "envoy", apps) as router:
            await router.apply(Split(100.0))
            await wait_verified(router, Split(100.0))
            # one at a time: each of Envoy's two workers holds one upstream connection, so the
            # retry goes out on a new one (with several idle ones, all of them stale here, a
            # retry could meet another stale one; a real server's are never idle that long)
            seen = await requests_after_pauses(router.port, pause=0.5, burst=1, rounds=8)
            retried = await router.admin.stat("cluster.canary.upstream_rq_retry")
    assert upstream.late > 0  # the race happened...
    assert seen == Counter({200: 8})  # ...and every GET was answered
    assert retried == upstream.late


async def test_a_post_reset_after_it_was_sent_is_not_replayed(tmp_path: Path) -> None:
    async with closing_keepalive(idle=0.3) as (port, upstream):
        apps = {"stable": free_port(), "canary": port}
        async with running_envoy(tmp_path / "envoy", apps) as router:
            await router.apply(Split(100.0))
            await wait_verified(router, Split(100.0))
            seen = await requests_after_pauses(router.port, 0.5, "POST", burst=1, rounds=8)
    assert upstream.late > 0
    assert seen[503] == upstream.late  # the server may have acted on it: the client decides
