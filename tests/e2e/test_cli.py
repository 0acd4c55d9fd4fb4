"""golive as a user runs it: the CLI as a subprocess, real Envoy, real sample apps, loopback."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from golive.demo.load import LoadGenerator, LoadStats
from tests.conftest import free_port, start_app

pytestmark = pytest.mark.e2e
GOLIVE = str(Path(sys.executable).parent / "golive")


def golive(
    *args: str, cwd: Path, timeout: float = 180, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [GOLIVE, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    golive("down", cwd=tmp_path, timeout=60)
    golive("--state-dir", ".golive/demo", "down", cwd=tmp_path, timeout=60)


def test_demo_promotes(workdir: Path) -> None:
    result = golive("demo", cwd=workdir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "promoted" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    status = json.loads(
        golive("--state-dir", ".golive/demo", "status", "--json", cwd=workdir).stdout
    )
    assert status[0]["phase"] == "promoted"


def test_demo_bad_rolls_back_and_says_why_and_how_fast(workdir: Path) -> None:
    result = golive("demo", "--bad", cwd=workdir)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "rolled back" in result.stdout
    # the sequential judge (errors or latency, whichever has the evidence first) or a trigger
    # explains the rollback
    explained = ("regression beyond the x1.05 tolerance", "slower than stable beyond", "fired")
    assert any(why in result.stdout for why in explained), result.stdout
    assert "ms after the decision" in result.stdout


def test_an_invalid_plan_exits_2_with_file_line_column(workdir: Path) -> None:
    plan = workdir / "plan.yaml"
    plan.write_text(
        "service: shop\nrevisions: {stable: {version: 1, url: 'http://127.0.0.1:1'},"
        " canary: {version: 2, url: 'http://127.0.0.1:2'}}\nsteps:\n  - shift: 500\n"
    )
    result = golive("plan", "check", str(plan), cwd=workdir)
    assert result.returncode == 2
    assert (
        f"{plan}:4:12: steps[0].shift.weight: input should be less than or equal to 100"
        in result.stderr
    )
    assert "Traceback" not in result.stderr
    result = golive("run", str(workdir / "missing.yaml"), cwd=workdir)
    assert result.returncode == 2 and "no such file" in result.stderr
    assert f"{workdir / 'missing.yaml'}: no such file" in result.stderr  # not 'missing.yaml:0:0'


def test_a_plan_is_read_from_standard_input_as_dash(tmp_path: Path) -> None:
    """`golive plan check -` said '-:0:0: no such file'."""
    text = (
        "service: shop\nrevisions: {stable: {version: 1, url: 'http://127.0.0.1:1'},"
        " canary: {version: 2, url: 'http://127.0.0.1:2'}}\nsteps:\n  - shift: 5\n"
    )
    ok = subprocess.run(
        [GOLIVE, "plan", "check", "-"], input=text, capture_output=True, text=True,
        cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert ok.returncode == 0 and "<stdin>: valid plan for shop" in ok.stdout, ok.stderr
    bad = subprocess.run(
        [GOLIVE, "plan", "check", "-"], input=text.replace("5", "500"), capture_output=True,
        text=True, cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert bad.returncode == 2 and "<stdin>:4:12: steps[0].shift.weight" in bad.stderr


def _plan(stable_port: int, canary_port: int, listen: int) -> str:
    return f"""\
service: shop
revisions:
  stable: {{version: 1.0.0, url: "http://127.0.0.1:{stable_port}"}}
  canary:
    version: 2.0.0
    url: "http://127.0.0.1:{canary_port}"
    process:
      command: ["{sys.executable}", -m, golive.demo.app, --port, "{canary_port}", --version, 2.0.0, --latency-ms, "2"]
      ready: "http://127.0.0.1:{canary_port}/health"
route: {{router: envoy, listen: "127.0.0.1:{listen}"}}
metrics: {{interval: 500ms}}
judge: {{min_requests: 20}}
drain: {{grace: 1s, timeout: 10s}}
steps:
  - deploy: canary
  - shift: 10
  - analyze: 8s
  - shift: 50
  - analyze: 2s
  - promote
"""


class BackgroundLoad:
    def __init__(self, url: str) -> None:
        self.gen = LoadGenerator(url, rate=100, max_requests=9000, max_seconds=90, concurrency=4)
        self.loop = asyncio.new_event_loop()
        self.stats: LoadStats | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.stats = self.loop.run_until_complete(self.gen.run())
        finally:
            self.loop.close()

    def stop(self) -> LoadStats:
        if not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.gen.stop)
        self.thread.join(15)
        assert self.stats is not None
        return self.stats


def test_kill_9_during_analyze_then_resume_reaches_the_same_end(workdir: Path) -> None:
    stable, stable_port = start_app("1.0.0", latency_ms=2)
    listen = free_port()
    plan = workdir / "plan.yaml"
    plan.write_text(_plan(stable_port, free_port(), listen))
    run = subprocess.Popen(
        [GOLIVE, "run", str(plan), "--json"],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    load: BackgroundLoad | None = None
    try:
        assert run.stdout is not None
        deadline = time.monotonic() + 60
        for line in run.stdout:
            event = json.loads(line)
            if load is None and event["kind"] == "step_completed":
                load = BackgroundLoad(f"http://127.0.0.1:{listen}/")
                load.thread.start()
            if event["kind"] == "step_completed" and "serves 10%" in event["message"]:
                break
            assert time.monotonic() < deadline, "the shift to 10% never completed"
        time.sleep(2)  # inside the analyze step
        run.send_signal(signal.SIGKILL)
        run.wait(10)
        rid = json.loads(golive("status", "--json", cwd=workdir).stdout)[0]["id"]
        time.sleep(1)  # the data plane keeps serving while no controller runs
        resumed = golive("resume", rid, cwd=workdir, timeout=120)
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        status = json.loads(golive("status", rid, "--json", cwd=workdir).stdout)
        assert status["state"]["phase"] == "promoted"
        assert status["state"]["desired"]["canary_weight"] == 100.0
        kinds = [e["kind"] for e in status["events"]]
        assert "promoted" in kinds
        judged = {m["metric"]: m["status"] for m in status["judge"]}  # rebuilt from measurements
        assert judged and set(judged.values()) <= {"ok", "not yet known"}, judged
        watched = golive("status", rid, "--watch", cwd=workdir, timeout=30)
        assert watched.returncode == 0 and watched.stdout.rstrip().endswith(": promoted")
        assert load is not None
        stats = load.stop()
        load = None
        assert stats.sent > 500
        assert (stats.failed, stats.errors) == (0, 0), "the controller crash disturbed traffic"
        assert stats.by_version.get("2.0.0", 0) > 0
    finally:
        if load is not None:
            load.stop()
        if run.poll() is None:
            run.kill()
            run.wait(5)
        assert run.stdout is not None
        run.stdout.close()
        stable.terminate()
        stable.wait(10)


def test_operator_commands_reach_a_running_controller(workdir: Path) -> None:
    stable, stable_port = start_app("1.0.0", latency_ms=2)
    plan = workdir / "plan.yaml"
    plan.write_text(
        _plan(stable_port, free_port(), free_port()).replace("  - analyze: 8s\n", "  - pause\n")
    )
    run = subprocess.Popen(
        [GOLIVE, "run", str(plan), "--json"],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert run.stdout is not None
        for line in run.stdout:
            if json.loads(line)["kind"] == "paused":
                break
        rid = json.loads(golive("status", "--json", cwd=workdir).stdout)[0]["id"]
        aborted = golive("abort", rid, "--reason", "found a bug", cwd=workdir)
        assert aborted.returncode == 0, aborted.stderr
        assert run.wait(30) == 3
        status = json.loads(golive("status", rid, "--json", cwd=workdir).stdout)
        assert status["state"]["phase"] == "aborted"
        assert status["state"]["reason"] == "found a bug"
    finally:
        if run.poll() is None:
            run.kill()
            run.wait(5)
        assert run.stdout is not None
        run.stdout.close()
        stable.terminate()
        stable.wait(10)


def test_demo_through_haproxy_rolls_back_a_bad_canary(workdir: Path) -> None:
    result = golive("demo", "--router", "haproxy", "--bad", cwd=workdir)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "rolled back" in result.stdout and "ms after the decision" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_demo_through_nginx_rolls_back_a_bad_canary(workdir: Path) -> None:
    result = golive("demo", "--router", "nginx", "--bad", cwd=workdir)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "rolled back" in result.stdout and "0 connection errors" in result.stdout


def test_demo_keep_then_down_stops_everything_and_earlier_demos_are_kept(workdir: Path) -> None:
    """Issue #12.13: after `demo --keep`, `golive down` said "nothing to stop" and left the
    demo's stable app running; every demo wiped the earlier demo rollouts."""
    first = golive("demo", "--json", cwd=workdir)
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout.strip().splitlines()[-1])
    assert summary["phase"] == "promoted" and summary["rollout"].startswith("demo-shop-")
    kept = golive("demo", "--keep", cwd=workdir)
    assert kept.returncode == 0, kept.stdout + kept.stderr
    listed = json.loads(
        golive("--state-dir", ".golive/demo", "status", "--json", cwd=workdir).stdout
    )
    assert len(listed) == 2, "the earlier demo rollout is kept"
    down = golive("down", cwd=workdir)
    said = " ".join(down.stdout.split())
    # 2.0.0 was retired by the promotion itself (golive owned it); 2.1.0 now serves
    assert "stopped demo-shop 2.1.0" in said and "stopped demo-shop envoy" in said, said
    again = golive("down", cwd=workdir)
    assert "stopped" not in again.stdout


def test_load_sends_bounded_traffic_and_counts_versions(tmp_path: Path) -> None:
    """Issue #12.14: a quiet service needs traffic for its canary to be judged."""
    app, port = start_app("3.1.4", latency_ms=1)
    try:
        result = golive("load", f"http://127.0.0.1:{port}/", "--rps", "50", "--duration", "2s",
                        "--json", cwd=tmp_path)  # fmt: skip
        assert result.returncode == 0, result.stderr
        summary = json.loads(result.stdout)
        assert 60 <= summary["sent"] <= 101 and summary["by_version"] == {"3.1.4": summary["sent"]}
        for flag, value, said in (("--rps", "0", "between 0 and 5000 requests/s, got 0"),
                                  ("--rps", "nan", "between 0 and 5000 requests/s, got nan"),
                                  ("--duration", "2h", "2h: between 1s and 1h"),
                                  ("--concurrency", "65", "between 1 and 64 connections")):  # fmt: skip
            bad = golive("load", "http://127.0.0.1:1/", flag, value, cwd=tmp_path)
            assert bad.returncode == 2, "a bad argument is a usage error, as for every verb"
            assert f"argument {flag}: {said}" in bad.stderr, bad.stderr
        crlf = golive("load", f"http://127.0.0.1:{port}/", "--header", "x: a\rb", cwd=tmp_path)
        assert crlf.returncode == 1 and "not a header" in crlf.stderr
    finally:
        app.terminate()
        app.wait(10)


def test_a_canary_200ms_slower_through_haproxy_is_rolled_back_by_the_judge_on_latency(
    workdir: Path,
) -> None:
    """HAProxy's statistics have no latency histogram; golive's HAProxy logs every request to a
    file golive reads, so a canary as correct as stable but 200 ms slower is not promoted."""
    stable, stable_port = start_app("1.0.0", latency_ms=20)
    canary, canary_port = start_app("2.0.0", latency_ms=220)
    listen = free_port()
    plan = workdir / "plan.yaml"
    plan.write_text(f"""\
service: shop
revisions:
  stable: {{version: 1.0.0, url: "http://127.0.0.1:{stable_port}"}}
  canary: {{version: 2.0.0, url: "http://127.0.0.1:{canary_port}"}}
route: {{router: haproxy, listen: "127.0.0.1:{listen}"}}
metrics: {{interval: 500ms}}
judge: {{min_requests: 20}}
drain: {{grace: 1s, timeout: 10s}}
steps:
  - shift: 25
  - analyze: 20s
  - promote
""")
    checked = golive("plan", "check", str(plan), cwd=workdir)
    assert checked.returncode == 0 and "warning" not in checked.stdout, checked.stdout
    load = BackgroundLoad(f"http://127.0.0.1:{listen}/")
    load.thread.start()
    try:
        result = golive("run", str(plan), cwd=workdir, timeout=120)
    finally:
        load.stop()
        for proc in (stable, canary):
            proc.terminate()
            proc.wait(timeout=10)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "rolled back" in result.stdout
    assert "slower than stable" in result.stdout, result.stdout
    assert "latency not judged" not in result.stdout


def test_plan_check_refuses_a_plan_without_latency_unless_it_says_so_then_warns(
    workdir: Path,
) -> None:
    plan = workdir / "plan.yaml"
    text = """\
service: shop
revisions:
  stable: {version: 1, url: "http://127.0.0.1:9001"}
  canary: {version: 2, url: "http://127.0.0.1:9002"}
route:
  router: haproxy
  attach: {socket: /run/haproxy/admin.sock, backend: web, stable: [a1], canary: [b1]}
metrics: {source: router}
steps:
  - shift: 10
"""
    plan.write_text(text)
    refused = golive("plan", "check", str(plan), cwd=workdir)
    assert refused.returncode == 2
    assert f"{plan}:8:10: metrics: no latency source" in refused.stderr
    plan.write_text(text.replace("{source: router}", "{source: router, latency: not judged}"))
    said = golive("plan", "check", str(plan), cwd=workdir)
    assert said.returncode == 0, said.stderr
    assert "warning: latency not judged: HAProxy's statistics have no latency histogram" in (
        said.stdout
    )
