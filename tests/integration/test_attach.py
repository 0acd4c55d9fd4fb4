"""Attaching to an HAProxy and an nginx golive did not start: their own socket, backend, server
and upstream names, from a plan; golive drives them and never stops them."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import textwrap
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from golive.engine.providers import Providers, build_providers
from golive.errors import PermanentError
from golive.plan.loader import parse_plan
from golive.plan.model import Revision, Segment, Split
from golive.processes import master_pid
from golive.traffic.base import Verification
from golive.traffic.fleet import FleetRouter
from golive.traffic.haproxy import HAProxyRouter, haproxy_binary
from golive.traffic.nginx import NginxRouter, nginx_binary
from tests.conftest import free_port, wait_verified

pytestmark = pytest.mark.integration


def _start(argv: list[str], ready: Path, stdout: Path | None = None) -> subprocess.Popen[bytes]:
    """Start a proxy the way its owner would (not golive), and wait for ``ready`` to exist."""
    with contextlib.ExitStack() as stack:
        out = None if stdout is None else stack.enter_context(stdout.open("ab"))
        proc = subprocess.Popen(argv, start_new_session=True, stdin=subprocess.DEVNULL, stdout=out)
    for _ in range(200):
        if ready.exists():
            return proc
        if proc.poll() is not None:
            raise RuntimeError(f"{argv[0]} exited with {proc.returncode}")
        subprocess.run(["sleep", "0.05"], check=True)
    raise RuntimeError(f"{argv[0]} did not start")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(timeout=10)


async def _versions(port: int, n: int, headers: dict[str, str] | None = None) -> Counter[str]:
    seen: Counter[str] = Counter()
    async with httpx.AsyncClient(trust_env=False, timeout=5.0) as client:
        for _ in range(n):
            answer = await client.get(f"http://127.0.0.1:{port}/", headers=headers)
            seen[answer.json()["version"]] += 1
    return seen


def _plan(servers: dict[str, int], route: str, metrics: str = "") -> str:
    return f"""\
service: shop
revisions:
  stable:
    version: 1
    url: ["http://127.0.0.1:{servers["1.0.0-a"]}", "http://127.0.0.1:{servers["1.0.0-b"]}"]
  canary: {{version: 2, url: "http://127.0.0.1:{servers["2.0.0"]}"}}
route:
{textwrap.indent(textwrap.dedent(route), "  ")}
{metrics}steps:
  - shift: 50
"""


NOT_JUDGED = "metrics: {latency: not judged}\n"  # no access_log given for their HAProxy

# -- HAProxy -----------------------------------------------------------------------------------


@contextlib.contextmanager
def running_their_haproxy(
    root: Path,
    servers: dict[str, int],
    name: str,
    routing: str = "",
    backends: str = "",
    log: Path | None = None,
) -> Iterator[tuple[Path, int]]:
    """An HAProxy with its own names: backend ``web`` with servers a1 a2 (stable) and b1
    (canary); by default also another backend with a server called a1. ``routing`` (frontend
    rules) and ``backends`` replace that. With ``log``, its request log goes there, in its own
    format with golive's token added, as docs/providers/haproxy.md says."""
    port, sock = free_port(), root / f"{name}.sock"
    a, b, canary = (f"127.0.0.1:{servers[v]}" for v in ("1.0.0-a", "1.0.0-b", "2.0.0"))
    routing = routing or "use_backend other if { path_beg /other }"
    backends = backends or f"backend other\n    server a1 {a}"
    config = root / f"{name}-haproxy.cfg"
    config.write_text(
        textwrap.dedent(f"""\
        global
            stats socket {sock} mode 600 level admin
        defaults
            mode http
            timeout connect 2s
            timeout client 30s
            timeout server 30s
        frontend web_in
            bind 127.0.0.1:{port}
        """)
        + (
            "    log stdout format raw local0\n"
            '    log-format "%ci [%tr] %ft %b/%s %ST %B %Ta golive=%b/%s/%ST/%Ta"\n'
            if log
            else ""
        )
        + textwrap.indent(textwrap.dedent(routing).strip(), "    ")
        + textwrap.dedent(f"""
            default_backend web
        backend web
            balance roundrobin
            server a1 {a} weight 100
            server a2 {b} weight 100
            server b1 {canary} weight 0
        """)
        + textwrap.dedent(backends).strip()
        + "\n"
    )
    proc = _start([haproxy_binary(), "-f", str(config)], sock, log)
    try:
        yield sock, port
    finally:
        _stop(proc)


@pytest.fixture
def their_haproxy(tmp_path: Path, servers: dict[str, int]) -> Iterator[tuple[Path, int]]:
    with running_their_haproxy(tmp_path, servers, "their") as found:
        yield found


def _haproxy_plan(servers: dict[str, int], sock: Path, port: int, canary: str = "b1") -> str:
    route = f"""\
    router: haproxy
    listen: "127.0.0.1:{port}"
    attach: {{socket: "{sock}", backend: web, stable: [a1, a2], canary: [{canary}]}}
    """
    return _plan(servers, route, NOT_JUDGED)


async def test_golive_drives_an_haproxy_it_did_not_start(
    tmp_path: Path, servers: dict[str, int], their_haproxy: tuple[Path, int]
) -> None:
    sock, port = their_haproxy
    providers = build_providers(parse_plan(_haproxy_plan(servers, sock, port), "p.yaml"), tmp_path)
    router = providers.router
    assert isinstance(router, HAProxyRouter)
    assert await providers.start(Split.all_stable()) is False  # attached, not started
    await router.apply(Split(50.0))
    await wait_verified(router, Split(50.0))
    seen = await _versions(port, 200)
    assert seen == Counter({"2.0.0": 100, "1.0.0-a": 50, "1.0.0-b": 50})
    async with httpx.AsyncClient(trust_env=False) as client:
        for _ in range(7):  # the other backend's a1 is not golive's stable
            await client.get(f"http://127.0.0.1:{port}/other")
    stable = await providers.metrics.sample(Revision.STABLE)
    canary = await providers.metrics.sample(Revision.CANARY)
    assert (stable.requests, canary.requests) == (100, 100)
    await router.stop()
    await providers.close()
    assert "Name: HAProxy" in await router.command("show info")  # still theirs, still running


async def test_an_attached_haproxy_gives_latency_through_its_request_log(
    tmp_path: Path, servers: dict[str, int]
) -> None:
    log = tmp_path / "their-requests.log"
    with running_their_haproxy(tmp_path, servers, "their", log=log) as (sock, port):
        route = f"""\
        router: haproxy
        listen: "127.0.0.1:{port}"
        attach:
          socket: "{sock}"
          backend: web
          stable: [a1, a2]
          canary: [b1]
          access_log: "{log}"
        """
        plan = parse_plan(_plan(servers, route), "p.yaml")  # no 'latency: not judged' needed
        assert plan.judge.metrics == ("error_rate", "latency")
        providers = build_providers(plan, tmp_path / "state")
        await providers.start(Split.all_stable())
        await providers.router.apply(Split(50.0))
        await wait_verified(providers.router, Split(50.0))
        await _versions(port, 40)
        async with httpx.AsyncClient(trust_env=False) as client:
            await client.get(f"http://127.0.0.1:{port}/other")  # their other backend's a1
        for _ in range(100):  # HAProxy writes each line once the answer is sent
            canary = await providers.metrics.sample(Revision.CANARY)
            stable = await providers.metrics.sample(Revision.STABLE)
            if canary.requests + stable.requests >= 40:
                break
            await asyncio.sleep(0.02)
        assert (stable.requests, canary.requests) == (20, 20)
        assert canary.latency_ms_buckets[float("inf")] == 20  # every request has its time
        assert canary.latency_ms_buckets[1.0] < 20  # the app sleeps ~2 ms: not all under 1 ms
        await providers.close()


async def test_attaching_to_a_server_haproxy_does_not_have_is_refused(
    tmp_path: Path, servers: dict[str, int], their_haproxy: tuple[Path, int]
) -> None:
    sock, port = their_haproxy
    plan = parse_plan(_haproxy_plan(servers, sock, port, canary="b9"), "p.yaml")
    providers = build_providers(plan, tmp_path)
    with pytest.raises(PermanentError, match="HAProxy has no server web/b9"):
        await providers.start(Split.all_stable())
    await providers.close()


async def test_two_attached_haproxies_move_as_one_fleet(
    tmp_path: Path, servers: dict[str, int]
) -> None:
    with (
        running_their_haproxy(tmp_path, servers, "lb1") as (sock1, port1),
        running_their_haproxy(tmp_path, servers, "lb2") as (sock2, port2),
    ):
        entry = '{{socket: "{}", backend: web, stable: [a1, a2], canary: [b1]}}'
        route = f"router: haproxy\nattach: [{entry.format(sock1)}, {entry.format(sock2)}]\n"
        providers = build_providers(
            parse_plan(_plan(servers, route, NOT_JUDGED), "p.yaml"), tmp_path
        )
        fleet = providers.router
        assert isinstance(fleet, FleetRouter)
        assert await providers.start(Split.all_stable()) is False
        await fleet.apply(Split(50.0))
        await wait_verified(fleet, Split(50.0))
        for port in (port1, port2):
            assert (await _versions(port, 20))["2.0.0"] == 10  # each proxy serves the split
        assert (await providers.metrics.sample(Revision.CANARY)).requests == 20  # summed
        await providers.close()


async def test_segments_and_sticky_users_on_an_attached_haproxy(
    tmp_path: Path, servers: dict[str, int]
) -> None:
    """Their configuration routes by their own map files and backends; golive fills the maps."""
    beta, sticky = tmp_path / "beta.map", tmp_path / "sticky.map"
    beta.write_text("")
    sticky.write_text("cut 0\n")
    a, b, canary = (f"127.0.0.1:{servers[v]}" for v in ("1.0.0-a", "1.0.0-b", "2.0.0"))
    routing = f"""\
        use_backend web_canary if {{ req.hdr(x-beta-user),map_reg({beta}) -m found }}
        http-request set-var(txn.bucket) req.cook(uid),crc32,mod(10000) if {{ req.cook(uid) -m found }}
        http-request set-var(txn.cut) str(cut),map_str_int({sticky},0)
        use_backend web_canary if {{ var(txn.bucket) -m found }} {{ var(txn.bucket),sub(txn.cut) lt 0 }}
        use_backend web_stable if {{ var(txn.bucket) -m found }}
        """
    backends = f"""\
        backend web_canary
            server b1 {canary}
        backend web_stable
            server a1 {a}
            server a2 {b}
        """
    with running_their_haproxy(tmp_path, servers, "their", routing, backends) as (sock, port):
        route = f"""\
        router: haproxy
        sticky: {{cookie: uid}}
        attach:
          socket: "{sock}"
          backend: web
          stable: [a1, a2]
          canary: [b1]
          maps: {{"header:X-Beta-User": "{beta}"}}
          sticky_map: "{sticky}"
          canary_backend: web_canary
          stable_backend: web_stable
        """
        text = _plan(servers, route, NOT_JUDGED).replace(
            "  - shift: 50", "  - shift: {weight: 25, segment: {header: x-beta-user}}"
        )
        providers = build_providers(parse_plan(text, "p.yaml"), tmp_path / "state")
        router = providers.router
        assert isinstance(router, HAProxyRouter)
        assert await providers.start(Split.all_stable()) is False
        target = Split(25.0, Segment("x-beta-user"))
        await router.apply(target)
        await wait_verified(router, target)
        assert await _versions(port, 10, {"x-beta-user": "yes"}) == Counter({"2.0.0": 10})
        users = [f"user-{i}" for i in range(60)]

        async def assigned() -> dict[str, str]:
            out = {}
            async with httpx.AsyncClient(trust_env=False) as client:
                for user in users:
                    answer = await client.get(
                        f"http://127.0.0.1:{port}/", headers={"cookie": f"uid={user}"}
                    )
                    out[user] = answer.json()["version"]
            return out

        quarter = await assigned()
        await router.apply(Split(60.0))
        await wait_verified(router, Split(60.0))
        more = await assigned()
        moved_back = [u for u in users if quarter[u] == "2.0.0" and more[u] != "2.0.0"]
        assert moved_back == [] and sum(v == "2.0.0" for v in more.values()) > sum(
            v == "2.0.0" for v in quarter.values()
        )
        assert beta.read_text() == ""  # the segment was cleared on disk too
        # so a reload of their HAProxy keeps it (60% on the grid of 2 + 1 servers: 77/128)
        assert sticky.read_text() == "cut 6016\n"
        canary = await providers.metrics.sample(Revision.CANARY)
        assert canary.requests == 10 + sum(
            v == "2.0.0" for v in [*quarter.values(), *more.values()]
        )
        await providers.close()


# -- nginx -------------------------------------------------------------------------------------


def _nginx_config(root: Path, port: int, body: str, workers: int = 2) -> str:
    scratch = root / "scratch"
    scratch.mkdir(exist_ok=True)
    return textwrap.dedent(f"""\
    worker_processes {workers};
    pid {root}/their-nginx.pid;
    error_log {root}/their-error.log warn;
    events {{ worker_connections 256; }}
    http {{
        access_log off;
        client_body_temp_path {scratch}/body;
        proxy_temp_path {scratch}/proxy;
        fastcgi_temp_path {scratch}/fastcgi;
        uwsgi_temp_path {scratch}/uwsgi;
        scgi_temp_path {scratch}/scgi;
    {textwrap.indent(textwrap.dedent(body), "    ")}
        server {{
            listen 127.0.0.1:{port};
            location / {{
                proxy_pass http://$upstream_name;
                proxy_http_version 1.1;          # golive's upstreams keep connections alive
                proxy_set_header Connection "";
                proxy_next_upstream off;
                access_log {root}/web.log golive_web;
            }}
        }}
    }}
    """)


@contextlib.contextmanager
def running_their_nginx(
    root: Path, servers: dict[str, int]
) -> Iterator[tuple[subprocess.Popen[bytes], Path, str]]:
    """Their nginx, 2 workers, with their own upstream; yields it, its configuration file and
    the plan's route that attaches golive to it."""
    port, config = free_port(), root / "their-nginx.conf"
    include = root / "golive" / "web.conf"
    include.parent.mkdir()
    # before golive: their own upstream (and a log format of the same name golive will define)
    before = f"""\
    log_format golive_web '$msec $upstream_addr $upstream_status $upstream_response_time';
    upstream web {{ server 127.0.0.1:{servers["1.0.0-a"]}; }}
    map $host $upstream_name {{ default web; }}
    """
    config.write_text(_nginx_config(root, port, before))
    pid_file = root / "their-nginx.pid"
    proc = _start(
        [nginx_binary(), "-p", str(root), "-c", str(config), "-g", "daemon off;"], pid_file
    )
    try:
        # adopting golive: their upstream goes, golive's file is included, proxy_pass reads
        # golive's variable; nginx keeps running its old configuration until golive reloads it
        after = f"include {include};\nmap $host $upstream_name {{ default $golive_web; }}\n"
        config.write_text(_nginx_config(root, port, after))
        route = f"""\
        router: nginx
        listen: "127.0.0.1:{port}"
        attach:
          config: "{config}"
          pid: "{pid_file}"
          include: "{include}"
          upstream: web
          access_log: "{root / "web.log"}"
        """
        yield proc, config, route
    finally:
        _stop(proc)


async def test_golive_drives_an_nginx_it_did_not_start(
    tmp_path: Path, servers: dict[str, int]
) -> None:
    with running_their_nginx(tmp_path, servers) as (proc, _, route):
        plan = parse_plan(_plan(servers, route), "p.yaml")
        providers = build_providers(plan, tmp_path / "state")
        router = providers.router
        assert isinstance(router, NginxRouter)
        assert await providers.start(Split.all_stable()) is False
        await _drive_attached_nginx(router, providers, int(router.port))
        await router.stop()
        await providers.close()
        assert master_pid(tmp_path / "their-nginx.pid", "nginx: master process") == proc.pid


async def test_a_split_is_verified_only_once_no_worker_of_the_old_configuration_accepts(
    tmp_path: Path, servers: dict[str, int]
) -> None:
    """A worker of the old configuration that has not yet acted on the reload (here: stopped;
    in life: busy, or not scheduled on a loaded machine) still takes connections, so the split
    is not verified, however many workers nginx now runs (their tooling went from 2 to 1)."""
    with running_their_nginx(tmp_path, servers) as (proc, config, route):
        providers = build_providers(parse_plan(_plan(servers, route), "p.yaml"), tmp_path / "s")
        router = providers.router
        assert isinstance(router, NginxRouter)
        await providers.start(Split.all_stable())
        await wait_verified(router, Split.all_stable())
        config.write_text(config.read_text().replace("worker_processes 2;", "worker_processes 1;"))
        old = sorted(_workers_of(proc.pid))
        busy, other = old
        os.kill(busy, signal.SIGSTOP)
        try:
            await router.apply(Split(50.0))
            for _ in range(400):  # until the other old worker has gone and the new one answers
                if other not in _workers_of(proc.pid) and await router.observe() == Split(50.0):
                    break
                await asyncio.sleep(0.01)
            else:
                raise AssertionError("nginx did not reload")
            assert await router.verify(Split(50.0)) is Verification.PENDING
        finally:
            os.kill(busy, signal.SIGCONT)
        await wait_verified(router, Split(50.0))
        assert busy not in _workers_of(proc.pid) or "shutting down" in _title(busy)
        seen = await _versions(router.port, 100)
        assert seen == Counter({"2.0.0": 50, "1.0.0-a": 25, "1.0.0-b": 25})
        await providers.close()


def _workers_of(master: int) -> set[int]:
    found = set()
    for task in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if task.name.isdigit() and (task / "stat").read_text().rsplit(")", 1)[1].split()[
                1
            ] == str(master):
                found.add(int(task.name))
    return found


def _title(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


async def _drive_attached_nginx(router: NginxRouter, providers: Providers, port: int) -> None:
    await wait_verified(router, Split.all_stable())
    assert set(await _versions(port, 20)) == {"1.0.0-a", "1.0.0-b"}
    target = Split(50.0, Segment("x-beta-user"))
    await router.apply(target)
    await wait_verified(router, target)
    seen = await _versions(port, 100)
    assert seen["2.0.0"] == 50 and seen["1.0.0-a"] == seen["1.0.0-b"] == 25
    assert await _versions(port, 10, {"x-beta-user": "1"}) == Counter({"2.0.0": 10})
    for _ in range(50):
        canary = await providers.metrics.sample(Revision.CANARY)
        if canary.requests >= 60:
            break
        await asyncio.sleep(0.02)
    assert canary.requests == 60
    good = router.include_path.read_text()
    router.upstreams = {
        **router.upstreams,
        "canary": ("http://127.0.0.1:0",),
    }  # nginx -t: invalid port
    with pytest.raises(PermanentError, match="nginx refused the configuration"):
        await router.apply(Split(60.0))
    assert router.include_path.read_text() == good  # put back as it was
    assert await router.observe() == target
