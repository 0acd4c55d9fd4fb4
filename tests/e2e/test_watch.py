"""The watch window after promotion, through the CLI: real Envoy, the sample app started by
golive as both revisions. A rollback during the window (``golive rollback`` or a trigger)
sends traffic back to the previous revision, redeployed first when it was killed; the window
survives a kill -9 of its controller; a second release during it is refused, naming it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from golive.processes import pid_alive
from tests.conftest import free_port
from tests.e2e.test_cli import GOLIVE, golive
from tests.e2e.test_releases import owned_pid, release, status, stop, versions
from tests.e2e.test_serve import Served, team, wait_until

__all__ = ["team"]  # the fixture: tokens made with the CLI

pytestmark = pytest.mark.e2e


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    golive("down", cwd=tmp_path, timeout=60)


def app(version: str, port: int) -> str:
    return (
        f'["{sys.executable}", -m, golive.demo.app, --port, "{port}", --version, {version}, '
        '--latency-ms, "2"]'
    )


def watched(a: int, b: int, listen: int, every: str = "[{for: 5s, every: 1s}, {every: 3s}]") -> str:
    return f"""\
service: shop
revisions:
  stable:
    version: 1.0.0
    url: "http://127.0.0.1:{a}"
    process: {{command: {app("1.0.0", a)}, ready: "http://127.0.0.1:{a}/health"}}
  canary:
    version: 2.0.0
    url: "http://127.0.0.1:{b}"
    process: {{command: {app("2.0.0", b)}, ready: "http://127.0.0.1:{b}/health"}}
route: {{router: envoy, listen: "127.0.0.1:{listen}"}}
metrics: {{interval: 500ms}}
drain: {{grace: 1s, timeout: 30s}}
permissions: {{promote: [anyone]}}
checks:
  health: {{http: {{url: "http://127.0.0.1:{b}/health"}}}}
triggers:
  - {{when: canary_down, for: 1s, then: rollback}}
steps:
  - deploy: stable
  - deploy: canary
  - shift: 50
  - promote:
      watch: 20s
      keep_previous: 30s
      checks: [health]
      every: {every}
"""


def start(workdir: Path, plan: Path, *verb: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [GOLIVE, *(verb or ("run", str(plan))), "--json"],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )


def until(run: subprocess.Popen[str], kind: str, limit: float = 90) -> dict:  # type: ignore[type-arg]
    """Read the run's JSON lines until an event of ``kind``."""
    assert run.stdout is not None
    deadline = time.monotonic() + limit
    for line in run.stdout:
        event = json.loads(line)
        if event.get("kind") == kind:
            return event  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, f"no {kind} event within {limit:g}s"
    raise AssertionError(f"the run ended before a {kind} event")


def in_window(
    workdir: Path, every: str = "[{for: 5s, every: 1s}, {every: 3s}]"
) -> tuple[subprocess.Popen[str], str, tuple[int, int], int]:
    """``golive run`` in the background, until the watch window opens: the run, the rollout,
    the ports of the two revisions and the route's."""
    a, b, listen = free_port(), free_port(), free_port()
    plan = workdir / "release.yaml"
    plan.write_text(watched(a, b, listen, every))
    run = start(workdir, plan)
    until(run, "watch_started")
    rid = json.loads(golive("status", "--json", cwd=workdir).stdout)[0]["id"]
    return run, rid, (a, b), listen


def ended(run: subprocess.Popen[str], workdir: Path, rid: str, code: int) -> None:
    """The run exits with ``code``; otherwise the failure says the rollout's journal."""
    got = run.wait(60)
    if got != code:
        journal = [f"{e['kind']}: {e['message']}" for e in status(workdir, rid)["events"]]
        raise AssertionError(f"exit {got}, not {code}:\n" + "\n".join(journal[-12:]))


def kinds(workdir: Path, rid: str) -> list[str]:
    return [e["kind"] for e in status(workdir, rid)["events"]]


def test_golive_rollback_in_the_window_sends_traffic_back_to_the_previous(workdir: Path) -> None:
    run, rid, _, listen = in_window(workdir)
    try:
        assert versions(listen) == {"2.0.0"}
        time.sleep(2)  # a few scheduled checks pass first
        assert "watch_checked" in kinds(workdir, rid)
        previous, canary = owned_pid(workdir, "1.0.0"), owned_pid(workdir, "2.0.0")
        assert previous is not None and canary is not None  # kept, out of the route
        doc = status(workdir, rid)
        assert doc["watch"]["open"] and doc["watch"]["previous"] == "kept"
        listed = json.loads(golive("status", "--json", cwd=workdir).stdout)[0]
        assert listed["phase"] == "watching"
        text = golive("status", rid, cwd=workdir).stdout
        assert "watch window open until" in text and "previous revision" in text
        asked = golive("rollback", rid, "--reason", "support tickets", cwd=workdir)
        assert asked.returncode == 0, asked.stdout + asked.stderr
        ended(run, workdir, rid, 3)
        assert versions(listen) == {"1.0.0"}
        assert owned_pid(workdir, "1.0.0") == previous  # healthy: not restarted
        assert not pid_alive(canary)
        doc = status(workdir, rid)
        assert doc["state"]["phase"] == "rolled_back"
        assert "rolled back during the watch window" in doc["watch"]["sentence"]
        safe = [e for e in doc["events"] if e["kind"] == "traffic_safe"]
        assert safe and "verified by read-back" in safe[0]["message"]
    finally:
        stop(run)


def test_a_trigger_in_the_window_rolls_back(workdir: Path) -> None:
    run, rid, _, listen = in_window(workdir, every="[{every: 1h}]")  # the trigger, not a check
    try:
        canary = owned_pid(workdir, "2.0.0")
        assert canary is not None
        os.kill(canary, signal.SIGKILL)  # the new version dies: canary_down fires
        ended(run, workdir, rid, 3)
        assert versions(listen) == {"1.0.0"}
        doc = status(workdir, rid)
        assert doc["state"]["phase"] == "rolled_back"
        assert "trigger_fired" in [e["kind"] for e in doc["events"]]
    finally:
        stop(run)


def test_a_killed_previous_revision_is_redeployed_before_the_rollback(workdir: Path) -> None:
    run, rid, _, listen = in_window(workdir)
    try:
        previous = owned_pid(workdir, "1.0.0")
        assert previous is not None
        os.kill(previous, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while pid_alive(previous) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert versions(listen) == {"2.0.0"}  # the window goes on: users are on 2.0.0
        assert golive("rollback", rid, cwd=workdir).returncode == 0
        ended(run, workdir, rid, 3)
        assert versions(listen) == {"1.0.0"}
        again = owned_pid(workdir, "1.0.0")
        assert again is not None and again != previous
        seen = kinds(workdir, rid)
        assert seen.index("redeploying") < seen.index("traffic_safe")
    finally:
        stop(run)


def test_the_window_survives_a_controller_kill_and_ends_promoted(workdir: Path) -> None:
    run, rid, _, listen = in_window(workdir)
    resumed: subprocess.Popen[str] | None = None
    try:
        os.killpg(run.pid, signal.SIGKILL)  # the controller dies in the window
        run.wait(10)
        assert versions(listen) == {"2.0.0"}
        resumed = start(workdir, Path(), "resume", rid)  # a new controller takes it over
        assert resumed.wait(60) == 0
        doc = status(workdir, rid)
        assert doc["state"]["phase"] == "promoted"
        assert "watch window passed" in doc["watch"]["sentence"]
        assert versions(listen) == {"2.0.0"}
        previous = owned_pid(workdir, "1.0.0")
        assert previous is not None, "the previous revision is kept until keep_previous"
        keep = doc["state"]["keep_until"]
        time.sleep(max(0.0, keep - time.time()) + 0.5)
        done = golive("resume", rid, cwd=workdir)  # a later controller retires it
        assert done.returncode == 0, done.stdout + done.stderr
        assert not pid_alive(previous)
        assert status(workdir, rid)["state"]["retiring"] == []
    finally:
        stop(run)
        stop(resumed)


def test_a_second_release_during_the_window_is_refused_naming_it(workdir: Path) -> None:
    run, rid, (_, b), listen = in_window(workdir)
    try:
        second = workdir / "next.yaml"
        second.write_text(release(("2.0.0", b), ("3.0.0", free_port()), listen, pause=False))
        refused = golive("run", str(second), cwd=workdir)
        assert refused.returncode != 0
        said = refused.stdout + refused.stderr
        assert f"in the watch window of rollout {rid}" in said and "golive promote" in said
        assert "Traceback" not in said
        assert versions(listen) == {"2.0.0"}
        # promote ends the window now: the run ends promoted, and the next release may start
        assert golive("promote", rid, cwd=workdir).returncode == 0
        ended(run, workdir, rid, 0)
        assert status(workdir, rid)["state"]["phase"] == "promoted"
        after = golive("run", str(second), cwd=workdir)
        assert after.returncode == 0, after.stdout + after.stderr
        assert versions(listen) == {"3.0.0"}
        previous = owned_pid(workdir, "1.0.0")  # still kept by the first rollout's window
        assert previous is not None and pid_alive(previous)
    finally:
        stop(run)


def test_golive_serve_takes_the_window_over_and_retires_the_previous_when_due(
    workdir: Path, team: dict[str, str]
) -> None:
    run, rid, _, listen = in_window(workdir)
    served: Served | None = None
    try:
        previous = owned_pid(workdir, "1.0.0")
        assert previous is not None
        os.killpg(run.pid, signal.SIGKILL)  # the terminal's controller dies in the window
        run.wait(10)
        served = Served(workdir)  # the server's controller takes the window over
        doc = served.detail(rid, team["vic"])
        watch = doc["watch"]
        assert isinstance(watch, dict) and watch["previous"] in ("kept", "retired")

        def phase() -> object:
            state = served.detail(rid, team["vic"])["state"]  # type: ignore[union-attr]
            return state["phase"] == "promoted" and state  # type: ignore[index]

        state = wait_until("the window ends promoted", phase, 60)
        assert isinstance(state, dict)
        assert versions(listen) == {"2.0.0"}
        wait_until("the previous revision is retired", lambda: not pid_alive(previous), 60)
        assert time.time() >= state["keep_until"]  # not before keep_previous ran out

        def recorded() -> object:  # the retirement is committed just after the process stops
            doc = served.detail(rid, team["vic"])  # type: ignore[union-attr]
            return doc["state"]["retiring"] == [] and doc  # type: ignore[index]

        done = wait_until("the retirement is recorded", recorded, 30)
        assert isinstance(done, dict)
        assert "retired" in str(done["watch"]["sentence"])
    finally:
        stop(run)
        if served is not None:
            served.stop()
