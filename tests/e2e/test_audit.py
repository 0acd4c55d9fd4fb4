"""The record proves itself: whoever edits golive's database behind its back (an event, a forged
sign-off, the journal's tail, the rollouts row, the stored plan) is named by ``golive audit
verify`` and ``golive status`` with exit 5, and golive refuses to drive the rollout."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.e2e.test_gates import apps, golive, plan, run_as_alice, team, wait_for  # noqa: F401

pytestmark = pytest.mark.e2e


def waiting_rollout(home: Path, ports: tuple[int, int]) -> str:
    """A rollout waiting for its go-live approval, with no controller running."""
    (home / "plan.yaml").write_text(plan(ports).replace("  - check: preflight\n", ""))
    with run_as_alice(home) as run:
        rid = str(wait_for(home, "approval go-live")["id"])
        run.kill()
        run.wait(timeout=10)
    return rid


def sql(state: Path, *statements: str) -> list[tuple[object, ...]]:
    """What someone with write access to the database can do, golive's triggers dropped."""
    db = sqlite3.connect(state / "golive.db")
    try:
        rows: list[tuple[object, ...]] = []
        for statement in statements:
            rows = db.execute(statement).fetchall()
        db.commit()
        return rows
    finally:
        db.close()


def copy_of(home: Path, name: str) -> Path:
    """The record (database, key, heads) in a state directory of its own, to tamper with."""
    src, dst = home / ".golive", home / name / ".golive"
    dst.mkdir(parents=True)
    for f in src.glob("golive.db*"):
        shutil.copy2(f, dst / f.name)
    for d in ("keys", "heads"):
        shutil.copytree(src / d, dst / d)
    return dst


def at(state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return golive("--state-dir", str(state), *args, cwd=state.parent)


def test_every_edit_of_the_record_outside_golive_is_named_and_exits_5(
    team: Path,  # noqa: F811 (the fixture)
    apps: tuple[int, int],  # noqa: F811
) -> None:
    rid = waiting_rollout(team, apps)
    state = team / ".golive"
    intact = at(state, "audit", "verify")
    assert intact.returncode == 0, intact.stdout + intact.stderr
    assert f"rollout {rid}: intact" in intact.stdout
    shown = at(state, "status", rid)
    assert shown.returncode == 0 and "journal head: " in shown.stdout, shown.stdout
    seqs = [int(str(r[0])) for r in sql(state, "SELECT seq FROM events ORDER BY seq")]

    edited = copy_of(team, "edited")
    sql(edited, "DROP TRIGGER events_append_only_update",
        f"UPDATE events SET message = 'approved by everyone' WHERE seq = {seqs[1]}")  # fmt: skip
    verdict = at(edited, "audit", "verify")
    assert verdict.returncode == 5, verdict.stdout + verdict.stderr
    assert f"rollout {rid}: TAMPERED - event {seqs[1]}: hash does not match (edited?)" in (
        verdict.stdout
    )
    status = at(edited, "status", rid)
    assert status.returncode == 5
    assert "TAMPERED" in status.stdout and "waiting for: approval go-live" in status.stdout
    as_json = at(edited, "status", rid, "--json")
    assert as_json.returncode == 5
    assert (
        json.loads(as_json.stdout)["audit"]["problem"]
        == f"event {seqs[1]}: hash does not match (edited?)"
    )
    # --watch too: it once printed the edited entry as the journal and went on watching
    watched = golive("--state-dir", str(edited), "status", rid, "--watch", cwd=team, timeout=30)
    assert watched.returncode == 5, watched.stdout + watched.stderr
    assert "TAMPERED" in watched.stdout and "approved by everyone" not in watched.stdout

    forged = copy_of(team, "forged")
    sql(forged, "INSERT INTO signoffs (rollout_id, at, step, revision, gate, role, by, decision,"
        f" note) VALUES ('{rid}', 1, 0, '2.0.0', 'go-live', 'tech-lead', 'bob', 'approve', '')")  # fmt: skip
    verdict = at(forged, "audit", "verify", rid)
    assert verdict.returncode == 5
    assert "signoff row 1 has no journal event (forged?)" in verdict.stdout
    assert at(forged, "status", rid).returncode == 5

    cut = copy_of(team, "cut")
    sql(cut, "DROP TRIGGER events_append_only_delete",
        f"DELETE FROM events WHERE seq = {seqs[-1]}")  # fmt: skip
    verdict = at(cut, "audit", "verify", rid)
    assert verdict.returncode == 5
    assert f"journal ends at {seqs[-2]} but its head says {seqs[-1]} (rows deleted)" in (
        verdict.stdout
    )

    skipped = copy_of(team, "skipped")  # the approval step skipped by hand
    sql(skipped, "UPDATE rollouts SET state = json_set(state, '$.step', 1)")
    verdict = at(skipped, "audit", "verify")
    assert verdict.returncode == 5 and "rollout row edited" in verdict.stdout
    refused = at(skipped, "resume", rid)
    assert refused.returncode == 5 and "TAMPERED: rollout row edited" in refused.stderr
    assert "Traceback" not in refused.stdout + refused.stderr

    # the untouched record goes on: approved, resumed, promoted, its journal head printed
    assert golive("approve", rid, "--as", "release-manager", cwd=team, who="alice").returncode == 0
    assert golive("approve", rid, "--as", "tech-lead", cwd=team, who="bob").returncode == 0
    resumed = golive("resume", rid, cwd=team, who="alice", timeout=90)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "promoted" in resumed.stdout and "journal head: " in resumed.stdout
    final = at(state, "audit", "verify", rid)
    assert final.returncode == 0 and "intact" in final.stdout, final.stdout + final.stderr


def test_a_rewritten_stored_plan_is_refused_and_never_runs(
    team: Path,  # noqa: F811 (the fixture)
    apps: tuple[int, int],  # noqa: F811
) -> None:
    rid = waiting_rollout(team, apps)
    state, pwned = team / ".golive", team / "PWNED.txt"
    [(text,)] = sql(state, "SELECT plan_text FROM rollouts")
    evil = str(text).replace("  - approve: go-live\n", "  - deploy: canary\n")
    evil = evil.replace(
        "canary: {version: 2.0.0, ",
        f'canary: {{process: {{command: [sh, -c, "id > {pwned}; exec sleep 30"], '
        f'ready: "http://127.0.0.1:{free_port()}/health", timeout: 2s}}, version: 2.0.0, ',
    )
    assert evil.count("deploy: canary") == 1 and "PWNED" in evil
    db = sqlite3.connect(state / "golive.db")
    db.execute("UPDATE rollouts SET plan_text = ?", (evil,))
    db.commit()
    db.close()
    resumed = golive("resume", rid, cwd=team, who="alice", timeout=60)
    assert resumed.returncode == 5, resumed.stdout + resumed.stderr
    assert f"rollout {rid} is TAMPERED: stored plan edited" in resumed.stderr
    approved = golive("approve", rid, "--as", "tech-lead", cwd=team, who="bob")
    assert approved.returncode == 5
    again = golive("run", "plan.yaml", cwd=team, who="alice", timeout=60)  # continuing it
    assert again.returncode == 5 and "TAMPERED" in again.stderr
    assert not pwned.exists()
