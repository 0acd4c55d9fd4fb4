"""A listen address golive cannot use: refused before any rollout exists, and a rollout whose
router cannot start any more can still be ended (and the service released for the next run).

The CLI as a subprocess, a real Envoy and the sample apps on loopback."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import free_port, start_app
from tests.e2e.plans import shop_plan
from tests.e2e.test_cli import GOLIVE, golive

pytestmark = pytest.mark.e2e


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    golive("down", cwd=tmp_path, timeout=60)


@pytest.fixture
def stable() -> Iterator[int]:
    proc, port = start_app("1.0.0", latency_ms=2)
    yield port
    proc.terminate()
    proc.wait(10)


def occupy(port: int) -> socket.socket:
    """Another program listening on ``port`` (the test's own socket, closed by the test)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", port))
    sock.listen()
    return sock


def plan_text(stable_port: int, canary_port: int, listen: int | str, steps: str) -> str:
    return (
        shop_plan(stable_port, canary_port, listen)
        + f"""\
steps:
{steps}"""
    )


QUICK = "  - deploy: canary\n  - shift: 50\n  - promote\n"


def rollouts(workdir: Path) -> list[dict[str, object]]:
    result = golive("status", "--json", cwd=workdir)
    assert result.returncode == 0, result.stderr
    listed: list[dict[str, object]] = json.loads(result.stdout)
    return listed


def run_until(workdir: Path, plan: Path, kind: str) -> str:
    """Run ``plan`` until the controller records an event of ``kind``, then interrupt it the
    way a person does (Ctrl-C); Envoy and the canary keep running. The rollout's id."""
    run = subprocess.Popen(
        [GOLIVE, "run", str(plan), "--json"],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert run.stdout is not None
        for n, line in enumerate(run.stdout):
            if json.loads(line)["kind"] == kind:
                break
            assert n < 200, f"no {kind} event"
    finally:
        run.send_signal(signal.SIGINT)
        try:
            run.wait(30)
        except subprocess.TimeoutExpired:
            run.kill()
            run.wait(5)
        assert run.stdout is not None
        run.stdout.close()
    return str(rollouts(workdir)[0]["id"])


def test_a_busy_listen_port_is_refused_before_any_rollout_is_created(
    workdir: Path, stable: int
) -> None:
    listen = free_port()
    plan = workdir / "plan.yaml"
    plan.write_text(plan_text(stable, free_port(), listen, QUICK))
    with occupy(listen):
        result = golive("run", str(plan), cwd=workdir, timeout=60)
    assert result.returncode == 1, result.stdout + result.stderr
    assert (
        f"127.0.0.1:{listen} is already in use by another process; choose another route.listen"
        in result.stderr
    )
    assert "Traceback" not in result.stdout + result.stderr
    assert rollouts(workdir) == []


def test_a_listen_port_out_of_range_is_a_plan_error_with_its_position(workdir: Path) -> None:
    plan = workdir / "plan.yaml"
    plan.write_text(plan_text(9001, 9002, 99999, QUICK))
    result = golive("plan", "check", str(plan), cwd=workdir)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"{plan}:10:32: route.listen: port 99999 in '127.0.0.1:99999'" in result.stderr
    assert "a port is 1 to 65535" in result.stderr


def test_golives_own_envoy_on_the_listen_port_is_not_busy_for_a_later_run(
    workdir: Path, stable: int
) -> None:
    plan = workdir / "plan.yaml"
    # interrupted during the pause: a run that ignored the Ctrl-C (a suite started in the
    # background, see tests/conftest.py) promoted, and the second run started a new rollout
    steps = "  - deploy: canary\n  - pause: 5s\n  - shift: 50\n  - promote\n"
    plan.write_text(plan_text(stable, free_port(), free_port(), steps))
    run_until(workdir, plan, "step_completed")  # the canary is up; Envoy listens
    [first] = rollouts(workdir)
    assert first["phase"] == "progressing", first  # interrupted, as the test means it to be
    again = golive("run", str(plan), cwd=workdir, timeout=120)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "continuing rollout" in again.stdout and "promoted" in again.stdout


def test_abort_ends_a_rollout_whose_router_cannot_start_and_the_service_runs_again(
    workdir: Path, stable: int
) -> None:
    listen = free_port()
    plan = workdir / "plan.yaml"
    steps = "  - deploy: canary\n  - pause\n  - shift: 50\n  - promote\n"
    plan.write_text(plan_text(stable, free_port(), listen, steps))
    rid = run_until(workdir, plan, "paused")
    stopped = golive("down", cwd=workdir, timeout=60)  # Envoy and the canary stop
    assert "stopped shop envoy" in stopped.stdout, stopped.stdout + stopped.stderr
    with occupy(listen):  # and something else takes the port before anyone resumes
        aborted = golive("abort", rid, "--reason", "port taken", cwd=workdir, timeout=60)
    assert aborted.returncode == 3, aborted.stdout + aborted.stderr
    assert f"rollout {rid}: aborted - port taken" in aborted.stdout
    status = json.loads(golive("status", rid, "--json", cwd=workdir).stdout)
    assert status["state"]["phase"] == "aborted"
    assert any(
        e["kind"] == "alarm" and "router: cannot start: Envoy did not start" in e["message"]
        for e in status["events"]
    )
    plan.write_text(plan_text(stable, free_port(), listen, QUICK))
    again = golive("run", str(plan), cwd=workdir, timeout=120)
    assert again.returncode == 0, again.stdout + again.stderr
    assert [r["phase"] for r in rollouts(workdir)] == ["promoted", "aborted"]


def test_a_second_golive_from_another_state_directory_is_refused_naming_the_first(
    tmp_path: Path, stable: int
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    listen = free_port()
    steps = "  - deploy: canary\n  - pause\n  - shift: 50\n  - promote\n"
    text = plan_text(stable, free_port(), listen, steps)
    (first / "plan.yaml").write_text(text)
    (second / "plan.yaml").write_text(text)
    try:
        run_until(first, first / "plan.yaml", "paused")  # its Envoy listens, relative state dir
        again = golive("run", "plan.yaml", cwd=second, timeout=60)
        assert again.returncode == 1, again.stdout + again.stderr
        assert (
            f"127.0.0.1:{listen} is held by golive's Envoy for service shop "
            f"(state directory {first / '.golive'}, pid "
        ) in again.stderr, again.stderr
        assert "Traceback" not in again.stdout + again.stderr
        assert rollouts(second) == []
    finally:
        golive("down", cwd=first, timeout=60)
