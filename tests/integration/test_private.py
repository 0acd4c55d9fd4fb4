"""What golive's proxies leave on disk is private, and Envoy's admin is a 0600 unix socket."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from golive.metrics.envoy import EnvoyStats
from golive.plan.model import Revision, Split
from golive.traffic.envoy import EnvoyRouter
from tests.conftest import (
    free_port,
    running_envoy,
    running_haproxy,
    running_nginx,
    wait_verified,
)

pytestmark = pytest.mark.integration


def loose_paths(root: Path) -> list[str]:
    """Every path under ``root`` (and ``root``) that is not 0700 (directory) or 0600."""
    loose = []
    for path in [root, *sorted(root.rglob("*"))]:
        st = path.lstat()
        wanted = 0o700 if stat.S_ISDIR(st.st_mode) else 0o600
        if stat.S_IMODE(st.st_mode) != wanted:
            loose.append(f"{path} is {stat.S_IMODE(st.st_mode):o}, not {wanted:o}")
    return loose


@pytest.fixture(autouse=True)
def umask_022() -> Iterator[None]:
    """A user's usual umask (set before the proxies start), which would make files 0644."""
    old = os.umask(0o022)
    yield
    os.umask(old)


async def test_every_file_a_proxy_golive_runs_leaves_is_private(real_router: object) -> None:
    await real_router.apply(Split(30.0))  # type: ignore[attr-defined]
    await wait_verified(real_router, Split(30.0))
    async with httpx.AsyncClient(trust_env=False) as client:  # logs written
        for _ in range(5):
            await client.get(f"http://127.0.0.1:{real_router.port}/")  # type: ignore[attr-defined]
    workdir: Path = real_router.workdir  # type: ignore[attr-defined]
    assert loose_paths(workdir) == []
    assert len(list(workdir.iterdir())) >= 3


def listening_ports(pid: int) -> set[int]:
    """The TCP ports process ``pid`` listens on (Linux /proc: its socket inodes in state 0A)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        target = os.readlink(fd)
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


async def test_envoys_admin_is_a_0600_unix_socket_and_no_tcp_port(envoy: EnvoyRouter) -> None:
    sock = envoy.admin_socket
    assert stat.S_ISSOCK(sock.lstat().st_mode) and stat.S_IMODE(sock.lstat().st_mode) == 0o600
    admin = json.loads(envoy.bootstrap_path.read_text())["admin"]
    assert admin == {"address": {"pipe": {"path": str(sock), "mode": 0o600}}}
    pid = json.loads(envoy.pid_path.read_text())["pid"]
    stats_port = int(envoy.stats_address.rsplit(":", 1)[1])
    assert listening_ports(pid) == {envoy.port, stats_port}  # traffic and read-only stats
    # golive reads routes, counters and stats through the socket
    await envoy.apply(Split(40.0))
    await wait_verified(envoy, Split(40.0))
    assert await envoy.rejected_updates() == 0
    stats = EnvoyStats(sock)
    try:
        assert (await stats.sample(Revision.CANARY)).requests >= 0
        assert await stats.in_flight(Revision.CANARY) == 0
    finally:
        await stats.aclose()


async def test_the_stats_listener_serves_prometheus_text_and_nothing_else(
    envoy: EnvoyRouter,
) -> None:
    assert envoy.stats_path.read_text() == envoy.stats_address + "\n"  # for Prometheus
    base = f"http://{envoy.stats_address}"
    async with httpx.AsyncClient(trust_env=False) as client:
        scraped = await client.get(f"{base}/stats/prometheus")
        assert scraped.status_code == 200
        assert 'envoy_cluster_upstream_rq_completed{envoy_cluster_name="canary"}' in scraped.text
        for method, path in [
            ("POST", "/quitquitquit"),
            ("POST", "/stats/prometheus"),
            ("GET", "/config_dump"),
            ("POST", "/stats/prometheus/../../quitquitquit"),
            ("POST", "/runtime_modify?x=1"),
        ]:
            answer = await client.request(method, f"{base}{path}")
            assert answer.status_code == 404, (method, path)
    assert await envoy.observe() == Split.all_stable()  # still running, still ours


async def test_a_long_state_dir_gets_a_short_private_socket_and_is_attached_again(
    tmp_path: Path, apps: dict[str, int]
) -> None:
    deep = tmp_path / ("a-long-state-directory-name-" * 4) / "envoy" / "shop"
    assert len(str(deep / "admin.sock")) > 108
    async with running_envoy(deep, apps) as envoy:
        sock = envoy.admin_socket
        assert len(os.fsencode(sock)) <= 100 and sock.parent.name == f"golive-{os.geteuid()}"
        assert stat.S_IMODE(sock.lstat().st_mode) == 0o600
        assert stat.S_IMODE(sock.parent.lstat().st_mode) == 0o700
        await envoy.apply(Split(5.0))
        await wait_verified(envoy, Split(5.0))
        again = EnvoyRouter(deep, envoy.host, envoy.port, envoy.upstreams)
        try:
            assert await again.start(Split.all_stable()) is False  # found by its pid file
            assert await again.observe() == Split(5.0)
        finally:
            await again.aclose()
    assert not sock.exists()  # stopped: no socket left in the shared temp dir


async def test_a_state_dir_left_world_readable_is_tightened_when_envoy_starts(
    tmp_path: Path, apps: dict[str, int]
) -> None:
    workdir = tmp_path / "envoy"
    workdir.mkdir(mode=0o755)
    workdir.chmod(0o755)
    (workdir / "envoy.log").write_text("from an older golive\n")
    async with running_envoy(workdir, apps):
        assert loose_paths(workdir) == []


async def test_golives_nginx_run_as_root_passes_large_bodies_both_ways(tmp_path: Path) -> None:
    """Run as root, nginx's workers are "nobody": they cannot enter the 0700 state directory,
    so golive's nginx must buffer nothing to disk there."""
    if os.geteuid() != 0:
        pytest.skip("nginx drops its workers' privileges only when run as root")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", BIG_BODIES, str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        async with (
            running_nginx(tmp_path / "nginx", {"stable": port, "canary": port}) as nginx,
            httpx.AsyncClient(trust_env=False, timeout=10) as client,
        ):
            for _ in range(100):  # until the upstream answers
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"http://127.0.0.1:{port}/")).is_success:
                        break
                await asyncio.sleep(0.05)
            async with client.stream("GET", f"http://127.0.0.1:{nginx.port}/") as big:
                await asyncio.sleep(0.5)  # a slow reader: nginx would spool the rest to disk
                await big.aread()
            posted = await client.post(f"http://127.0.0.1:{nginx.port}/", content=b"x" * 900_000)
        assert (big.status_code, len(big.content)) == (200, 20_000_000)
        assert (posted.status_code, posted.text) == (200, "900000")  # the body went through
    finally:
        server.terminate()
        server.wait(timeout=10)


BIG_BODIES = """
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self, body):
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.answer(b"y" * 20_000_000)

    def do_POST(self):
        got = len(self.rfile.read(int(self.headers["content-length"])))
        self.answer(str(got).encode())

    def log_message(self, *args):
        pass

ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""


async def test_a_long_state_dir_gets_haproxy_a_short_private_socket_too(
    tmp_path: Path, apps: dict[str, int]
) -> None:
    deep = tmp_path / ("a-long-state-directory-name-" * 4) / "haproxy" / "shop"
    async with running_haproxy(deep, apps) as haproxy:
        sock = haproxy.socket_path
        assert len(os.fsencode(sock)) <= 100 and sock.parent.name == f"golive-{os.geteuid()}"
        assert stat.S_IMODE(sock.lstat().st_mode) == 0o600
        assert stat.S_IMODE(sock.parent.lstat().st_mode) == 0o700
        await haproxy.apply(Split(10.0))
        await wait_verified(haproxy, Split(10.0))
        assert loose_paths(deep) == []
