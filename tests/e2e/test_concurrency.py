"""Two golive commands at the same instant, as two people (or two CI jobs) run them."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import free_port, start_app
from tests.e2e.test_cli import GOLIVE, golive

pytestmark = pytest.mark.e2e


def together(*argvs: list[str], cwd: Path) -> list[subprocess.CompletedProcess[str]]:
    env = {**os.environ, "COLUMNS": "200"}
    procs = [
        subprocess.Popen([GOLIVE, *a], cwd=cwd, env=env, text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for a in argvs
    ]  # fmt: skip
    done = []
    for p, a in zip(procs, argvs, strict=True):
        out, err = p.communicate(timeout=60)
        done.append(subprocess.CompletedProcess(a, p.returncode, out, err))
    return done


def test_two_commands_on_a_fresh_state_directory_both_work(tmp_path: Path) -> None:
    """Issue #10.4: 'table rollouts already exists' in 1 of 10 tries of two golive commands
    creating the state database at once; and the first admin token is made once."""
    for i in range(10):
        cwd = tmp_path / f"try{i}"
        cwd.mkdir()
        results = together(["token", "init", "ann"], ["token", "init", "bob"], cwd=cwd)
        assert sorted(r.returncode for r in results) == [0, 1], [r.stderr for r in results]
        refused = next(r for r in results if r.returncode == 1)
        assert "an admin token already exists" in refused.stderr, refused.stderr


def test_a_read_only_verb_creates_nothing(tmp_path: Path) -> None:
    """Issue #12.13: `golive status` created .golive/golive.db wherever it was run."""
    listed = golive("status", "--json", cwd=tmp_path)
    assert listed.returncode == 0 and json.loads(listed.stdout) == []
    assert golive("status", cwd=tmp_path).returncode == 0
    assert golive("status", "shop-1", cwd=tmp_path).returncode == 1
    assert golive("audit", "verify", cwd=tmp_path).returncode == 1
    # a verb naming a rollout, run in the wrong directory, created an empty state database
    for verb in (
        ["pause", "shop-1"], ["resume", "shop-1"], ["abort", "shop-1"], ["rollback", "shop-1"],
        ["promote", "shop-1"], ["skip", "shop-1", "--reason", "r"],
        ["approve", "shop-1", "--as", "qa"], ["reject", "shop-1", "--as", "qa", "--reason", "n"],
        ["confirm", "shop-1", "item", "--as", "qa"],
    ):  # fmt: skip
        asked = golive(*verb, cwd=tmp_path)
        assert asked.returncode == 1, (verb, asked.stdout, asked.stderr)
        assert "no rollout 'shop-1': .golive holds no rollouts" in asked.stderr, (verb, asked)
    assert not (tmp_path / ".golive").exists()


def test_two_runs_of_one_service_at_once_make_one_rollout(tmp_path: Path) -> None:
    """Issue #10.4: two `golive run` at the same moment made two active rollouts (36 of 40)."""
    apps = [start_app("1.0.0", latency_ms=1), start_app("2.0.0", latency_ms=1)]
    try:
        for i in range(4):
            plan = tmp_path / f"plan{i}.yaml"
            plan.write_text(f"""\
service: shop
revisions:
  stable: {{version: 1.0.0, url: "http://127.0.0.1:{apps[0][1]}"}}
  canary: {{version: 2.0.{i}, url: "http://127.0.0.1:{apps[1][1]}"}}
route: {{router: envoy, listen: "127.0.0.1:{free_port()}"}}
steps:
  - pause
  - promote
""")
            env = {**os.environ, "COLUMNS": "200"}
            argv = [GOLIVE, "run", plan.name, "--json"]
            procs = [
                subprocess.Popen(argv, cwd=tmp_path, env=env, text=True,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                for _ in range(2)
            ]  # fmt: skip
            try:
                deadline = time.monotonic() + 30
                while all(p.poll() is None for p in procs) and time.monotonic() < deadline:
                    time.sleep(0.1)
                loser = next(p for p in procs if p.poll() is not None)
                _, err = loser.communicate(timeout=10)
                assert loser.returncode == 1 and "Traceback" not in err, err
                assert "active rollout" in err or "driven by" in err, err
                listed = json.loads(golive("status", "--json", cwd=tmp_path).stdout)
                active = [r for r in listed if r["phase"] in ("progressing", "paused")]
                assert len(active) == 1, listed
                ended = golive("abort", active[0]["id"], "--reason", f"try {i}", cwd=tmp_path)
                assert ended.returncode in (0, 3), ended.stderr
                winner = next(p for p in procs if p is not loser)
                winner.communicate(timeout=60)
            finally:
                for p in procs:
                    if p.poll() is None:
                        p.kill()
                        p.wait(10)
    finally:
        golive("down", cwd=tmp_path, timeout=60)
        for proc, _ in apps:
            proc.terminate()
            proc.wait(timeout=10)
