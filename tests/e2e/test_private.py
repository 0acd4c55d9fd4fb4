"""A rollout run through the CLI under umask 022 leaves only private files in its state dir,
while the canary it starts keeps the user's umask."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import free_port, start_app
from tests.e2e.test_cli import GOLIVE, golive

pytestmark = pytest.mark.e2e


def golive_022(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """golive as a user with the usual umask runs it."""
    return subprocess.run(
        [GOLIVE, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
        umask=0o022,
    )


def _plan(stable: int, canary: int, listen: int, marker: Path) -> str:
    canary_code = (
        f"open({str(marker)!r}, 'w').close(); import runpy, sys; "
        f"sys.argv = ['app', '--port', '{canary}', '--version', '2.0.0', '--latency-ms', '2']; "
        "runpy.run_module('golive.demo.app', run_name='__main__')"
    )
    return f"""\
service: shop
revisions:
  stable: {{version: 1.0.0, url: "http://127.0.0.1:{stable}"}}
  canary:
    version: 2.0.0
    url: "http://127.0.0.1:{canary}"
    process:
      command: [{json.dumps(sys.executable)}, -c, {json.dumps(canary_code)}]
      ready: "http://127.0.0.1:{canary}/health"
route: {{router: envoy, listen: "127.0.0.1:{listen}"}}
metrics: {{interval: 500ms}}
drain: {{grace: 1s, timeout: 10s}}
steps:
  - deploy: canary
  - shift: 50
  - promote
"""


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    golive("down", cwd=tmp_path, timeout=60)


def test_a_rollout_leaves_only_private_files_and_the_canary_keeps_the_users_umask(
    workdir: Path,
) -> None:
    stable, stable_port = start_app("1.0.0")
    try:
        marker = workdir / "written-by-the-canary"
        plan = workdir / "plan.yaml"
        plan.write_text(_plan(stable_port, free_port(), free_port(), marker))
        result = golive_022("run", str(plan), "--json", cwd=workdir)
        assert result.returncode == 0, result.stdout + result.stderr
        status = golive_022("status", "--json", cwd=workdir)
        assert json.loads(status.stdout)[0]["phase"] == "promoted"
        state = workdir / ".golive"
        loose = []
        for path in [state, *sorted(state.rglob("*"))]:
            st = path.lstat()
            wanted = 0o700 if stat.S_ISDIR(st.st_mode) else 0o600
            if stat.S_IMODE(st.st_mode) != wanted:
                loose.append(f"{path.relative_to(workdir)}: {stat.S_IMODE(st.st_mode):o}")
        assert loose == [], "not private: " + ", ".join(loose)
        names = {p.name for p in state.rglob("*")}
        expected = {"golive.db", "envoy", "bootstrap.json", "routes.json", "envoy.pid"}
        assert expected | {"envoy.log", "process.pid", "process.log", "owner.json"} <= names
        admin = json.loads((state / "envoy" / "shop" / "bootstrap.json").read_text())["admin"]
        sock = Path(admin["address"]["pipe"]["path"])
        assert stat.S_IMODE(sock.lstat().st_mode) == 0o600  # Envoy keeps running after the run
        assert stat.S_IMODE(marker.stat().st_mode) == 0o644  # the canary got umask 022
        assert golive_022("down", cwd=workdir).returncode == 0
        assert not sock.exists()  # golive down takes Envoy's admin socket with it
    finally:
        stable.terminate()
        stable.wait(timeout=10)
