"""Release after release in one state directory, as docs/tutorial.md's "next release" tells it:
the CLI as a subprocess, real Envoy, sample apps started by golive; and a controller killed
while it drains a rolled-back canary."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from golive.processes import live_pid, pid_alive
from tests.conftest import free_port, start_app
from tests.e2e.test_cli import GOLIVE, golive

pytestmark = pytest.mark.e2e


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    golive("down", cwd=tmp_path, timeout=60)


def release(
    stable: tuple[str, int], canary: tuple[str, int], listen: int, pause: bool, grace: str = "1s"
) -> str:
    (sv, sp), (cv, cp) = stable, canary
    return f"""\
service: shop
revisions:
  stable: {{version: {sv}, url: "http://127.0.0.1:{sp}"}}
  canary:
    version: {cv}
    url: "http://127.0.0.1:{cp}"
    process:
      command: ["{sys.executable}", -m, golive.demo.app, --port, "{cp}", --version, {cv}, --latency-ms, "2"]
      ready: "http://127.0.0.1:{cp}/health"
route: {{router: envoy, listen: "127.0.0.1:{listen}"}}
metrics: {{interval: 500ms}}
drain: {{grace: {grace}, timeout: 30s}}
steps:
  - deploy: canary
  - shift: 50
{"  - pause" if pause else ""}
  - promote
"""


def versions(listen: int, n: int = 20) -> set[str]:
    """The versions that answer through the route."""
    seen = set()
    for _ in range(n):
        with urllib.request.urlopen(f"http://127.0.0.1:{listen}/", timeout=5) as resp:
            seen.add(json.loads(resp.read())["version"])
    return seen


def owned_pid(workdir: Path, version: str) -> int | None:
    return live_pid(workdir / ".golive" / "revisions" / "shop" / version / "process.pid")


def golive_versions(workdir: Path) -> set[str]:
    """The versions of shop that golive has a live process of."""
    dirs = (workdir / ".golive" / "revisions" / "shop").glob("*")
    return {d.name for d in dirs if live_pid(d / "process.pid") is not None}


def status(workdir: Path, rid: str) -> dict:  # type: ignore[type-arg]
    return json.loads(golive("status", rid, "--json", cwd=workdir).stdout)  # type: ignore[no-any-return]


def start_paused(workdir: Path, plan: Path) -> tuple[subprocess.Popen[str], str]:
    """``golive run`` in the background, until the plan's pause; the rollout's id."""
    run = subprocess.Popen(
        [GOLIVE, "run", str(plan), "--json"],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert run.stdout is not None
    deadline = time.monotonic() + 60
    for line in run.stdout:
        if json.loads(line)["kind"] == "paused":
            break
        assert time.monotonic() < deadline, "the rollout never reached its pause"
    rid = json.loads(golive("status", "--json", cwd=workdir).stdout)[0]["id"]
    return run, rid


def stop(run: subprocess.Popen[str] | None) -> None:
    if run is None:
        return
    if run.poll() is None:
        run.kill()
        run.wait(5)
    assert run.stdout is not None
    run.stdout.close()


def test_release_after_release_leaves_only_what_serves(workdir: Path) -> None:
    first, a = start_app("1.0.0", latency_ms=2)  # release 1 runs outside golive
    listen, b, c = free_port(), free_port(), free_port()
    plan = workdir / "release.yaml"
    run: subprocess.Popen[str] | None = None
    try:
        plan.write_text(release(("1.0.0", a), ("2.0.0", b), listen, pause=False))
        two = golive("run", str(plan), cwd=workdir)
        assert two.returncode == 0, two.stdout + two.stderr
        assert versions(listen) == {"2.0.0"}
        assert first.poll() is None, "golive stopped a server it did not start"
        assert golive_versions(workdir) == {"2.0.0"}
        serving = owned_pid(workdir, "2.0.0")
        assert serving is not None

        # release 3 is bad: an operator rolls it back from a second terminal
        plan.write_text(release(("2.0.0", b), ("3.0.0", c), listen, pause=True))
        run, rid = start_paused(workdir, plan)
        canary = owned_pid(workdir, "3.0.0")
        assert canary is not None and owned_pid(workdir, "2.0.0") == serving  # not restarted
        assert golive("rollback", rid, cwd=workdir).returncode == 0
        assert run.wait(60) == 3
        assert versions(listen) == {"2.0.0"}
        assert not pid_alive(canary), "the rolled-back canary is still running"
        assert owned_pid(workdir, "2.0.0") == serving and pid_alive(serving)
        assert golive_versions(workdir) == {"2.0.0"}
        assert status(workdir, rid)["state"]["retiring"] == []

        # release 3, fixed: 2.0.0 is retired once drained
        plan.write_text(release(("2.0.0", b), ("3.0.0", c), listen, pause=False))
        three = golive("run", str(plan), cwd=workdir)
        assert three.returncode == 0, three.stdout + three.stderr
        assert versions(listen) == {"3.0.0"}
        assert not pid_alive(serving), "the previous release is still running"
        assert golive_versions(workdir) == {"3.0.0"}
        rid = json.loads(golive("status", "--json", cwd=workdir).stdout)[0]["id"]
        messages = [e["message"] for e in status(workdir, rid)["events"] if e["kind"] == "retired"]
        assert messages == ["stable 2.0.0 stopped"]

        down = golive("down", cwd=workdir)
        assert "golive down stops everything golive started, production included" in down.stdout
        assert "stopped shop 3.0.0" in down.stdout and "serving production" in down.stdout
        assert first.poll() is None
    finally:
        stop(run)
        first.terminate()
        first.wait(10)


def wait_for_event(db: Path, rid: str, kind: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with sqlite3.connect(db, timeout=5) as con:
            found = con.execute(
                "SELECT 1 FROM events WHERE rollout_id = ? AND kind = ?", (rid, kind)
            ).fetchone()
        if found:
            return
        time.sleep(0.02)
    raise AssertionError(f"no {kind} event within 60 s")


@pytest.mark.parametrize("verb", ["resume", "down", "run"])
def test_a_controller_killed_while_draining_leaves_the_retirement_to_resume_down_or_run(
    workdir: Path, verb: str
) -> None:
    stable, a = start_app("1.0.0", latency_ms=2)
    plan = workdir / "release.yaml"
    plan.write_text(release(("1.0.0", a), ("2.0.0", free_port()), free_port(), True, "5s"))
    run: subprocess.Popen[str] | None = None
    try:
        run, rid = start_paused(workdir, plan)
        canary = owned_pid(workdir, "2.0.0")
        assert canary is not None
        assert golive("rollback", rid, cwd=workdir).returncode == 0
        db = workdir / ".golive" / "golive.db"
        wait_for_event(db, rid, "traffic_safe")
        wait_for_event(db, rid, "rolled_back")  # the next pass: now draining the canary
        run.send_signal(signal.SIGKILL)
        run.wait(10)
        state = status(workdir, rid)["state"]
        assert (state["phase"], state["retiring"]) == ("rolled_back", ["canary"])
        assert pid_alive(canary)

        args = {"resume": [rid], "down": [], "run": [str(plan)]}[verb]
        if verb == "run":  # the next release of the service (the same one, without its pause)
            plan.write_text(plan.read_text().replace("  - pause\n", ""))
        done = golive(verb, *args, cwd=workdir, timeout=120)
        assert done.returncode == (3 if verb == "resume" else 0), done.stdout + done.stderr
        assert "Traceback" not in done.stdout + done.stderr
        assert not pid_alive(canary), f"golive {verb} left the rolled-back canary running"
        after = status(workdir, rid)
        assert after["state"]["retiring"] == []
        retired = [e["message"] for e in after["events"] if e["kind"] == "retired"]
        assert len(retired) == 1 and retired[0].startswith("canary 2.0.0 stopped")
        if verb == "down":
            assert "stopped shop 2.0.0" in done.stdout and "retirement pending" in done.stdout
        if verb == "run":
            assert f"rollout {rid} (rolled_back) still has to retire: canary" in done.stdout
            assert owned_pid(workdir, "2.0.0") not in (None, canary)  # the next one, fresh
        assert stable.poll() is None
    finally:
        stop(run)
        stable.terminate()
        stable.wait(10)
