"""nginx in front of a real gunicorn: one failed request on stable changes nothing for the rest.

nginx's defaults (``max_fails=1 fail_timeout=10s``) take a server out of its upstream for 10 s
after a single error. With the canary at 0% that left no live server (every client got 502 "no
live upstreams"); at 1% it sent nearly all traffic to the canary while golive read "1%" back.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections import Counter
from pathlib import Path

import httpx
import pytest

from golive.plan.model import Split
from tests.broken import closing_keepalive
from tests.conftest import running_nginx, wait_verified
from tests.realapp import Gunicorn, gunicorn_apps

pytestmark = pytest.mark.integration


async def fail_one_stable_request(client: httpx.AsyncClient, url: str, stable: Gunicorn) -> int:
    """A request in flight on stable whose worker dies: what nginx answered for it."""
    slow = asyncio.create_task(client.get(url + "/delay/3", headers={"connection": "close"}))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while not stable.busy_workers():
        assert loop.time() < deadline, "the slow request never reached stable"
        await asyncio.sleep(0.01)
    for pid in stable.busy_workers():
        os.kill(pid, signal.SIGKILL)
    status = (await slow).status_code
    await asyncio.to_thread(stable.wait_ready)
    return status


@pytest.mark.parametrize("weight", [0.0, 1.0])
async def test_one_failed_request_on_stable_leaves_the_split_as_set(
    tmp_path: Path, weight: float
) -> None:
    with gunicorn_apps("1.0.0", "2.0.0") as (stable, canary):
        apps = {"stable": stable.port, "canary": canary.port}
        async with running_nginx(tmp_path / "nginx", apps) as router:
            await router.apply(Split(weight))
            await wait_verified(router, Split(weight))
            url = f"http://127.0.0.1:{router.port}"
            async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
                failed = await fail_one_stable_request(client, url, stable)
                # nginx may retry the GET on the other server of the split: the canary at 1%
                assert failed == 502 or (weight > 0 and failed == 200), failed
                seen: Counter[str] = Counter()
                for _ in range(100):
                    resp = await client.get(url + "/get")
                    seen[f"{resp.status_code} {resp.headers.get('x-version', '-')}"] += 1
    # at 0% every answer comes from stable; at 1%, a handful at most from the canary
    assert seen["200 1.0.0"] >= 90, seen
    assert sum(n for key, n in seen.items() if not key.startswith("200")) == 0, seen


@pytest.mark.parametrize("weight", [0.0, 1.0])
async def test_a_keepalive_connection_stable_closes_under_a_request_leaves_the_split_as_set(
    tmp_path: Path, weight: float
) -> None:
    """Stable closes a kept-alive connection just as nginx reuses it (made certain here: an
    upstream that resets any connection idle for 0.3 s when the next request arrives)."""
    with gunicorn_apps("2.0.0") as (canary,):
        async with closing_keepalive(idle=0.3, version="1.0.0") as (stable_port, stable):
            apps = {"stable": stable_port, "canary": canary.port}
            async with running_nginx(tmp_path / "nginx", apps) as router:
                await router.apply(Split(weight))
                await wait_verified(router, Split(weight))
                url = f"http://127.0.0.1:{router.port}/"
                async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
                    await client.get(url)
                    loop = asyncio.get_running_loop()
                    deadline = loop.time() + 10
                    while stable.late == 0:  # until one request met a closing connection
                        assert loop.time() < deadline, "no request met a closing connection"
                        await asyncio.sleep(0.5)
                        await client.get(url)
                    seen: Counter[str] = Counter()
                    for _ in range(100):
                        resp = await client.get(url)
                        seen[f"{resp.status_code} {resp.headers.get('x-version', '-')}"] += 1
    assert seen["200 1.0.0"] >= 90, seen
    assert sum(n for key, n in seen.items() if not key.startswith("200")) == 0, seen
