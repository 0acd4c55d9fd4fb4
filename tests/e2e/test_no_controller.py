"""With no controller running (kill -9), a command that waits for one says so: 'its controller
applies it now' would send a person away believing the rollout is held by someone."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import free_port, start_app
from tests.e2e.test_cli import GOLIVE, golive

pytestmark = pytest.mark.e2e


def test_a_pause_asked_of_a_rollout_nobody_drives_says_nothing_moves_until_resume(
    tmp_path: Path,
) -> None:
    stable, stable_port = start_app("1.0.0")
    canary, canary_port = start_app("2.0.0")
    (tmp_path / "plan.yaml").write_text(
        "service: shop\n"
        "revisions:\n"
        f'  stable: {{version: "1.0.0", url: "http://127.0.0.1:{stable_port}"}}\n'
        f'  canary: {{version: "2.0.0", url: "http://127.0.0.1:{canary_port}"}}\n'
        f'route: {{router: envoy, listen: "127.0.0.1:{free_port()}"}}\n'
        "steps:\n  - shift: 10\n  - analyze: 10m\n  - promote\n"
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
        run.kill()
        run.wait(10)
        said = " ".join(golive("pause", rid, cwd=tmp_path).stdout.split())
        assert f"no controller is running, so nothing moves until 'golive resume {rid}'" in said
        # ... and that resume moves it: it once took the rollout over, applied the pause and
        # stopped there, asking for a second resume
        run = subprocess.Popen(
            [GOLIVE, "resume", rid], cwd=tmp_path,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            status = json.loads(golive("status", rid, "--json", cwd=tmp_path).stdout)
            taken = [e["message"] for e in status["events"] if e["kind"] == "command_applied"]
            if len(taken) == 2:
                break
            assert time.monotonic() < deadline, status["events"][-5:]
            time.sleep(0.3)
        assert [t.split(" by ")[0] for t in taken] == ["pause", "resume"]
        assert status["state"]["phase"] == "progressing", status["state"]
        assert "analysis" in status["state"]["waiting_for"]
    finally:
        if run.poll() is None:
            run.kill()
            run.wait(10)
        golive("down", cwd=tmp_path, timeout=60)
        for app in (stable, canary):
            app.terminate()
            app.wait(10)
