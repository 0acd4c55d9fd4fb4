"""A reader that stops reading golive's output does not stop golive: ``golive run plan.yaml |
head -1`` drives the rollout to its end, ``golive status --json | head -c 10`` is no internal
error."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import free_port, start_app
from tests.e2e.test_cli import GOLIVE, golive

pytestmark = pytest.mark.e2e


def test_a_run_whose_reader_went_away_still_drives_the_rollout_to_its_end(tmp_path: Path) -> None:
    stable, stable_port = start_app("1.0.0")
    canary, canary_port = start_app("2.0.0")
    (tmp_path / "plan.yaml").write_text(
        "service: shop\n"
        "revisions:\n"
        f'  stable: {{version: "1.0.0", url: "http://127.0.0.1:{stable_port}"}}\n'
        f'  canary: {{version: "2.0.0", url: "http://127.0.0.1:{canary_port}"}}\n'
        f'route: {{router: envoy, listen: "127.0.0.1:{free_port()}"}}\n'
        "steps:\n  - shift: 10\n  - pause: 2s\n  - promote\n"
    )
    try:
        run = subprocess.Popen(
            [GOLIVE, "run", "plan.yaml"],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert run.stdout is not None and run.stderr is not None
        assert run.stdout.readline().startswith("rollout ")
        run.stdout.close()  # `| head -1`: the reader is gone
        err = run.stderr.read()
        run.stderr.close()
        assert run.wait(timeout=90) == 0, err
        assert "internal error" not in err, err
        listed = json.loads(golive("status", "--json", cwd=tmp_path).stdout)
        assert [r["phase"] for r in listed] == ["promoted"]

        status = subprocess.Popen(
            [GOLIVE, "status", "--json"],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert status.stdout is not None and status.stderr is not None
        status.stdout.close()
        said = status.stderr.read()
        status.stderr.close()
        assert status.wait(timeout=30) == 0 and said == b"", said
        assert not (tmp_path / ".golive" / "crash.log").exists()
    finally:
        golive("down", cwd=tmp_path, timeout=60)
        for app in (stable, canary):
            app.terminate()
            app.wait(10)
