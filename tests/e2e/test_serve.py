"""``golive serve`` as a user runs it: a subprocess on loopback, real Envoy, real sample apps,
tokens made with the CLI; plans submitted, watched and acted on through the API."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port, start_app
from tests.e2e.plans import shop_plan
from tests.e2e.test_cli import GOLIVE

pytestmark = pytest.mark.e2e


def golive(*args: str, cwd: Path, token: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("GOLIVE_TOKEN", None)
    if token is not None:
        env["GOLIVE_TOKEN"] = token
    return subprocess.run(
        [GOLIVE, *args], cwd=cwd, capture_output=True, text=True, timeout=120, env=env
    )


def wait_until(what: str, check: Callable[[], object], limit: float = 60) -> object:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"not within {limit}s: {what}")


class Served:
    """A ``golive serve`` subprocess and an HTTP client for it."""

    def __init__(self, cwd: Path, *extra: str, verify: ssl.SSLContext | bool = True) -> None:
        self.port = free_port()
        self.log = (cwd / f"serve-{self.port}.log").open("w")
        self.proc = subprocess.Popen(
            [GOLIVE, "serve", "--listen", f"127.0.0.1:{self.port}", *extra], cwd=cwd,
            stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        scheme = "https" if "--tls-cert" in extra else "http"
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        self.http = httpx.Client(base_url=self.url, timeout=10, verify=verify)
        wait_until("the server answers", self._up, 30)

    def _up(self) -> bool:
        assert self.proc.poll() is None, self.output()
        with contextlib.suppress(httpx.TransportError):
            return self.http.get("/api/v1/health").status_code == 200
        return False

    def output(self) -> str:
        if not self.log.closed:
            self.log.flush()
        return Path(self.log.name).read_text()

    def call(self, method: str, path: str, token: str, **kw: object) -> httpx.Response:
        headers = {"authorization": f"Bearer {token}", **kw.pop("headers", {})}  # type: ignore[dict-item]
        return self.http.request(method, f"/api/v1{path}", headers=headers, **kw)  # type: ignore[arg-type]

    def detail(self, rid: str, token: str) -> dict[str, object]:
        response = self.call("GET", f"/rollouts/{rid}", token)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(5)
            self.http.close()
            self.log.close()
        return code


@pytest.fixture
def team(tmp_path: Path) -> Iterator[dict[str, str]]:
    """Tokens: ada (admin), olga (operator), rita (release-manager), vic (viewer)."""
    made = golive("token", "init", "ada", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    found = {"admin": made.stdout.split()[-1]}
    for user, role in (("olga", "operator"), ("rita", "release-manager"), ("vic", None)):
        args = ["token", "add", user, *(["--role", role] if role else [])]
        minted = golive(*args, cwd=tmp_path, token=found["admin"])
        assert minted.returncode == 0, minted.stderr
        found[user] = minted.stdout.split()[-1]
    yield found
    golive("down", cwd=tmp_path)


@pytest.fixture
def stable() -> Iterator[int]:
    proc, port = start_app("1.0.0", latency_ms=2)
    yield port
    proc.terminate()
    proc.wait(10)


def plan(stable_port: int, listen: int, gate: bool = True) -> str:
    canary = free_port()
    gated = "approvals:\n  go-live: {roles: [release-manager]}\n" if gate else ""
    return (
        shop_plan(stable_port, canary, listen)
        + f"""\
{gated}steps:
  - deploy: canary
{"  - approve: go-live" if gate else ""}
  - shift: 10
  - pause
  - shift: 50
  - promote
"""
    )


class Watch:
    """The rollout's event stream, read in a thread until it ends."""

    def __init__(self, url: str, token: str) -> None:
        self.lines: list[str] = []
        self.thread = threading.Thread(target=self._read, args=(url, token), daemon=True)
        self.thread.start()

    def _read(self, url: str, token: str) -> None:
        headers = {"authorization": f"Bearer {token}"}
        with httpx.stream("GET", url, headers=headers, timeout=120) as response:
            for line in response.iter_lines():
                self.lines.append(line)


def test_a_plan_submitted_through_the_api_is_paused_resumed_approved_and_promoted(
    tmp_path: Path, team: dict[str, str], stable: int
) -> None:
    listen = free_port()
    text = plan(stable, listen)
    server = Served(tmp_path)
    try:
        yaml_type = {"content-type": "application/yaml"}
        refused = server.call("POST", "/rollouts", team["vic"], content=text, headers=yaml_type)
        assert refused.status_code == 403
        made = server.call("POST", "/rollouts", team["olga"], content=text, headers=yaml_type)
        assert made.status_code == 201, made.text
        rid = made.json()["id"]
        watch = Watch(f"{server.url}/api/v1/rollouts/{rid}/events", team["vic"])
        wait_until(
            "the gate", lambda: "approval" in str(server.detail(rid, team["vic"])["waiting_for"])
        )
        assert server.call("POST", f"/rollouts/{rid}/abort", team["vic"]).status_code == 403
        assert server.call("POST", f"/rollouts/{rid}/pause", team["olga"]).status_code == 202
        wait_until("paused", lambda: server.detail(rid, team["vic"])["state"]["phase"] == "paused")  # type: ignore[index]
        assert server.call("POST", f"/rollouts/{rid}/resume", team["olga"]).status_code == 202
        wait_until(
            "waiting again",
            lambda: server.detail(rid, team["vic"])["state"]["phase"] == "progressing",
        )  # type: ignore[index]
        signed = server.call("POST", f"/rollouts/{rid}/approve", team["rita"],
                             json={"role": "release-manager", "note": "go"})  # fmt: skip
        assert signed.status_code == 200, signed.text
        at_pause = lambda: server.detail(rid, team["vic"])["steps"][3]["state"] == "paused"  # type: ignore[index]  # noqa: E731
        wait_until("the plan's pause step", at_pause)
        assert httpx.get(f"http://127.0.0.1:{listen}/", timeout=5).status_code == 200
        assert server.call("POST", f"/rollouts/{rid}/resume", team["olga"]).status_code == 202
        wait_until(
            "promoted", lambda: server.detail(rid, team["vic"])["state"]["phase"] == "promoted"
        )  # type: ignore[index]
        watch.thread.join(30)
        assert not watch.thread.is_alive(), "the event stream ends once the rollout settled"
        said = "\n".join(watch.lines)
        assert '"kind": "promoted"' in said and 'data: {"reason": "settled"}' in said
        assert "event: measurement" in said
        page = server.http.get("/status/shop")
        assert (
            page.status_code == 200
            and "<h1>shop</h1>" in page.text
            and "pill complete" in page.text
            and rid not in page.text
        )
        doc = server.http.get("/status/shop.json").json()
        assert {p["state"] for p in doc["phases"]} == {"done"} and doc["incident"] is None
        journal = server.call("GET", f"/rollouts/{rid}/journal?limit=1000", team["vic"]).json()
        notes = [e["message"] for e in journal["entries"] if e["kind"] == "api_request"]
        assert any("abort by vic (token) from 127.0.0.1: refused (403)" in n for n in notes)
        assert any("approve by rita (token) from 127.0.0.1: accepted" in n for n in notes)
        # the API's journal entries, written while the controller committed, kept it intact
        assert server.detail(rid, team["vic"])["audit"]["verdict"] == "intact"  # type: ignore[index]
    finally:
        code = server.stop()
    assert code == 0, server.output()
    assert "Traceback" not in server.output()


def _owner(server: Served, rid: str, token: str) -> str:
    return str(server.detail(rid, token)["controller"]["owner"])  # type: ignore[index]


def test_a_rollout_of_golive_run_shows_in_the_server_is_taken_over_and_survives_sigterm(
    tmp_path: Path, team: dict[str, str], stable: int
) -> None:
    listen = free_port()
    (tmp_path / "plan.yaml").write_text(plan(stable, listen, gate=False))
    server = Served(tmp_path)
    env = {**os.environ, "GOLIVE_TOKEN": team["olga"]}
    run = subprocess.Popen([GOLIVE, "run", "plan.yaml", "--json"], cwd=tmp_path, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)  # fmt: skip
    second: Served | None = None
    try:
        assert run.stdout is not None
        for line in run.stdout:
            if json.loads(line)["kind"] == "paused":
                break
        listed = server.call("GET", "/rollouts?service=shop&active=true", team["vic"]).json()
        rid = listed["rollouts"][0]["id"]
        assert _owner(server, rid, team["vic"]).endswith(f":{run.pid}"), "shown, not driven"
        run.kill()  # the terminal dies: its lease lapses at once on this host
        run.wait(10)
        wait_until(
            "taken over", lambda: _owner(server, rid, team["vic"]).endswith(f":{server.proc.pid}")
        )
        watch = Watch(f"{server.url}/api/v1/rollouts/{rid}/events", team["vic"])
        wait_until("the stream is open", lambda: watch.lines)
        assert server.stop() == 0, server.output()  # an open event stream does not hold it up
        watch.thread.join(10)
        assert 'data: {"reason": "reconnect"}' in watch.lines
        shown = golive("status", rid, "--json", cwd=tmp_path)
        assert shown.returncode == 0, shown.stderr
        after = json.loads(shown.stdout)
        assert (
            after["state"]["phase"] == "paused" and after["state"]["desired"]["canary_weight"] == 10
        )
        assert after["controller"]["running"] is False and after["audit"]["verdict"] == "intact"
        assert (
            httpx.get(f"http://127.0.0.1:{listen}/", timeout=5).status_code == 200
        )  # traffic untouched
        second = Served(tmp_path)
        assert second.call("POST", f"/rollouts/{rid}/resume", team["olga"]).status_code == 202
        wait_until(
            "promoted", lambda: second.detail(rid, team["vic"])["state"]["phase"] == "promoted", 90
        )  # type: ignore[union-attr, index]
    finally:
        if run.poll() is None:
            run.kill()
            run.wait(5)
        assert run.stdout is not None
        run.stdout.close()
        server.stop()
        if second is not None:
            assert second.stop() == 0, second.output()


def test_two_servers_on_one_state_directory_never_drive_a_rollout_twice(
    tmp_path: Path, team: dict[str, str], stable: int
) -> None:
    servers = [Served(tmp_path), Served(tmp_path)]
    try:
        text = plan(stable, free_port(), gate=False)
        made = servers[0].call("POST", "/rollouts", team["olga"], content=text,
                               headers={"content-type": "application/yaml"})  # fmt: skip
        assert made.status_code == 201, made.text
        rid = made.json()["id"]
        pids = {f":{s.proc.pid}": s for s in servers}
        wait_until(
            "paused at the plan's pause",
            lambda: servers[1].detail(rid, team["vic"])["state"]["phase"] == "paused",
        )  # type: ignore[index]
        owner = _owner(servers[0], rid, team["vic"])
        driver = next(s for suffix, s in pids.items() if owner.endswith(suffix))
        other = next(s for s in servers if s is not driver)
        journal = servers[1].call("GET", f"/rollouts/{rid}/journal?limit=1000", team["vic"]).json()
        kinds = [e["kind"] for e in journal["entries"]]
        assert kinds.count("rollout_started") == 1 and kinds.count("paused") == 1, kinds
        assert driver.stop() == 0, driver.output()  # the other takes over once the lease is free
        wait_until(
            "taken over", lambda: _owner(other, rid, team["vic"]).endswith(f":{other.proc.pid}")
        )
        assert other.call("POST", f"/rollouts/{rid}/abort", team["olga"]).status_code == 202
        wait_until("aborted", lambda: other.detail(rid, team["vic"])["state"]["phase"] == "aborted")  # type: ignore[index]
    finally:
        for s in servers:
            s.stop()


def test_serve_refuses_a_taken_port_and_an_open_address_without_a_token(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = golive("serve", "--listen", f"127.0.0.1:{port}", cwd=tmp_path)
    assert busy.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in busy.stderr
    open_ = golive("serve", "--listen", f"0.0.0.0:{free_port()}", cwd=tmp_path)
    assert open_.returncode == 2 and "while no API token exists" in open_.stderr
    nonsense = golive("serve", "--listen", "nowhere", cwd=tmp_path)
    assert nonsense.returncode == 2 and "expected HOST:PORT" in nonsense.stderr
    assert "Traceback" not in busy.stderr + open_.stderr + nonsense.stderr


def test_a_loopback_server_answers_its_own_names_only(tmp_path: Path) -> None:
    """DNS rebinding: a page of evil.example that resolves its name to 127.0.0.1 reaches the
    server with 'Host: evil.example'; it gets a JSON 421, on the API and on the dashboard."""
    server = Served(tmp_path, "--allow-host", "golive.internal")
    try:
        port = server.port
        for host in ("evil.example", f"evil.example:{port}", "127.0.0.1.evil.example", "a b"):
            for path in ("/api/v1/health", "/ui/login", "/status/shop"):
                answer = server.http.get(path, headers={"host": host})
                assert answer.status_code == 421, (host, path, answer.text)
                assert "Host header" in answer.json()["error"]
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}",
                     f"golive.internal:{port}", "GOLIVE.INTERNAL"):  # fmt: skip
            assert server.http.get("/api/v1/health", headers={"host": host}).status_code == 200
    finally:
        assert server.stop() == 0


def test_serve_over_tls_with_a_certificate_and_refuses_a_key_that_does_not_match(
    tmp_path: Path,
) -> None:
    cert, key, other = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "other.pem"
    for k, c in ((key, cert), (other, tmp_path / "other-cert.pem")):
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
             "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
             "-keyout", str(k), "-out", str(c)],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
    server = Served(
        tmp_path,
        "--tls-cert",
        str(cert),
        "--tls-key",
        str(key),
        verify=ssl.create_default_context(cafile=cert),
    )
    try:
        assert server.http.get("/api/v1/health").status_code == 200
        assert "https://127.0.0.1:" in server.output()
    finally:
        assert server.stop() == 0
    wrong = golive("serve", "--listen", f"127.0.0.1:{free_port()}", "--tls-cert", str(cert),
                   "--tls-key", str(other), cwd=tmp_path)  # fmt: skip
    assert wrong.returncode == 2 and "cannot use --tls-cert" in wrong.stderr, wrong.stderr
    alone = golive("serve", "--tls-cert", str(cert), cwd=tmp_path)
    assert alone.returncode == 2 and "go together" in alone.stderr
    assert "Traceback" not in wrong.stderr + alone.stderr


def test_serve_killed_9_just_after_accepting_a_rollback_the_next_server_finishes_it(
    tmp_path: Path, team: dict[str, str], stable: int
) -> None:
    """kill -9 at the worst moment: the API has answered 202 to a rollback, the controller may
    or may not have acted. Traffic keeps flowing meanwhile (the proxy is not the server's
    child to lose), the next server takes the rollout over, the rollback ends it, every
    request is answered by stable, and the record audits intact."""
    listen = free_port()
    first = Served(tmp_path)
    second: Served | None = None
    try:
        made = first.call("POST", "/rollouts", team["olga"],
                          content=plan(stable, listen, gate=False).encode(),
                          headers={"content-type": "application/yaml"})  # fmt: skip
        assert made.status_code == 201, made.text
        rid = made.json()["id"]
        wait_until("paused at 10%",
                   lambda: first.detail(rid, team["vic"])["state"]["phase"] == "paused", 90)  # type: ignore[index]  # fmt: skip
        asked = first.call("POST", f"/rollouts/{rid}/rollback", team["olga"],
                           json={"reason": "kill -9 test"})  # fmt: skip
        assert asked.status_code == 202, asked.text
        first.proc.kill()
        first.proc.wait(10)
        assert httpx.get(f"http://127.0.0.1:{listen}/", timeout=5).status_code == 200
        second = Served(tmp_path)
        wait_until(
            "rolled back by the next server",
            lambda: second.detail(rid, team["vic"])["state"]["phase"] == "rolled_back",  # type: ignore[union-attr, index]
            60,
        )
        versions = {
            httpx.get(f"http://127.0.0.1:{listen}/", timeout=5).headers.get("x-version")
            for _ in range(30)
        }
        assert versions == {"1.0.0"}
        shown = json.loads(golive("status", rid, "--json", cwd=tmp_path).stdout)
        assert shown["audit"]["verdict"] == "intact"
        kinds = [e["kind"] for e in shown["events"]]
        assert kinds.count("rollback_started") == 1, kinds
    finally:
        first.stop()
        if second is not None:
            assert second.stop() == 0, second.output()


def test_release_after_release_through_the_api_leaves_only_what_serves(tmp_path: Path) -> None:
    """The second and third release of a service, submitted to one server: 2.0.0 promoted,
    3.0.0 rolled back through the API (its canary stopped, 2.0.0 untouched), 3.0.0 again and
    promoted (2.0.0 retired once drained); the status page tells the last one."""
    from golive.processes import pid_alive
    from tests.e2e.test_releases import golive_versions, owned_pid, release, versions

    first, a = start_app("1.0.0", latency_ms=2)
    made = golive("token", "init", "ada", cwd=tmp_path)
    olga = golive("token", "add", "olga", "--role", "operator", cwd=tmp_path,
                  token=made.stdout.split()[-1]).stdout.split()[-1]  # fmt: skip
    listen, b, c = free_port(), free_port(), free_port()
    server = Served(tmp_path)
    phase = lambda rid: server.detail(rid, olga)["state"]["phase"]  # type: ignore[index]  # noqa: E731

    def submit(text: str) -> str:
        made = server.call("POST", "/rollouts", olga, content=text,
                           headers={"content-type": "application/yaml"})  # fmt: skip
        assert made.status_code == 201, made.text
        return str(made.json()["id"])

    try:
        two = submit(release(("1.0.0", a), ("2.0.0", b), listen, pause=False))
        wait_until("2.0.0 promoted", lambda: phase(two) == "promoted", 90)
        assert versions(listen) == {"2.0.0"} and golive_versions(tmp_path) == {"2.0.0"}
        serving = owned_pid(tmp_path, "2.0.0")
        bad = submit(release(("2.0.0", b), ("3.0.0", c), listen, pause=True))
        wait_until("3.0.0 at its pause", lambda: phase(bad) == "paused", 90)
        canary = owned_pid(tmp_path, "3.0.0")
        assert canary is not None
        back = server.call("POST", f"/rollouts/{bad}/rollback", olga, json={"reason": "bad"})
        assert back.status_code == 202, back.text
        wait_until("rolled back", lambda: phase(bad) == "rolled_back", 60)
        wait_until("the 3.0.0 canary stopped", lambda: not pid_alive(canary), 60)
        assert versions(listen) == {"2.0.0"} and owned_pid(tmp_path, "2.0.0") == serving
        three = submit(release(("2.0.0", b), ("3.0.0", c), listen, pause=False))
        wait_until("3.0.0 promoted", lambda: phase(three) == "promoted", 90)
        wait_until("2.0.0 retired", lambda: golive_versions(tmp_path) == {"3.0.0"}, 60)
        assert versions(listen) == {"3.0.0"} and first.poll() is None
        page = server.http.get("/status/shop.json").json()
        assert page["state"] == "complete" and page["incident"] is None
    finally:
        code = server.stop()
        golive("down", cwd=tmp_path)
        first.terminate()
        first.wait(10)
    assert code == 0 and "Traceback" not in server.output(), server.output()


def test_a_connection_whose_headers_never_end_is_closed(tmp_path: Path) -> None:
    """Found by opening 3,000 such connections: after 70 s all were still held (3,010 file
    descriptors in the server, which its controller needs too). uvicorn has no timeout for a
    request head; golive's protocol closes such a connection after 10 s
    (server/connections.py), and a request being answered, an event stream, is never cut."""
    server = Served(tmp_path)
    held: list[socket.socket] = []
    try:
        for _ in range(50):
            conn = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            conn.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # no blank line
            held.append(conn)
        time.sleep(12)
        still = 0
        for conn in held:
            conn.settimeout(0.05)
            try:
                still += conn.recv(1) != b""  # b"": closed by the server
            except TimeoutError:
                still += 1
            except OSError:
                pass
        assert still == 0, f"{still} of {len(held)} connections still held after 12 s"
        assert server.http.get("/api/v1/health").status_code == 200
    finally:
        for conn in held:
            conn.close()
        assert server.stop() == 0


def test_serve_killed_9_again_and_again_mid_shift_ends_the_rollout_once(tmp_path: Path) -> None:
    """kill -9 of the server five times while it shifts traffic step by step: each next server
    takes the rollout over from the recorded step, traffic keeps flowing, every step is
    journaled once and the record audits intact."""
    from tests.e2e.test_releases import release, versions

    first, a = start_app("1.0.0", latency_ms=2)
    made = golive("token", "init", "ada", cwd=tmp_path)
    olga = golive("token", "add", "olga", "--role", "operator", cwd=tmp_path,
                  token=made.stdout.split()[-1]).stdout.split()[-1]  # fmt: skip
    listen, b = free_port(), free_port()
    steps = "".join(f"  - shift: {w}\n  - pause: 1s\n" for w in (10, 20, 30, 40, 50, 60))
    text = release(("1.0.0", a), ("2.0.0", b), listen, pause=False).replace(
        "  - shift: 50\n", steps
    )
    server = Served(tmp_path)
    try:
        made = server.call("POST", "/rollouts", olga, content=text,
                           headers={"content-type": "application/yaml"})  # fmt: skip
        assert made.status_code == 201, made.text
        rid = made.json()["id"]
        for delay in (0.9, 0.4, 0.25, 0.6, 0.15):
            time.sleep(delay)
            server.proc.kill()
            server.proc.wait(10)
            server.stop()
            assert versions(listen, 5) <= {"1.0.0", "2.0.0"}  # the proxy still answers
            server = Served(tmp_path)
        wait_until("promoted", lambda: server.detail(rid, olga)["state"]["phase"] == "promoted", 90)
        assert versions(listen) == {"2.0.0"}
        shown = json.loads(golive("status", rid, "--json", cwd=tmp_path).stdout)
        assert shown["audit"]["verdict"] == "intact"
        kinds = [e["kind"] for e in shown["events"]]
        assert kinds.count("rollout_started") == 1 and kinds.count("promoted") == 1, kinds
        assert kinds.count("step_completed") == 13, kinds  # deploy, 6 shifts, 6 pauses
    finally:
        server.stop()
        golive("down", cwd=tmp_path)
        first.terminate()
        first.wait(10)
