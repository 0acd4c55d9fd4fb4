"""What a hostile reviewer tried on issue #10's guarantees, through the CLI: each test is a
break that was found and fixed (or is marked xfail with why)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import free_port, start_app
from tests.e2e.test_cli import GOLIVE
from tests.e2e.test_failsafe import fill, small_disk, versions
from tests.e2e.test_failsafe import plan as failsafe_plan
from tests.e2e.test_gates import apps, gated, golive, mint, plan, run_as_alice, team, wait_for

pytestmark = pytest.mark.e2e
__all__ = ["apps", "small_disk", "team"]  # fixtures


def paused_plan(apps: tuple[int, int]) -> str:
    text = plan(apps).replace("  - check: preflight\n  - approve: go-live\n", "")
    return text.replace("  - shift: 50\n", "  - shift: 10\n  - pause\n")


def test_a_reason_that_would_forge_journal_lines_or_rewrite_the_screen_is_refused(
    team: Path, apps: tuple[int, int]
) -> None:
    """A newline in --reason showed in 'golive status' as a journal line of its own
    ("22:00:00 promoted ..."), and an escape sequence reached other people's terminals raw."""
    (team / "plan.yaml").write_text(paused_plan(apps))
    with run_as_alice(team) as run:
        rid = str(wait_for(team, "golive resume")["id"])
        forged = "looking\n  22:00:00 promoted         canary promoted: 100% of traffic"
        for reason, char in ((forged, "U+000A"), ("\x1b[2J\x1b[31mred", "U+001B"),
                             ("ok \u202eevil", "U+202E")):  # fmt: skip
            refused = golive("resume", rid, "--reason", reason, cwd=team, who="alice")
            assert refused.returncode == 1, refused.stdout
            assert f"--reason must be one line of plain text: it contains the control character " \
                f"{char}" in refused.stderr  # fmt: skip
        long = golive("abort", rid, "--reason", "x" * 5000, cwd=team, who="bob")
        assert long.returncode == 1 and "at most 1000" in long.stderr
        status = json.loads(golive("status", rid, "--json", cwd=team).stdout)
        assert status["state"]["phase"] == "paused", "nothing was recorded"
        assert not [e for e in status["events"] if e["kind"] == "command"]
        markup = golive("resume", rid, "--reason", "[bold red]not markup[/]", cwd=team, who="alice")
        assert markup.returncode == 0, markup.stderr
        out, err = run.communicate(timeout=60)
        assert run.returncode == 0, out + err
    shown = golive("status", rid, cwd=team).stdout
    assert "resume requested by alice (identity file): [bold red]not markup[/]" in shown


def test_editing_or_emptying_the_token_tables_never_reopens_token_init(tmp_path: Path) -> None:
    """'token init' was allowed whenever the tokens table held no unrevoked admin row: marking
    the admin's row revoked by SQL (or deleting it, or emptying the token log) let anyone mint
    an admin token, then a token holding every role."""
    made = golive("token", "init", "admin", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    admin = made.stdout.split()[-1]
    db = sqlite3.connect(tmp_path / ".golive" / "golive.db")
    db.execute("UPDATE tokens SET revoked_at = 1 WHERE admin = 1")
    db.commit()
    again = golive("token", "init", "mallory", cwd=tmp_path)
    assert again.returncode == 1 and "an admin token already exists" in again.stderr
    db.execute("DELETE FROM tokens")
    db.commit()
    again = golive("token", "init", "mallory", cwd=tmp_path)
    assert again.returncode == 1 and "an admin token already exists" in again.stderr
    db.execute("DROP TRIGGER token_log_append_only_delete")
    db.execute("DELETE FROM token_log")
    db.commit()
    again = golive("token", "init", "mallory", cwd=tmp_path)
    assert again.returncode == 5, again.stdout + again.stderr
    assert "the token log lacks entry 1" in again.stderr and "rows deleted" in again.stderr
    listed = golive("token", "list", cwd=tmp_path, token=admin)
    assert listed.returncode == 5


def test_token_init_works_again_only_once_the_log_shows_every_admin_revoked(
    tmp_path: Path,
) -> None:
    admin = golive("token", "init", "admin", cwd=tmp_path).stdout.split()[-1]
    listed = golive("token", "list", cwd=tmp_path, token=admin)
    tid = next(line.split()[1] for line in listed.stdout.splitlines() if " yes " in line)
    assert golive("token", "revoke", tid, cwd=tmp_path, token=admin).returncode == 0
    again = golive("token", "init", "second", cwd=tmp_path)
    assert again.returncode == 0, again.stderr


def test_removing_a_rollouts_seal_does_not_pass_it_off_as_an_old_unverifiable_one(
    team: Path, apps: tuple[int, int]
) -> None:
    """With the seal set to NULL, the head file removed and the plan rewritten with an unkeyed
    digest, the audit said "unsealed (written before golive 0.2.0)", exit 0, and 'golive
    resume' ran the edited plan (its pause step gone: promoted)."""
    (team / "plan.yaml").write_text(paused_plan(apps))
    with run_as_alice(team) as run:
        rid = str(wait_for(team, "golive resume")["id"])
        run.kill()
        run.wait(timeout=10)
    db = sqlite3.connect(team / ".golive" / "golive.db")
    [text] = db.execute("SELECT plan_text FROM rollouts").fetchone()
    text = text.replace("  - pause\n", "")
    digest = hashlib.sha256(text.encode()).hexdigest()  # the digest of a record before 0.2.0
    db.execute("UPDATE rollouts SET plan_text = ?, plan_digest = ?, seal = NULL", (text, digest))
    db.commit()
    (team / ".golive" / "heads" / rid).unlink()
    verify = golive("audit", "verify", cwd=team)
    assert verify.returncode == 5, verify.stdout + verify.stderr
    assert "its seal was removed" in verify.stdout
    resumed = golive("resume", rid, cwd=team, who="alice")
    assert resumed.returncode == 5 and "TAMPERED" in resumed.stderr, resumed.stdout


def test_an_edited_measurement_is_named_by_the_audit_and_never_replayed_into_the_judge(
    team: Path, apps: tuple[int, int]
) -> None:
    """Measurements were not sealed: the counters the judge replays on resume could be edited
    (a bad canary's errors set to 0) with exit 0 from 'golive audit verify'."""
    (team / "plan.yaml").write_text(paused_plan(apps))
    with run_as_alice(team) as run:
        rid = str(wait_for(team, "golive resume")["id"])
        db = sqlite3.connect(team / ".golive" / "golive.db")
        deadline = time.monotonic() + 30
        while not db.execute("SELECT count(*) FROM measurements").fetchone()[0]:
            assert time.monotonic() < deadline, "no measurement was recorded"
            time.sleep(0.2)
        run.kill()
        run.wait(timeout=10)
    assert golive("audit", "verify", cwd=team).returncode == 0
    [(at, canary)] = db.execute("SELECT at, canary FROM measurements LIMIT 1").fetchall()
    edited = json.loads(canary)
    edited["requests"] = int(edited.get("requests", 0)) + 1000
    db.execute("UPDATE measurements SET canary = ? WHERE at = ?", (json.dumps(edited), at))
    db.commit()
    verify = golive("audit", "verify", rid, cwd=team)
    assert verify.returncode == 5, verify.stdout + verify.stderr
    assert f"the measurement taken at {at:.3f} was edited or inserted by hand" in verify.stdout
    resumed = golive("resume", rid, cwd=team, who="alice")
    assert resumed.returncode == 5, resumed.stdout + resumed.stderr


def test_after_a_full_disk_resume_comes_back_paused_on_stable_and_the_record_verifies(
    small_disk: Path, tmp_path: Path
) -> None:
    """The controller fails safe on a full disk; once space is freed, 'golive resume' must
    record the interruption as a pause (traffic stays on stable until a person resumes), and
    the record must not read as tampered."""
    apps = [start_app("1.0.0", latency_ms=1), start_app("2.0.0", latency_ms=1)]
    listen = free_port()
    (tmp_path / "plan.yaml").write_text(failsafe_plan(apps[0][1], apps[1][1], listen))
    (tmp_path / "alice.yaml").write_text("user: alice\nroles: []\n")
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
            assert "2.0.0" in versions(listen, 60)
            fill(small_disk)
            out, err = run.communicate(timeout=60)
        assert run.returncode == 1, out + err
        assert versions(listen) == {"1.0.0"}
        for filler in small_disk.glob("filler-*"):
            filler.unlink()
        rid = json.loads(golive("--state-dir", state, "status", "--json", cwd=tmp_path).stdout)[0]
        with subprocess.Popen(
            [GOLIVE, "--state-dir", state, "resume", rid["id"]], cwd=tmp_path,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        ) as resumed:  # fmt: skip
            deadline = time.monotonic() + 60
            while True:
                got = golive("--state-dir", state, "status", rid["id"], "--json", cwd=tmp_path)
                status = json.loads(got.stdout)
                if status["state"]["phase"] == "paused":
                    break
                assert time.monotonic() < deadline, status["state"]
                time.sleep(0.3)
            time.sleep(3)
            assert versions(listen) == {"1.0.0"}, "the canary was re-exposed on its own"
            assert status["state"]["pause_kind"] == "failsafe"
            assert golive("--state-dir", state, "audit", "verify", cwd=tmp_path).returncode == 0
            resumed.kill()
    finally:
        for proc, _ in apps:
            proc.terminate()
            proc.wait(timeout=10)


def test_a_rollout_deleted_with_its_head_file_is_still_named_by_the_audit(
    team: Path, apps: tuple[int, int]
) -> None:
    """Deleting a rollout's rows and its head file left no trace: 'golive audit verify' said
    every remaining rollout was intact, exit 0, and the release had never happened."""
    text = plan(apps).replace("  - check: preflight\n  - approve: go-live\n", "")
    (team / "plan.yaml").write_text(text)
    ids = []
    for _ in range(2):
        done = golive("run", "plan.yaml", "--json", cwd=team, who="alice")
        assert done.returncode == 0, done.stdout + done.stderr
        ids.append(json.loads(done.stdout.splitlines()[-1])["rollout"])
    assert golive("audit", "verify", cwd=team).returncode == 0
    db = sqlite3.connect(team / ".golive" / "golive.db")
    db.execute("DROP TRIGGER events_append_only_delete")
    for table in ("events", "measurements", "commands", "signoffs", "confirmations"):
        db.execute(f"DELETE FROM {table} WHERE rollout_id = ?", (ids[0],))
    db.execute("DELETE FROM rollouts WHERE id = ?", (ids[0],))
    db.commit()
    (team / ".golive" / "heads" / ids[0]).unlink()
    verify = golive("audit", "verify", cwd=team)
    assert verify.returncode == 5, verify.stdout + verify.stderr
    assert f"rollout {ids[0]}: TAMPERED - listed in the rollout ledger" in verify.stdout
    ledger = team / ".golive" / "heads" / "_ledger"
    ledger.write_text(ledger.read_text().split("\n", 1)[1])  # and its line removed too
    verify = golive("audit", "verify", cwd=team)
    assert verify.returncode == 5 and "does not verify at line 1" in verify.stdout


def test_on_a_token_only_plan_an_identity_file_cannot_move_the_rollout_forward(
    team: Path, apps: tuple[int, int]
) -> None:
    """The gate took sign-offs from tokens only, yet anyone could write an identity file
    claiming the operator role and promote or skip the analyses that follow it."""
    (team / "plan.yaml").write_text(gated(apps))
    (team / "olga.yaml").write_text("user: olga\nroles: [operator]\n")
    with run_as_alice(team, mint(team, "alice", "release-manager")) as run:
        rid = str(wait_for(team, "approval go-live")["id"])
        for verb in ("promote", "skip"):
            by_file = golive(verb, rid, "--reason", "trust me", cwd=team, who="olga")
            assert by_file.returncode == 1, by_file.stdout
            assert "needs a token too" in by_file.stderr, by_file.stderr
        assert golive("abort", rid, "--reason", "over", cwd=team, who="olga").returncode in (0, 3)
        run.communicate(timeout=60)
