"""golive's own proxy killed (kill -9) in the middle of a rollout: the controller starts it
again serving the desired split (not one that 'golive down' stopped). It once retried the write
four times, recorded one failure and then waited for an analysis that no request could ever
reach, the service down behind a dead proxy, until a person noticed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from golive.processes import live_pid
from tests.conftest import free_port, start_app
from tests.e2e.test_cli import GOLIVE, golive

pytestmark = pytest.mark.e2e


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


@pytest.mark.parametrize(
    ("router", "pid_file"),
    [
        ("envoy", "envoy/shop/envoy.pid"),
        ("haproxy", "haproxy/shop/haproxy.pid"),
    ],
)
def test_a_killed_proxy_is_started_again_by_the_controller(
    tmp_path: Path, router: str, pid_file: str
) -> None:
    stable, stable_port = start_app("1.0.0")
    canary, canary_port = start_app("2.0.0")
    listen = free_port()
    (tmp_path / "plan.yaml").write_text(
        "service: shop\n"
        "revisions:\n"
        f'  stable: {{version: "1.0.0", url: "http://127.0.0.1:{stable_port}"}}\n'
        f'  canary: {{version: "2.0.0", url: "http://127.0.0.1:{canary_port}"}}\n'
        f'route: {{router: {router}, listen: "127.0.0.1:{listen}"}}\n'
        "steps:\n  - shift: 20\n  - analyze: 10m\n  - promote\n"
    )
    run = subprocess.Popen(
        [GOLIVE, "run", "plan.yaml"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            listed = json.loads(golive("status", "--json", cwd=tmp_path).stdout or "[]")
            if listed and "analysis" in listed[0]["waiting_for"]:
                break
            time.sleep(0.3)
        else:
            raise AssertionError("the rollout never reached its analysis")
        rid = listed[0]["id"]
        pid_path = tmp_path / ".golive" / pid_file
        pid = live_pid(pid_path)
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        url = f"http://127.0.0.1:{listen}/"
        deadline = time.monotonic() + 60
        while not _answers(url):
            assert run.poll() is None
            assert time.monotonic() < deadline, "the service stayed down behind a dead proxy"
            time.sleep(0.3)
        restarted = live_pid(pid_path)
        assert restarted is not None and restarted != pid
        status = json.loads(golive("status", rid, "--json", cwd=tmp_path).stdout)
        assert status["state"]["phase"] == "progressing", status["state"]
        assert any(e["kind"] == "router_started" for e in status["events"]), status["events"]
        # ... but one 'golive down' stopped stays stopped, the controller running or not
        seen = len(status["events"])
        assert golive("down", cwd=tmp_path, timeout=60).returncode == 0
        deadline = time.monotonic() + 60
        while True:
            status = json.loads(golive("status", rid, "--json", cwd=tmp_path).stdout)
            if any(e["kind"] == "action_failed" for e in status["events"][seen:]):
                break
            assert time.monotonic() < deadline, status["events"][seen:]
            time.sleep(0.3)
        assert not any(e["kind"] == "router_started" for e in status["events"][seen:])
        assert live_pid(pid_path) is None and not _answers(url)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait(10)
        golive("down", cwd=tmp_path, timeout=60)
        for app in (stable, canary):
            app.terminate()
            app.wait(10)
