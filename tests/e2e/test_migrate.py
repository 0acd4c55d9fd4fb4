"""A migrate step through the CLI with real Envoy and sample apps golive starts: the database is
migrated before traffic moves; a rollback after the canary took traffic is refused (the rollout
pauses saying why and what to run) until the operator chooses; a controller killed -9 between
two statements of a PostgreSQL migration is detected on restart and nothing is re-run."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.conftest import free_port, start_app
from tests.e2e.plans import shop_plan
from tests.e2e.test_cli import GOLIVE, golive
from tests.e2e.test_releases import stop, wait_for_event

pytestmark = pytest.mark.e2e


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    golive("down", cwd=tmp_path, timeout=60)


def plan_text(database: str, stable: int, canary: int, listen: int, extra: str = "") -> str:
    return (
        shop_plan(stable, canary, listen, drain="30s")
        + f"""\
steps:
  - deploy: canary
  - migrate:
      database: "{database}"
      engine: {"sqlite" if database.startswith("sqlite") else "postgres"}
      dir: migrations
      verify:
        - {{sql: "SELECT count(*) FROM users", expect: "== 2"}}
{extra}  - shift: 50
  - pause
  - promote
"""
    )


def events(workdir: Path, rid: str) -> list[dict]:  # type: ignore[type-arg]
    """The journal's entries, with their data (read from the state database)."""
    with sqlite3.connect(workdir / ".golive" / "golive.db", timeout=5) as con:
        rows = con.execute(
            "SELECT kind, message, data FROM events WHERE rollout_id = ? ORDER BY seq", (rid,)
        ).fetchall()
    return [{"kind": k, "message": m, "data": json.loads(d)} for k, m, d in rows]


def state(workdir: Path, rid: str) -> dict:  # type: ignore[type-arg]
    return json.loads(golive("status", rid, "--json", cwd=workdir).stdout)["state"]  # type: ignore[no-any-return]


def start(workdir: Path, plan: Path, until: str) -> tuple[subprocess.Popen[str], str]:
    run = subprocess.Popen(
        [GOLIVE, "run", str(plan), "--json"],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert run.stdout is not None
    deadline = time.monotonic() + 90
    for line in run.stdout:
        if json.loads(line)["kind"] == until:
            break
        assert time.monotonic() < deadline, f"the rollout never reached {until}"
    rid = json.loads(golive("status", "--json", cwd=workdir).stdout)[0]["id"]
    # what it prints from now on is read, so a full pipe never blocks it
    threading.Thread(target=run.stdout.read, daemon=True).start()
    return run, rid


def columns(db: Path) -> list[str]:
    with sqlite3.connect(db) as con:
        return [r[1] for r in con.execute("PRAGMA table_info(users)")]


def test_sqlite_rollback_after_the_canary_took_traffic_waits_for_a_person(workdir: Path) -> None:
    db = workdir / "app.db"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
        con.execute("INSERT INTO users (name) VALUES ('ada'), ('bob')")
    mig = workdir / "migrations"
    mig.mkdir()
    (mig / "0001_email.up.sql").write_text("ALTER TABLE users ADD COLUMN email TEXT;\n")
    (mig / "0001_email.down.sql").write_text("ALTER TABLE users DROP COLUMN email;\n")
    stable, sp = start_app("1.0.0", latency_ms=2)
    plan = workdir / "plan.yaml"
    plan.write_text(plan_text(f"sqlite:///{db}", sp, free_port(), free_port()))
    run: subprocess.Popen[str] | None = None
    try:
        run, rid = start(workdir, plan, "paused")
        assert columns(db) == ["id", "name", "email"]
        early = golive("migrate", "rollback", rid, "--restore", cwd=workdir)
        assert early.returncode == 1 and "not waiting for a decision" in early.stderr
        assert "Traceback" not in early.stderr
        kinds = [e["kind"] for e in events(workdir, rid)]
        assert "migration_backup" in kinds and "migration_applied" in kinds
        backup = next(e for e in events(workdir, rid) if e["kind"] == "migration_backup")
        assert backup["data"]["size"] > 0 and len(backup["data"]["sha256"]) == 64
        assert Path(backup["data"]["path"]).is_relative_to(workdir / ".golive")

        with sqlite3.connect(db) as con:  # the canary writes a row using the new column
            con.execute("INSERT INTO users (name, email) VALUES ('cy', 'cy@example.org')")

        assert golive("rollback", rid, cwd=workdir).returncode == 0
        wait_for_event(workdir / ".golive" / "golive.db", rid, "migration_rollback_refused")
        st = state(workdir, rid)
        assert st["phase"] == "paused" and st["pause_kind"] == "migration"
        assert "canary took traffic" in st["reason"]
        assert f"golive migrate rollback {rid} --restore" in st["waiting_for"]
        assert columns(db) == ["id", "name", "email"], "the database was rolled back anyway"
        shown = golive("status", rid, cwd=workdir).stdout
        assert "golive migrate rollback" in shown

        plain = golive("resume", rid, cwd=workdir, timeout=30)
        assert "Traceback" not in plain.stdout + plain.stderr

        done = golive("migrate", "rollback", rid, "--restore", cwd=workdir, timeout=120)
        assert "Traceback" not in done.stdout + done.stderr
        assert run.wait(60) == 3
        assert columns(db) == ["id", "name"]
        with sqlite3.connect(db) as con:
            assert con.execute("SELECT count(*) FROM users").fetchone()[0] == 2
        assert state(workdir, rid)["phase"] == "rolled_back"
        assert "migration_restored" in [e["kind"] for e in events(workdir, rid)]
    finally:
        stop(run)
        stable.terminate()
        stable.wait(10)


def test_a_controller_killed_between_two_statements_holds_the_rollout(
    workdir: Path, pg_database: str
) -> None:
    with psycopg.connect(pg_database, autocommit=True) as con:
        con.execute("CREATE TABLE users (id serial PRIMARY KEY, name text)")
        con.execute("INSERT INTO users (name) VALUES ('ada'), ('bob')")
    mig = workdir / "migrations"
    mig.mkdir()
    (mig / "0001_email.up.sql").write_text(
        "ALTER TABLE users ADD COLUMN email text;\n"
        "CREATE INDEX CONCURRENTLY users_email ON users (email);\n"
        "SELECT pg_sleep(5);\n"
        "CREATE TABLE audit (id serial PRIMARY KEY);\n"
    )
    stable, sp = start_app("1.0.0", latency_ms=2)
    plan = workdir / "plan.yaml"
    plan.write_text(plan_text("env:APP_DB", sp, free_port(), free_port()))
    check = golive("plan", "check", str(plan), cwd=workdir)
    assert check.returncode == 0, check.stdout + check.stderr
    env = {"APP_DB": pg_database}
    run: subprocess.Popen[str] | None = None
    try:
        run = subprocess.Popen(
            [GOLIVE, "run", str(plan), "--json"],
            cwd=workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**__import__("os").environ, **env},
        )
        with psycopg.connect(pg_database, autocommit=True) as con:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:  # statement 3 (the sleep) is running
                row = con.execute(
                    "SELECT 1 FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(5)%'"
                ).fetchone()
                if row:
                    break
                time.sleep(0.05)
            else:
                raise AssertionError("the migration never reached its sleep")
        run.send_signal(signal.SIGKILL)
        run.wait(10)
        with psycopg.connect(pg_database, autocommit=True) as con:
            deadline = time.monotonic() + 30  # the killed session ends when its sleep does
            while con.execute(
                "SELECT 1 FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(5)%'"
            ).fetchone():
                assert time.monotonic() < deadline
                time.sleep(0.1)
        rid = json.loads(golive("status", "--json", cwd=workdir).stdout)[0]["id"]

        run = subprocess.Popen(  # a restarted controller
            [GOLIVE, "resume", rid],
            cwd=workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**__import__("os").environ, **env},
        )
        wait_for_event(workdir / ".golive" / "golive.db", rid, "paused")
        run.kill()  # no controller runs: the status names the command that drives it on
        run.wait(10)
        said = " ".join(golive("status", rid, cwd=workdir).stdout.split())
        assert f"golive migrate rollback {rid} --restore" in said, said
        run = None
        st = state(workdir, rid)
        assert st["phase"] == "paused" and st["pause_kind"] == "migration", st
        assert "0001_email statement 3 (line 3) was running" in st["reason"]
        assert f"golive migrate rollback {rid} --restore" in st["waiting_for"]
        with psycopg.connect(pg_database, autocommit=True) as con:
            assert con.execute("SELECT to_regclass('audit')").fetchone() == (None,)
        journal = events(workdir, rid)
        backups = [e for e in journal if e["kind"] == "migration_backup"]
        assert len(backups) == 1, "the backup is not in the journal before the first change"
        kept = [e for e in journal if e["kind"] == "migration_backup_kept"]
        assert len(kept) == 1 and kept[0]["data"]["sha256"] == backups[0]["data"]["sha256"]

        done = golive("migrate", "rollback", rid, "--restore", cwd=workdir, timeout=120, env=env)
        assert "Traceback" not in done.stdout + done.stderr
        assert done.returncode == 3, done.stdout + done.stderr
        assert state(workdir, rid)["phase"] == "rolled_back"
        with psycopg.connect(pg_database, autocommit=True) as con:
            cols = con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'users'"
                " ORDER BY ordinal_position"
            ).fetchall()
            assert cols == [("id",), ("name",)]
            assert con.execute("SELECT count(*) FROM users").fetchone() == (2,)
    finally:
        if run is not None and run.poll() is None:
            run.kill()
            run.wait(5)
        stable.terminate()
        stable.wait(10)


@pytest.mark.parametrize("case", ["failing statement", "allowed after canary traffic"])
def test_sqlite_rollbacks_the_rules_allow_happen_on_their_own(workdir: Path, case: str) -> None:
    db = workdir / "app.db"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
        con.execute("INSERT INTO users (name) VALUES ('ada'), ('bob')")
    mig = workdir / "migrations"
    mig.mkdir()
    (mig / "0001_email.up.sql").write_text("ALTER TABLE users ADD COLUMN email TEXT;\n")
    (mig / "0001_email.down.sql").write_text("ALTER TABLE users DROP COLUMN email;\n")
    extra = ""
    if case == "failing statement":
        (mig / "0002_bad.up.sql").write_text("CREATE TABLE audit (id INT);\nSELECT * FROM nope;\n")
    else:
        extra = "      allow_destructive_rollback: true\n"
    stable, sp = start_app("1.0.0", latency_ms=2)
    plan = workdir / "plan.yaml"
    plan.write_text(plan_text(f"sqlite:///{db}", sp, free_port(), free_port(), extra))
    run: subprocess.Popen[str] | None = None
    try:
        if case == "failing statement":
            done = golive("run", str(plan), cwd=workdir, timeout=120)
            assert done.returncode == 1, done.stdout + done.stderr
            assert "0002_bad.up.sql:2:1: no such table: nope" in done.stdout
        else:
            run, rid = start(workdir, plan, "paused")
            assert golive("rollback", rid, cwd=workdir).returncode == 0
            assert run.wait(60) == 3
        rid = json.loads(golive("status", "--json", cwd=workdir).stdout)[0]["id"]
        kinds = [e["kind"] for e in events(workdir, rid)]
        assert "migration_restored" in kinds
        # traffic goes back first, the database after
        assert kinds.index("traffic_safe") < kinds.index("migration_restored")
        assert columns(db) == ["id", "name"]
        with sqlite3.connect(db) as con:
            assert (
                con.execute("SELECT name FROM sqlite_master WHERE name = 'audit'").fetchone()
                is None
            )
    finally:
        stop(run)
        stable.terminate()
        stable.wait(10)


def test_a_rollback_during_a_migration_moves_traffic_at_once_and_the_database_after(
    workdir: Path, pg_database: str
) -> None:
    with psycopg.connect(pg_database, autocommit=True) as con:
        con.execute("CREATE TABLE users (id serial PRIMARY KEY, name text)")
        con.execute("INSERT INTO users (name) VALUES ('ada'), ('bob')")
    mig = workdir / "migrations"
    mig.mkdir()
    (mig / "0001_email.up.sql").write_text(
        "ALTER TABLE users ADD COLUMN email text;\nSELECT pg_sleep(4);\n"
    )
    (mig / "0002_audit.up.sql").write_text("CREATE TABLE audit (id serial PRIMARY KEY);\n")
    stable, sp = start_app("1.0.0", latency_ms=2)
    plan = workdir / "plan.yaml"
    text = plan_text("env:APP_DB", sp, free_port(), free_port())
    # the canary is already taking a share when the migration starts
    text = text.replace("  - migrate:", "  - shift: 10\n  - migrate:").replace(
        "shift: 50", "shift: 60"
    )
    plan.write_text(text)
    env = {"APP_DB": pg_database}
    run = subprocess.Popen(
        [GOLIVE, "run", str(plan)],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**__import__("os").environ, **env},
    )
    try:
        sleeping = "SELECT 1 FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(4)%'"
        with psycopg.connect(pg_database, autocommit=True) as con:
            deadline = time.monotonic() + 60
            while not con.execute(sleeping).fetchone():
                assert time.monotonic() < deadline, "the migration never reached its sleep"
                time.sleep(0.05)
            rid = json.loads(golive("status", "--json", cwd=workdir).stdout)[0]["id"]
            asked = golive("rollback", rid, cwd=workdir, env=env)
            assert asked.returncode == 0, asked.stdout + asked.stderr
            wait_for_event(workdir / ".golive" / "golive.db", rid, "traffic_safe")
            # traffic went back while the migration still ran: the loop was never blocked
            assert con.execute(sleeping).fetchone(), "traffic waited for the migration"
        assert run.wait(90) == 3
        kinds = [e["kind"] for e in events(workdir, rid)]
        assert kinds.index("traffic_safe") < kinds.index("migration_restored")
        assert "migration_rollback_refused" not in kinds
        assert "migration_applied" in kinds  # 0001 finished; the job stopped before 0002
        with psycopg.connect(pg_database, autocommit=True) as con:
            assert con.execute("SELECT to_regclass('audit')").fetchone() == (None,)
            cols = con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'users'"
            ).fetchall()
            assert ("email",) not in cols
    finally:
        if run.poll() is None:
            run.kill()
            run.wait(5)
        stable.terminate()
        stable.wait(10)
