"""Fail safe when the record cannot be written (issue #10.5): the state directory on a small
tmpfs, filled while the canary takes traffic. Real Envoy, real sample apps, the CLI."""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import free_port, start_app
from tests.e2e.test_cli import GOLIVE, golive

pytestmark = pytest.mark.e2e


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MB tmpfs as the state directory (unmounted once golive's processes are stopped)."""
    state = tmp_path / "state"
    state.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", str(state)],
                   check=True)  # fmt: skip
    try:
        yield state
    finally:
        golive("--state-dir", str(state), "down", cwd=tmp_path, timeout=60)
        subprocess.run(["umount", "-l", str(state)], check=False)


def fill(state: Path) -> None:
    """Write until the disk is full (bounded: 4 MB in 16 KB pieces)."""
    chunk = b"x" * 16384
    with contextlib.suppress(OSError), (state / f"filler-{time.monotonic_ns()}").open("wb") as f:
        for _ in range(1000):
            f.write(chunk)
            f.flush()


def versions(port: int, n: int = 40) -> set[str]:
    seen = set()
    for _ in range(n):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as resp:
            seen.add(resp.headers["x-version"])
    return seen


def plan(stable: int, canary: int, listen: int) -> str:
    return f"""\
service: shop
revisions:
  stable: {{version: 1.0.0, url: "http://127.0.0.1:{stable}"}}
  canary: {{version: 2.0.0, url: "http://127.0.0.1:{canary}"}}
route: {{router: envoy, listen: "127.0.0.1:{listen}"}}
metrics: {{interval: 1s}}
judge: {{kind: threshold, min_requests: 1000000, window: 10s}}
steps:
  - shift: 30
  - analyze: 10m
  - promote
"""


def test_a_full_disk_puts_traffic_on_stable_and_a_rollback_still_works(
    small_disk: Path, tmp_path: Path
) -> None:
    apps = [start_app("1.0.0", latency_ms=1), start_app("2.0.0", latency_ms=1)]
    listen = free_port()
    (tmp_path / "plan.yaml").write_text(plan(apps[0][1], apps[1][1], listen))
    state = str(small_disk)
    try:
        with subprocess.Popen(
            [GOLIVE, "--state-dir", state, "run", "plan.yaml", "--json"], cwd=tmp_path,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        ) as run:  # fmt: skip
            assert run.stdout is not None
            for line in run.stdout:
                if "serves 30%" in line:
                    break
            assert "2.0.0" in versions(listen, 60), "the canary takes part of the traffic"
            fill(small_disk)
            out, err = run.communicate(timeout=60)
        assert run.returncode == 1, out + err
        err = " ".join(err.split())
        assert "cannot be written" in err, err
        assert "100% of traffic is on stable (verified by read-back)" in err, err
        assert versions(listen) == {"1.0.0"}
        rid = json.loads(golive("--state-dir", state, "status", "--json", cwd=tmp_path).stdout)[0]
        fill(small_disk)  # still full: the rollback cannot be recorded, traffic comes first
        back = golive("--state-dir", state, "rollback", rid["id"], "--reason", "disk", cwd=tmp_path)
        assert back.returncode == 3, back.stdout + back.stderr
        said = " ".join(back.stdout.split())
        assert "100% of traffic is on stable (verified by read-back), not yet recorded" in said
        assert "Traceback" not in back.stderr
        assert versions(listen) == {"1.0.0"}
        for filler in small_disk.glob("filler-*"):
            filler.unlink()
        resumed = golive("--state-dir", state, "resume", rid["id"], cwd=tmp_path, timeout=120)
        assert resumed.returncode == 3, resumed.stdout + resumed.stderr
        status = json.loads(
            golive("--state-dir", state, "status", rid["id"], "--json", cwd=tmp_path).stdout
        )
        assert status["state"]["phase"] == "rolled_back"
        assert versions(listen) == {"1.0.0"}
    finally:
        for proc, _ in apps:
            proc.terminate()
            proc.wait(timeout=10)
