"""Pre-flight, checklist confirmations, approvals and separation of duties, through the CLI as
people use it: one terminal runs the rollout, others confirm, approve and reject."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
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
    """Identities: alice (release manager and tech lead) and bob (tech lead); an admin token in
    ``admin.token``."""
    (tmp_path / "alice.yaml").write_text("user: alice\nroles: [release-manager, tech-lead]\n")
    (tmp_path / "bob.yaml").write_text("user: bob\nroles: [tech-lead]\n")
    (tmp_path / "nobody.yaml").write_text("user: nobody\nroles: []\n")
    made = golive("token", "init", "admin", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    (tmp_path / "admin.token").write_text(made.stdout.split()[-1])
    yield tmp_path
    golive("down", cwd=tmp_path, timeout=60)


def mint(team: Path, user: str, *roles: str) -> str:
    """A token for ``user`` holding ``roles``, made with the team's admin token."""
    admin = (team / "admin.token").read_text()
    args = [a for r in roles for a in ("--role", r)]
    made = golive("token", "add", user, *args, cwd=team, token=admin)
    assert made.returncode == 0, made.stderr
    return made.stdout.split()[-1]


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
def run_as_alice(team: Path, token: str | None = None) -> Iterator[subprocess.Popen[str]]:
    """``golive run plan.yaml`` in its own terminal, started by alice, by her identity file or
    her token (killed if a test fails before it ends)."""
    env = {**os.environ, "GOLIVE_IDENTITY": str(team / "alice.yaml")}
    if token is not None:
        env["GOLIVE_TOKEN"] = token
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
        token = mint(team, "bob", "tech-lead")
        assert token.startswith("glv_")
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
    assert "go-live approved by bob (token) as tech-lead (step 2): lgtm" in shown
    events = status["events"]
    kinds = [e["kind"] for e in events]
    assert "scorecard" in kinds and "confirmed" in kinds and kinds[-1] == "promoted"
    messages = [e["message"] for e in events]
    assert "go-live approved by bob (token) as tech-lead for 2.0.0: lgtm" in messages
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
    by_file_start = golive("run", "plan.yaml", cwd=team, who="alice")
    assert by_file_start.returncode == 1
    assert "must be known by a token too" in by_file_start.stderr
    with run_as_alice(team, mint(team, "alice", "release-manager")) as run:
        rid = str(wait_for(team, "approval go-live")["id"])
        by_file = golive("approve", rid, "--as", "tech-lead", cwd=team, who="bob")
        assert by_file.returncode == 1
        assert "takes sign-offs from API tokens only" in by_file.stderr
        token = mint(team, "bob", "tech-lead")
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
        running = golive("status", rid, cwd=team).stdout
        assert "(running)" in " ".join(running.split()), running
        run.kill()  # the controller dies while the rollout waits for people
        run.wait(timeout=10)
    shown = " ".join(golive("status", rid, cwd=team).stdout.split())
    assert (
        f"controller: none is running (the figures above are as last recorded); 'golive resume {rid}'"
        in shown
    )
    assert (
        json.loads(golive("status", rid, "--json", cwd=team).stdout)["controller"]["running"]
        is False
    )
    listed = json.loads(golive("status", "--json", cwd=team).stdout)
    assert [(r["controller_running"], r["waiting_for"]) for r in listed] == [
        (False, "golive resume (no controller is running)")
    ], "the list still says the rollout waits for its approval as if a controller drove it"
    assert "golive resume (no controller is running)" in golive("status", cwd=team).stdout
    with pytest.raises(subprocess.TimeoutExpired) as watching:  # it follows until resumed
        golive("status", rid, "--watch", cwd=team, timeout=4)
    out = watching.value.stdout or b""
    watched = " ".join((out.decode() if isinstance(out, bytes) else out).split())
    assert "controller: none is running" in watched and f"'golive resume {rid}'" in watched
    assert golive("approve", rid, "--as", "release-manager", cwd=team, who="alice").returncode == 0
    assert golive("approve", rid, "--as", "tech-lead", cwd=team, who="bob").returncode == 0
    resumed = golive("resume", rid, cwd=team, who="alice", timeout=90)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "promoted" in resumed.stdout


GATED_STEPS = """\
steps:
  - check: preflight
  - approve: go-live
  - deploy: canary
  - shift: 10
  - pause
  - promote
"""


def gated(apps: tuple[int, int]) -> str:
    text = plan(apps, go_at=6, item_critical=False)
    text = text.replace(
        "go-live: {roles: [release-manager, tech-lead]}",
        "go-live: {roles: [release-manager, tech-lead], require_token: true}",
    )
    return text[: text.index("steps:")] + GATED_STEPS


def test_no_operator_verb_skips_a_gate_and_each_needs_its_permission(
    team: Path, apps: tuple[int, int]
) -> None:
    """Issue #10.1: pause + resume by someone with no identity moved past the approval, and
    promote sent 100% to a canary nobody approved."""
    (team / "plan.yaml").write_text(gated(apps))
    alice = mint(team, "alice", "release-manager")
    with run_as_alice(team, alice) as run:
        rid = str(wait_for(team, "approval go-live")["id"])
        nobody = {"cwd": team, "who": "missing"}  # no identity file: the login name
        paused = golive("pause", rid, "--reason", "looking", **nobody)  # type: ignore[arg-type]
        assert paused.returncode == 0, paused.stderr
        wait_for(team, "golive resume")
        resumed = golive("resume", rid, **nobody)  # type: ignore[arg-type]
        assert resumed.returncode == 1
        assert "may not resume" in resumed.stderr and "permissions.resume" in resumed.stderr
        by_alice = golive("resume", rid, cwd=team, token=alice)
        assert by_alice.returncode == 0, by_alice.stderr
        status = wait_for(team, "approval go-live")
        assert status["state"]["step"] == 1, "resume never skips the step it paused"  # type: ignore[index]
        promoted = golive("promote", rid, cwd=team, token=mint(team, "olga", "operator"))
        assert promoted.returncode == 1
        assert "cannot promote" in promoted.stderr and "approve go-live" in promoted.stderr
        skipped = golive("skip", rid, "--reason", "x", cwd=team, token=mint(team, "op", "operator"))
        assert skipped.returncode == 1 and "only an analysis or a pause" in skipped.stderr
        status = json.loads(golive("status", rid, "--json", cwd=team).stdout)
        assert status["state"]["step"] == 1 and status["state"]["desired"]["canary_weight"] == 0
        journal = [e["message"] for e in status["events"] if e["kind"] == "command"]
        assert any("pause requested by" in m and "login name" in m and "looking" in m
                   for m in journal), journal  # fmt: skip
        aborted = golive("abort", rid, "--reason", "test over", cwd=team, who="bob")
        assert aborted.returncode in (0, 3), aborted.stdout + aborted.stderr  # applied or driven
        run.communicate(timeout=60)
    assert run.returncode == 3


def test_tokens_are_minted_by_an_admin_and_every_change_is_journaled(team: Path) -> None:
    """Issue #10.2: anyone who could write the database minted tokens with any role."""
    plain = golive("token", "add", "alice", "--role", "release-manager", "--role", "security",
                   cwd=team)  # fmt: skip
    assert plain.returncode == 1 and "needs an admin token" in plain.stderr
    again = golive("token", "init", "mallory", cwd=team)
    assert again.returncode == 1 and "already exists" in again.stderr
    bob = mint(team, "bob", "tech-lead")
    by_bob = golive("token", "add", "eve", "--role", "security", cwd=team, token=bob)
    assert by_bob.returncode == 1 and "needs an admin token" in by_bob.stderr
    admin = (team / "admin.token").read_text()
    listed = golive("token", "list", cwd=team, token=admin)
    assert listed.returncode == 0 and "bob" in listed.stdout and "tech-lead" in listed.stdout
    assert bob not in listed.stdout and admin not in listed.stdout
    bob_id = next(line.split()[1] for line in listed.stdout.splitlines() if " bob " in line)
    revoked = golive("token", "revoke", bob_id, cwd=team, token=admin)
    assert revoked.returncode == 0, revoked.stderr
    refused = golive("token", "list", cwd=team, token=bob)
    assert refused.returncode == 1 and "revoked" in refused.stderr
    db = sqlite3.connect(team / ".golive" / "golive.db")
    kinds = [r[0] for r in db.execute("SELECT kind FROM token_log ORDER BY seq")]
    assert kinds == ["token_created", "token_created", "token_revoked"]


def test_a_plan_with_gates_is_not_started_by_a_bare_login_name(
    team: Path, apps: tuple[int, int]
) -> None:
    """Issue #10.2: started by login name, alice then signed every role as someone else."""
    (team / "plan.yaml").write_text(plan(apps))
    started = golive("run", "plan.yaml", cwd=team, who="missing")
    assert started.returncode == 1
    assert "must be identified by a token" in started.stderr
    assert json.loads(golive("status", "--json", cwd=team).stdout) == []


def test_a_token_written_into_the_database_by_hand_is_refused(team: Path) -> None:
    """Issue #10.2: writing the database was enough to mint a token with any role."""
    bob = mint(team, "bob", "tech-lead")
    db = sqlite3.connect(team / ".golive" / "golive.db")
    forged = "glv_forged-by-sql"
    digest = hashlib.sha256(forged.encode()).hexdigest()
    db.execute(
        "INSERT INTO tokens (hash, user, roles, created_at, admin) VALUES (?, 'eve', "
        '\'["release-manager", "security"]\', 1.0, 1)',
        (digest,),
    )
    db.execute("UPDATE tokens SET roles = '[\"tech-lead\", \"security\"]' WHERE user = 'bob'")
    db.commit()
    used = golive("token", "list", cwd=team, token=forged)
    assert used.returncode == 5 and "no entry in the token log" in used.stderr, used.stderr
    edited = golive("approve", "x", "--as", "security", cwd=team, token=bob)
    assert edited.returncode == 5 and "does not match its token log entry" in edited.stderr
    audit = golive("audit", "verify", cwd=team)
    assert audit.returncode == 5 and "token log: TAMPERED" in audit.stdout, audit.stdout
