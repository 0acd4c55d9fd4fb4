from __future__ import annotations

import asyncio
import contextlib
import signal
import textwrap
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from golive.demo.app import start_sample_app as start_app
from golive.plan.model import Split, Sticky
from golive.proxy.ports import free_port
from golive.traffic.envoy import EnvoyRouter
from golive.traffic.haproxy import HAProxyRouter
from golive.traffic.nginx import NginxRouter


def pytest_configure(config: pytest.Config) -> None:
    """A suite started as a background job (``nohup scripts/test &``, some CI runners) inherits
    SIGINT ignored, and so did every golive it started: the tests that interrupt a run as a
    person does (Ctrl-C) saw it run on to promotion. With a handler here, each child starts with
    SIGINT at its default again (exec resets a handled signal, never an ignored one)."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


R = TypeVar("R")

GOOD_PLAN = """\
service: checkout
revisions:
  stable: {version: 2.0.5, url: "http://127.0.0.1:9001"}
  canary:
    version: 2.1.0
    url: "http://127.0.0.1:9002"
    process: {command: [./app, --port, "9002"], ready: "http://127.0.0.1:9002/health"}
route: {router: envoy, listen: "127.0.0.1:8080"}
metrics: {source: router, interval: 1s}
checks:
  smoke: {http: {url: "http://127.0.0.1:9002/health"}}
triggers:
  - {when: "error_rate > 5%", for: 10s, then: rollback}
judge: {kind: threshold, max_latency: 500ms, min_requests: 20, window: 10s}
steps:
  - deploy: canary
  - check: smoke
  - shift: {weight: 1, segment: {header: x-beta-user}}
  - analyze: 15s
  - shift: 50
  - analyze: {for: 30s}
  - promote
"""


@pytest.fixture
def write_plan(tmp_path: Path):  # type: ignore[no-untyped-def]
    def write(text: str, name: str = "plan.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return path

    return write


# -- real processes on loopback, shared by contract, integration and e2e tests ---------------


__all__ = ["free_port", "start_app"]


@pytest.fixture
def apps() -> Iterator[dict[str, int]]:
    stable, sp = start_app("1.0.0")
    canary, cp = start_app("2.0.0")
    yield {"stable": sp, "canary": cp}
    for p in (stable, canary):
        p.terminate()
        p.wait(timeout=10)


@pytest.fixture
def servers() -> Iterator[dict[str, int]]:
    """Two stable servers (told apart by their version string) and one canary server."""
    started = {name: start_app(name, latency_ms=2) for name in ("1.0.0-a", "1.0.0-b", "2.0.0")}
    yield {name: port for name, (_, port) in started.items()}
    for proc, _ in started.values():
        proc.terminate()
        proc.wait(timeout=10)


def _upstreams(apps: dict[str, int]) -> dict[str, str]:
    return {name: f"http://127.0.0.1:{port}" for name, port in apps.items()}


@contextlib.asynccontextmanager
async def _running(router: R) -> AsyncIterator[R]:
    assert await router.start(Split.all_stable())  # type: ignore[attr-defined]
    try:
        yield router
    finally:
        await router.stop()  # type: ignore[attr-defined]
        await router.aclose()  # type: ignore[attr-defined]


def running_envoy(
    workdir: Path, apps: dict[str, int], sticky: Sticky | None = None
) -> contextlib.AbstractAsyncContextManager[EnvoyRouter]:
    return _running(EnvoyRouter(workdir, "127.0.0.1", free_port(), _upstreams(apps), sticky))


def running_haproxy(
    workdir: Path,
    apps: dict[str, int],
    headers: tuple[str, ...] = ("header:x-beta-user", "cookie:beta"),
    sticky: Sticky | None = None,
) -> contextlib.AbstractAsyncContextManager[HAProxyRouter]:
    router = HAProxyRouter(workdir, "127.0.0.1", free_port(), _upstreams(apps), headers, sticky)
    return _running(router)


def running_nginx(
    workdir: Path, apps: dict[str, int], sticky: Sticky | None = None
) -> contextlib.AbstractAsyncContextManager[NginxRouter]:
    return _running(NginxRouter(workdir, "127.0.0.1", free_port(), _upstreams(apps), sticky))


@pytest.fixture(params=["envoy", "haproxy", "nginx"])
async def real_router(
    request: pytest.FixtureRequest, tmp_path: Path, apps: dict[str, int]
) -> AsyncIterator[object]:
    """Each real proxy golive drives, started on loopback in front of the sample apps."""
    starters = {"envoy": running_envoy, "haproxy": running_haproxy, "nginx": running_nginx}
    async with starters[request.param](tmp_path / request.param, apps) as router:
        yield router


@pytest.fixture
async def envoy(tmp_path: Path, apps: dict[str, int]) -> AsyncIterator[EnvoyRouter]:
    async with running_envoy(tmp_path / "envoy", apps) as router:
        yield router


async def wait_verified(router: object, split: Split, timeout: float = 3.0) -> float:
    from golive.traffic.base import Verification

    loop = asyncio.get_running_loop()
    start = loop.time()
    while loop.time() - start < timeout:
        if await router.verify(split) is Verification.VERIFIED:  # type: ignore[attr-defined]
            return loop.time() - start
        await asyncio.sleep(0.005)
    raise AssertionError(f"router did not serve {split} within {timeout}s")


# -- data services for pre-flight checks (session-wide: each takes seconds to start) ----------


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    import shutil
    import tempfile

    from tests import services

    root = Path(tempfile.mkdtemp(prefix="golive-postgres-"))  # pytest's own dirs are 0700
    try:
        with services.postgres(root) as dsn:
            yield dsn
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from tests import services

    with services.redis(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture(scope="session")
def amqp_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from tests import services

    with services.rabbitmq(tmp_path_factory.mktemp("rabbitmq")) as url:
        yield url


@pytest.fixture
def pg_database(postgres_dsn: str) -> Iterator[str]:
    """A database of its own on the session's PostgreSQL, dropped after the test."""
    import uuid

    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_dsn, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"'.encode())
    try:
        yield postgres_dsn.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(postgres_dsn, autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())
