"""Pre-flight, checklist confirmations, approvals and separation of duties, through the CLI as
people use it: one terminal runs the rollout, others confirm, approve and reject."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import free_port, start_app
from tests.e2e.test_cli import GOLIVE

pytestmark = pytest.mark.e2e


def golive(
    *args: str, cwd: Path, who: str | None = None, token: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    if who is not None:
        env["GOLIVE_IDENTITY"] = str(cwd / f"{who}.yaml")
    if token is not None:
        env["GOLIVE_TOKEN"] = token
    return subprocess.run(
        [GOLIVE, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env
    )


@pytest.fixture
def team(tmp_path: Path) -> Iterator[Path]:
    """Identities: alice (release manager and tech lead) and bob (tech lead)."""
    (tmp_path / "alice.yaml").write_text("user: alice\nroles: [release-manager, tech-lead]\n")
    (tmp_path / "bob.yaml").write_text("user: bob\nroles: [tech-lead]\n")
    (tmp_path / "nobody.yaml").write_text("user: nobody\nroles: []\n")
    yield tmp_path
    golive("down", cwd=tmp_path, timeout=60)


@pytest.fixture
def apps() -> Iterator[tuple[int, int]]:
    started = [start_app("1.0.0", latency_ms=2), start_app("2.0.0", latency_ms=2)]
    yield started[0][1], started[1][1]
    for proc, _ in started:
        proc.terminate()
        proc.wait(timeout=10)


def plan(apps: tuple[int, int], go_at: float = 9, item_critical: bool = True) -> str:
    stable, canary = apps
    return f"""\
service: shop
revisions:
  stable: {{version: 1.0.0, url: "http://127.0.0.1:{stable}"}}
  canary: {{version: 2.0.0, url: "http://127.0.0.1:{canary}"}}
route: {{router: envoy, listen: "127.0.0.1:{free_port()}"}}
metrics: {{interval: 1s}}
preflight:
  - {{name: canary healthy, http: {{url: "http://127.0.0.1:{canary}/health", json: {{status: ok}}}},
     critical: true}}
  - {{name: disk, disk: {{path: /, max_used: 100%}}, category: infrastructure}}
checklist:
  - {{id: rollback-plan, text: Rollback plan reviewed, role: tech-lead,
     critical: {str(item_critical).lower()}}}
scorecard: {{go_at: {go_at:g}}}
approvals:
  go-live: {{roles: [release-manager, tech-lead]}}
steps:
  - check: preflight
  - approve: go-live
  - shift: 50
  - promote
"""


@contextlib.contextmanager
def run_as_alice(team: Path) -> Iterator[subprocess.Popen[str]]:
    """``golive run plan.yaml`` in its own terminal, started by alice (killed if a test fails
    before it ends)."""
    env = {**os.environ, "GOLIVE_IDENTITY": str(team / "alice.yaml")}
    with subprocess.Popen(
        [GOLIVE, "run", "plan.yaml", "--json"], cwd=team, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    ) as run:  # fmt: skip
        try:
            yield run
        finally:
            if run.poll() is None:
                run.kill()


def wait_for(cwd: Path, words: str, limit: float = 60) -> dict[str, object]:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        listed = json.loads(golive("status", "--json", cwd=cwd).stdout or "[]")
        if listed:
            status = json.loads(golive("status", listed[0]["id"], "--json", cwd=cwd).stdout)
            if words in str(status["state"]["waiting_for"]):  # type: ignore[index]
                return status  # type: ignore[no-any-return]
        time.sleep(0.3)
    raise AssertionError(f"the rollout never waited for {words!r}")


def test_check_prints_the_scorecard_and_exits_4_on_no_go(team: Path, apps: tuple[int, int]) -> None:
    (team / "plan.yaml").write_text(plan(apps))
    result = golive("check", "plan.yaml", "--json", cwd=team)
    assert result.returncode == 4, result.stderr  # the critical checklist item is unconfirmed
    card = json.loads(result.stdout)
    assert card["readiness"] == "NO-GO" and card["waiting"] is True
    assert [i["outcome"] for i in card["items"]] == ["pass", "pass", "pending"]
    text = golive("check", "plan.yaml", cwd=team)
    assert "OVERALL DEPLOYMENT READINESS: 6.67/10 - NO-GO" in text.stdout
    assert "critical item 'rollback-plan' is not confirmed" in text.stdout
    (team / "go.yaml").write_text(plan(apps, go_at=6, item_critical=False))  # 6.67 is enough
    go = golive("check", "go.yaml", cwd=team)
    assert go.returncode == 0, go.stdout + go.stderr
    assert "- GO" in go.stdout


def test_confirm_approve_with_separation_of_duties_then_promote(
    team: Path, apps: tuple[int, int]
) -> None:
    (team / "plan.yaml").write_text(plan(apps))
    with run_as_alice(team) as run:
        status = wait_for(team, "confirmation of rollback-plan")
        rid = str(status["id"])
        early = golive("approve", rid, "--as", "tech-lead", cwd=team, who="bob")
        assert early.returncode == 1 and "not waiting for a sign-off" in early.stderr
        nobody = golive(
            "confirm", rid, "rollback-plan", "--as", "tech-lead", cwd=team, who="nobody"
        )
        assert "nobody does not hold the role tech-lead" in nobody.stderr
        ok = golive("confirm", rid, "rollback-plan", "--as", "tech-lead", cwd=team, who="bob")
        assert ok.returncode == 0, ok.stderr

        wait_for(team, "approval go-live: release-manager, tech-lead")
        stale = golive(
            "approve", rid, "--as", "tech-lead", "--revision", "1.9.0", cwd=team, who="bob"
        )
        assert "stale sign-off" in stale.stderr
        first = golive("approve", rid, "--as", "release-manager", cwd=team, who="alice")
        assert first.returncode == 0 and "still needed: tech-lead" in first.stdout
        alone = golive("approve", rid, "--as", "tech-lead", cwd=team, who="alice")
        assert alone.returncode == 1
        assert "separation of duties: alice started rollout" in alone.stderr
        made = golive("token", "add", "bob", "--role", "tech-lead", cwd=team)
        token = made.stdout.strip().splitlines()[-1]
        assert made.returncode == 0 and token.startswith("glv_")
        forged = golive("approve", rid, "--as", "tech-lead", cwd=team, token="glv_forged")
        assert "GOLIVE_TOKEN is not a known token" in forged.stderr
        second = golive(  # bob again, this time through his API token
            "approve", rid, "--as", "tech-lead", "--note", "lgtm", cwd=team, token=token
        )
        assert second.returncode == 0, second.stderr
        out, err = run.communicate(timeout=90)
    assert run.returncode == 0, out + err
    status = json.loads(golive("status", rid, "--json", cwd=team).stdout)
    assert status["scorecard"]["readiness"] == "GO"
    assert [(s["role"], s["by"]) for s in status["signoffs"]] == [
        ("release-manager", "alice"),
        ("tech-lead", "bob"),
    ]
    assert status["confirmations"][0]["by"] == "bob"
    shown = golive("status", rid, cwd=team).stdout
    assert "OVERALL DEPLOYMENT READINESS: 10.00/10 - GO" in shown
    assert "go-live approved by bob as tech-lead (step 2): lgtm" in shown
    events = status["events"]
    kinds = [e["kind"] for e in events]
    assert "scorecard" in kinds and "confirmed" in kinds and kinds[-1] == "promoted"
    messages = [e["message"] for e in events]
    assert "go-live approved by bob as tech-lead for 2.0.0: lgtm" in messages
    assert any("signed off by alice (release-manager), bob (tech-lead)" in m for m in messages)


def test_a_rejection_aborts_before_any_traffic(team: Path, apps: tuple[int, int]) -> None:
    text = plan(apps).replace("  - check: preflight\n", "")
    (team / "plan.yaml").write_text(text)
    with run_as_alice(team) as run:
        rid = str(wait_for(team, "approval go-live")["id"])
        no_reason = golive("reject", rid, "--as", "tech-lead", cwd=team, who="bob")
        assert no_reason.returncode == 2 and "--reason" in no_reason.stderr
        rejected = golive(
            "reject", rid, "--as", "tech-lead", "--reason", "load test not done",
            cwd=team, who="bob",
        )  # fmt: skip
        assert rejected.returncode == 0, rejected.stderr
        out, err = run.communicate(timeout=60)
    assert run.returncode == 3, out + err
    final = json.loads(out.strip().splitlines()[-1])
    assert final["phase"] == "aborted"
    assert final["reason"] == "go-live rejected by bob as tech-lead: load test not done"


def test_init_writes_a_runbook_plan_that_checks(team: Path) -> None:
    made = golive("init", "--template", "runbook", "--output", "release.yaml", cwd=team)
    assert made.returncode == 0, made.stderr
    checked = golive("plan", "check", "release.yaml", cwd=team)
    assert checked.returncode == 0, checked.stderr
    again = golive("init", "--output", "release.yaml", cwd=team)
    assert again.returncode == 1 and "exists" in again.stderr


def test_a_gate_may_take_sign_offs_from_api_tokens_only(team: Path, apps: tuple[int, int]) -> None:
    text = plan(apps).replace("  - check: preflight\n", "")
    text = text.replace(
        "go-live: {roles: [release-manager, tech-lead]}",
        "go-live: {roles: [tech-lead], require_token: true}",
    )
    (team / "plan.yaml").write_text(text)
    with run_as_alice(team) as run:
        rid = str(wait_for(team, "approval go-live")["id"])
        by_file = golive("approve", rid, "--as", "tech-lead", cwd=team, who="bob")
        assert by_file.returncode == 1
        assert "takes sign-offs from API tokens only" in by_file.stderr
        token = golive("token", "add", "bob", "--role", "tech-lead", cwd=team).stdout.split()[-1]
        by_token = golive("approve", rid, "--as", "tech-lead", cwd=team, token=token)
        assert by_token.returncode == 0, by_token.stderr
        out, err = run.communicate(timeout=60)
    assert run.returncode == 0, out + err


def test_a_sign_off_given_while_no_controller_runs_counts_on_resume(
    team: Path, apps: tuple[int, int]
) -> None:
    text = plan(apps).replace("  - check: preflight\n", "")
    (team / "plan.yaml").write_text(text)
    with run_as_alice(team) as run:
        rid = str(wait_for(team, "approval go-live")["id"])
        run.kill()  # the controller dies while the rollout waits for people
        run.wait(timeout=10)
    assert golive("approve", rid, "--as", "release-manager", cwd=team, who="alice").returncode == 0
    assert golive("approve", rid, "--as", "tech-lead", cwd=team, who="bob").returncode == 0
    resumed = golive("resume", rid, cwd=team, who="alice", timeout=90)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "promoted" in resumed.stdout
