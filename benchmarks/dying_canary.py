"""A dying canary: requests failed from killing every canary worker to traffic safe, per router.

httpbin on gunicorn (2 workers x 4 threads) as stable and canary, the router at 25%, a paced
client (8 loops, about 100 requests/s in all). Every canary process is killed (SIGKILL to its
session); golive's part is played as the engine does it: a readiness probe of the canary once per
pass (1 s, the engine's pass interval; 1 s probe timeout), and on the first failed probe the
rollback: 100% stable written, read back until verified ("safe"). Counted: requests sent between
the kill and "safe" that did not get a 2xx, and the time from kill to safe. "before" is the
configuration on main (Envoy without retries, HAProxy's default retries and no redispatch,
nginx's default max_fails); "after" is this branch's. Bounded: 3 trials x 2 configurations x 3
routers, about 2 min.

    .venv/bin/python -m benchmarks.dying_canary [envoy|haproxy|nginx ...]
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from tests.realapp import gunicorn_apps

from benchmarks.harness import apply_verified
from benchmarks.keepalive import envoy_defaults
from golive.plan.model import Split
from golive.proxy import haproxy_config, nginx_config
from golive.proxy.ports import free_port
from golive.traffic.envoy import EnvoyRouter
from golive.traffic.haproxy import HAProxyRouter
from golive.traffic.nginx import NginxRouter

TRIALS = 3
PASS = 1.0  # the engine's pass interval (min(1 s, metrics.interval))
ROUTERS = {"envoy": EnvoyRouter, "haproxy": HAProxyRouter, "nginx": NginxRouter}


@contextlib.contextmanager
def as_on_main(router_kind: str) -> Iterator[None]:
    if router_kind == "envoy":
        with envoy_defaults():
            yield
        return
    haproxy, nginx = haproxy_config.render, nginx_config.render

    def old_haproxy(*args, **kwargs):  # type: ignore[no-untyped-def]
        text = haproxy(*args, **kwargs)
        return text.replace("    retries 1\n", "").replace("    option redispatch 1\n", "")

    def old_nginx(*args, **kwargs):  # type: ignore[no-untyped-def]
        text = nginx(*args, **kwargs)
        for policy in (" max_fails=1 fail_timeout=10s", " max_fails=0"):
            text = text.replace(policy, "")
        return text.replace("        keepalive_timeout 1s;\n", "")

    haproxy_config.render, nginx_config.render = old_haproxy, old_nginx  # type: ignore[assignment]
    try:
        yield
    finally:
        haproxy_config.render, nginx_config.render = haproxy, nginx  # type: ignore[assignment]


async def client(url: str, log: list[tuple[float, bool]], stop: asyncio.Event) -> None:
    async with httpx.AsyncClient(trust_env=False, timeout=10) as http:
        for _ in range(2_000):  # bounded
            if stop.is_set():
                return
            sent = time.monotonic()
            try:
                ok = (await http.get(url)).is_success
            except httpx.HTTPError:
                ok = False
            log.append((sent, ok))
            await asyncio.sleep(max(0.0, 0.08 - (time.monotonic() - sent)))


async def golive_rollback(router: object, probe_url: str, killed: float) -> float:
    """The engine's part: probe once per pass; roll back on the first failure; verified."""
    async with httpx.AsyncClient(trust_env=False, timeout=1.0) as http:
        next_pass = killed + PASS * 0.5  # on average the kill lands mid-pass
        while True:
            await asyncio.sleep(max(0.0, next_pass - time.monotonic()))
            try:
                alive = (await http.get(probe_url)).is_success
            except httpx.HTTPError:
                alive = False
            if not alive:
                break
            next_pass += PASS
    await apply_verified(router, Split.all_stable())  # type: ignore[arg-type]
    return time.monotonic()


async def trial(router_kind: str, legacy: bool) -> tuple[int, int, float]:
    with (
        as_on_main(router_kind) if legacy else contextlib.nullcontext(),
        gunicorn_apps("1.0.0", "2.0.0") as (stable, canary),
        tempfile.TemporaryDirectory() as tmp,
    ):
        upstreams = {"stable": stable.url, "canary": canary.url}
        router = ROUTERS[router_kind](Path(tmp) / router_kind, "127.0.0.1", free_port(), upstreams)
        await router.start(Split.all_stable())
        try:
            await apply_verified(router, Split(25.0))
            log: list[tuple[float, bool]] = []
            stop = asyncio.Event()
            url = f"http://127.0.0.1:{router.port}/get"
            clients = [asyncio.create_task(client(url, log, stop)) for _ in range(8)]
            await asyncio.sleep(1.0)  # steady load first
            killed = time.monotonic()
            canary.kill()
            safe = await golive_rollback(router, canary.url + "/status/200", killed)
            await asyncio.sleep(1.0)
            stop.set()
            await asyncio.wait_for(asyncio.gather(*clients), 30)
            window = [ok for sent, ok in log if killed <= sent <= safe]
            return sum(not ok for ok in window), len(window), safe - killed
        finally:
            await router.stop()
            await router.aclose()


async def main(kinds: list[str]) -> None:
    for router_kind in kinds:
        for legacy in (True, False):
            runs = [await asyncio.wait_for(trial(router_kind, legacy), 120) for _ in range(TRIALS)]
            failed = [f for f, _, _ in runs]
            label = "before" if legacy else "after"
            print(
                f"{router_kind:8} {label:7} failed from kill to safe: {failed} "
                f"(of {[n for _, n, _ in runs]} sent), median {statistics.median(failed)}; "
                f"kill to safe {statistics.median(t for _, _, t in runs) * 1000:.0f} ms median"
            )


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:] or sorted(ROUTERS)))
