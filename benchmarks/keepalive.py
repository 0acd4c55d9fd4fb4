"""Envoy in front of gunicorn (keep-alive 2 s): failed requests with and without golive's
upstream idle timeout (1 s) and its one retry.

Two loads, each against both configurations ("before": Envoy's defaults, no idle timeout and
no retry; "after": golive's): wrk, 16 connections for 8 s (saturated), and a paced Python
client, bursts of 8 requests separated by pauses of 1.5-3.5 s (connections going idle around
gunicorn's keep-alive) for 30 s. Prints the non-2xx answers and Envoy's
``upstream_cx_destroy_remote_with_active_rq`` (requests on a connection the server closed).
Bounded: about 1 min 30 s in all.

    .venv/bin/python -m benchmarks.keepalive
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
from tests.realapp import gunicorn_apps

from golive.plan.model import Split
from golive.proxy import envoy_config
from golive.proxy.ports import free_port
from golive.traffic.envoy import EnvoyRouter


@contextlib.contextmanager
def envoy_defaults() -> Iterator[None]:
    """golive's configuration without its idle timeout and retries (as before)."""
    bootstrap, routes = envoy_config.bootstrap, envoy_config.route_config

    def plain_bootstrap(*args, **kwargs):  # type: ignore[no-untyped-def]
        doc = bootstrap(*args, **kwargs)
        for cluster in doc["static_resources"]["clusters"]:
            cluster.pop("typed_extension_protocol_options", None)
        return doc

    def plain_routes(*args, **kwargs):  # type: ignore[no-untyped-def]
        doc = routes(*args, **kwargs)
        host = doc["resources"][0]["virtual_hosts"][0]
        host.pop("retry_policy", None)
        host["routes"] = [r for r in host["routes"] if r.get("name") != "idempotent"]
        return doc

    envoy_config.bootstrap, envoy_config.route_config = plain_bootstrap, plain_routes  # type: ignore[assignment]
    try:
        yield
    finally:
        envoy_config.bootstrap, envoy_config.route_config = bootstrap, routes  # type: ignore[assignment]


async def wrk(url: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        shutil.which("wrk") or "wrk", "-t2", "-c16", "-d8s", url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out = (await proc.communicate())[0].decode()
    total = re.search(r"(\d+) requests in", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return (
        f"wrk {total.group(1) if total else '?'} requests, non-2xx "
        f"{non2xx.group(1) if non2xx else 0}, socket errors {errors.group(1) if errors else 0}"
    )


async def paced(url: str, seconds: float = 30.0) -> str:
    seen: Counter[int | str] = Counter()
    rng = random.Random(7)
    async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            results = await asyncio.gather(
                *(client.get(url) for _ in range(8)), return_exceptions=True
            )
            for r in results:
                seen[r.status_code if isinstance(r, httpx.Response) else type(r).__name__] += 1
            await asyncio.sleep(rng.uniform(1.5, 3.5))
    return f"paced {sum(seen.values())} requests, {dict(seen)}"


async def run(load: str, legacy: bool) -> None:
    with gunicorn_apps("1.0.0", "2.0.0") as (stable, canary), tempfile.TemporaryDirectory() as tmp:
        upstreams = {"stable": stable.url, "canary": canary.url}
        with envoy_defaults() if legacy else contextlib.nullcontext():
            router = EnvoyRouter(Path(tmp) / "envoy", "127.0.0.1", free_port(), upstreams)
            await router.start(Split(50.0))
        try:
            url = f"http://127.0.0.1:{router.port}/get"
            result = await (wrk(url) if load == "wrk" else paced(url))
            closed = sum(
                [
                    await router.admin.stat(
                        f"cluster.{c}.upstream_cx_destroy_remote_with_active_rq"
                    )
                    for c in ("stable", "canary")
                ]
            )
            retries = sum(
                [
                    await router.admin.stat(f"cluster.{c}.upstream_rq_retry")
                    for c in ("stable", "canary")
                ]
            )
            label = "before (Envoy defaults)" if legacy else "after (golive)"
            print(f"{label:24} {result}; closed with a request on it {closed}, retried {retries}")
        finally:
            await router.stop()
            await router.aclose()


async def main() -> None:
    for load in ("wrk", "paced"):
        for legacy in (True, False):
            await asyncio.wait_for(run(load, legacy), 90)


if __name__ == "__main__":
    asyncio.run(main())
