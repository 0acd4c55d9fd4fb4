"""The migration runner against a real PostgreSQL (a database per test) and SQLite: backup, verify
and restore round trips; forward and verify; a statement failing mid-migration, then the down
files or the backup; CREATE INDEX CONCURRENTLY outside a transaction; markers left by a
controller that stopped; one controller at a time; the connection string never printed."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from golive.migrate import runner
from golive.migrate.database import MARKS
from golive.migrate.postgres import PostgresDatabase
from golive.migrate.sqlite import SQLiteDatabase
from golive.plan.model import Assertion, MigrateStep

pytestmark = pytest.mark.integration

Query = Callable[[str], list[tuple[object, ...]]]


def write(d: Path, files: dict[str, str]) -> Path:
    d.mkdir(exist_ok=True)
    for name, text in files.items():
        (d / name).write_text(text)
    return d


@pytest.fixture(params=["postgres", "sqlite"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str, Query]:
    """(engine, url, query): a database with users(id, name) holding two rows."""
    if request.param == "postgres":
        url: str = request.getfixturevalue("pg_database")
        with psycopg.connect(url, autocommit=True) as con:
            con.execute("CREATE TABLE users (id serial PRIMARY KEY, name text)")
            con.execute("INSERT INTO users (name) VALUES ('ada'), ('bob')")

        def pg(sql: str) -> list[tuple[object, ...]]:
            with psycopg.connect(url, autocommit=True) as con:
                cur = con.execute(sql.encode())
                return cur.fetchall() if cur.description else []

        return "postgres", url, pg
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
        con.execute("INSERT INTO users (name) VALUES ('ada'), ('bob')")

    def lite(sql: str) -> list[tuple[object, ...]]:
        with sqlite3.connect(path) as con:
            return con.execute(sql).fetchall()

    return "sqlite", f"sqlite:///{path}", lite


def has_column(engine: str, query: Query, column: str) -> bool:
    if engine == "sqlite":
        return column in [r[1] for r in query("PRAGMA table_info(users)")]
    rows = query(
        f"SELECT 1 FROM information_schema.columns WHERE table_name = 'users' "
        f"AND column_name = '{column}'"
    )
    return bool(rows)


def step(engine: str, url: str, d: Path, **kw: object) -> MigrateStep:
    return MigrateStep("db", url, engine, str(d), **kw)  # type: ignore[arg-type]


EMAIL = {
    "0001_email.up.sql": "ALTER TABLE users ADD COLUMN email text;\n",
    "0001_email.down.sql": "ALTER TABLE users DROP COLUMN email;\n",
}


def test_forward_and_verify_then_down(target: tuple[str, str, Query], tmp_path: Path) -> None:
    engine, url, query = target
    d = write(tmp_path / "m", EMAIL)
    s = step(engine, url, d, verify=(Assertion("SELECT count(*) FROM users", "== 2"),))
    out = runner.forward(s, tmp_path / "state", "r1", 1)
    assert out.status == "done", out.message
    assert [e[0] for e in out.events] == [
        "migration_backup",
        "migration_applied",
        "migration_verified",
    ]
    assert has_column(engine, query, "email")
    again = runner.forward(s, tmp_path / "state", "r1", 1)  # nothing left to apply
    assert again.status == "done" and "migration_applied" not in [e[0] for e in again.events]
    back = runner.rollback(s, tmp_path / "state", "r1", 1, "down")
    assert back.status == "done", back.message
    assert not has_column(engine, query, "email")


def test_a_failing_assertion_fails_the_step(target: tuple[str, str, Query], tmp_path: Path) -> None:
    engine, url, _ = target
    d = write(tmp_path / "m", EMAIL)
    s = step(engine, url, d, verify=(Assertion("SELECT count(*) FROM users", "> 5"),))
    out = runner.forward(s, tmp_path / "state", "r1", 1)
    assert out.status == "failed"
    assert "SELECT count(*) FROM users" in out.message and "> 5" in out.message


def test_a_statement_failing_mid_migration_then_restore(
    target: tuple[str, str, Query], tmp_path: Path
) -> None:
    engine, url, query = target
    d = write(
        tmp_path / "m",
        {
            **EMAIL,
            "0002_bad.up.sql": "CREATE TABLE audit (id int);\n\nINSERT INTO missing VALUES (1);\n",
        },
    )
    s = step(engine, url, d)
    out = runner.forward(s, tmp_path / "state", "r1", 1)
    assert out.status == "failed"
    assert out.message.startswith("0002_bad.up.sql:3:1: ")
    assert has_column(engine, query, "email")  # 0001 was applied; 0002 rolled back whole
    tables = (
        query("SELECT name FROM sqlite_master WHERE name = 'audit'")
        if engine == "sqlite"
        else query("SELECT tablename FROM pg_tables WHERE tablename = 'audit'")
    )
    assert tables == []
    assert query(f"SELECT count(*) FROM {MARKS}") == [(0,)]
    back = runner.rollback(s, tmp_path / "state", "r1", 1, "restore")
    assert back.status == "done", back.message
    assert not has_column(engine, query, "email")
    assert query("SELECT count(*) FROM users") == [(2,)]


def test_backup_verify_restore_round_trip(target: tuple[str, str, Query], tmp_path: Path) -> None:
    engine, url, query = target
    query("INSERT INTO users (name) VALUES ('<script>'), ('ünï''cödé')")
    d = write(tmp_path / "m", {"0001_drop.up.sql": "DELETE FROM users WHERE id > 1;\n"})
    s = step(engine, url, d, scratch_restore=True)
    out = runner.forward(s, tmp_path / "state", "r1", 0)
    assert out.status == "done", out.message
    backup = out.events[0]
    assert backup[0] == "migration_backup"
    path = Path(str(backup[2]["path"]))
    assert path.stat().st_size == backup[2]["size"]
    assert oct(path.parent.stat().st_mode & 0o777) == "0o700"
    if engine == "postgres":
        assert "pg_restore --list" in backup[1] and "row count matches" in backup[1]
    assert query("SELECT count(*) FROM users") == [(1,)]
    back = runner.rollback(s, tmp_path / "state", "r1", 0, "restore")
    assert back.status == "done", back.message
    assert sorted(r[0] for r in query("SELECT name FROM users")) == sorted(  # type: ignore[type-var]
        ["ada", "bob", "<script>", "ünï'cödé"]
    )


def test_a_backup_edited_after_it_was_taken_is_not_restored(
    target: tuple[str, str, Query], tmp_path: Path
) -> None:
    engine, url, query = target
    s = step(engine, url, write(tmp_path / "m", EMAIL))
    assert runner.forward(s, tmp_path / "state", "r1", 0).status == "done"
    path = runner.backup_path((tmp_path / "state"), "r1", 0, engine)
    with path.open("ab") as fh:
        fh.write(b"x")
    back = runner.rollback(s, tmp_path / "state", "r1", 0, "restore")
    assert back.status == "failed" and "does not match its checksum" in back.message
    assert has_column(engine, query, "email")


def test_markers_left_by_a_stopped_controller_hold_it(
    target: tuple[str, str, Query], tmp_path: Path
) -> None:
    engine, url, query = target
    d = write(tmp_path / "m", {**EMAIL, "0002_more.up.sql": "CREATE TABLE audit (id int);\n"})
    s = step(engine, url, d)
    assert runner.forward(s, tmp_path / "state", "r1", 0).status == "done"
    (d / "0003_next.up.sql").write_text("CREATE TABLE t3 (id int);\nCREATE TABLE t4 (id int);\n")
    query(f"INSERT INTO {MARKS} (version, statement, line, state) VALUES (3, 1, 1, 'done')")
    query(f"INSERT INTO {MARKS} (version, statement, line, state) VALUES (3, 2, 2, 'running')")
    out = runner.forward(s, tmp_path / "state", "r1", 0)
    assert out.status == "held"
    assert "0003_next statement 2 (line 2) was running" in out.message
    assert "Nothing is run again on its own" in out.message
    present = (
        query("SELECT name FROM sqlite_master WHERE name IN ('t3', 't4')")
        if engine == "sqlite"
        else query("SELECT tablename FROM pg_tables WHERE tablename IN ('t3', 't4')")
    )
    assert present == []


def test_one_controller_migrates_at_a_time(target: tuple[str, str, Query], tmp_path: Path) -> None:
    engine, url, _ = target
    first = SQLiteDatabase(url, 5, 1) if engine == "sqlite" else PostgresDatabase(url, 5, 1)
    first.lock()
    try:
        out = runner.forward(
            step(engine, url, write(tmp_path / "m", EMAIL)), tmp_path / "s", "r", 0
        )
        assert out.status == "held" and "another controller" in out.message
    finally:
        first.close()


def test_postgres_index_concurrently_runs_outside_a_transaction(
    pg_database: str, tmp_path: Path
) -> None:
    with psycopg.connect(pg_database, autocommit=True) as con:
        con.execute("CREATE TABLE users (id serial PRIMARY KEY, name text)")
    d = write(
        tmp_path / "m",
        {
            "0001_idx.up.sql": "CREATE INDEX CONCURRENTLY users_name ON users (name);\n"
            "CREATE INDEX CONCURRENTLY users_name2 ON users (name, id);\n",
            "0001_idx.down.sql": "DROP INDEX CONCURRENTLY users_name2;\n"
            "DROP INDEX CONCURRENTLY users_name;\n",
        },
    )
    s = step("postgres", pg_database, d)
    out = runner.forward(s, tmp_path / "state", "r1", 0)
    assert out.status == "done", out.message
    with psycopg.connect(pg_database, autocommit=True) as con:
        idx = con.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'users'").fetchall()
        assert {"users_name", "users_name2"} <= {r[0] for r in idx}
        assert con.execute(f"SELECT count(*) FROM {MARKS}").fetchone() == (0,)
    back = runner.rollback(s, tmp_path / "state", "r1", 0, "down")
    assert back.status == "done", back.message


def test_postgres_statement_timeout_stops_a_long_statement(
    pg_database: str, tmp_path: Path
) -> None:
    with psycopg.connect(pg_database, autocommit=True) as con:
        con.execute("CREATE TABLE users (id serial PRIMARY KEY)")
    d = write(tmp_path / "m", {"0001_slow.up.sql": "SELECT pg_sleep(3);\n"})
    out = runner.forward(
        step("postgres", pg_database, d, statement_timeout=0.2), tmp_path / "state", "r1", 0
    )
    assert out.status == "failed" and "statement timeout" in out.message


def test_the_connection_string_is_never_said(
    pg_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = pg_database.replace("golive@", "golive:hunter2-s3cret@")
    monkeypatch.setenv("APP_DB", secret)
    from golive.plan.values import SecretRef

    d = write(tmp_path / "m", {"0001_bad.up.sql": "SELECT * FROM nowhere;\n"})
    s = dataclasses.replace(step("postgres", "", d), database=SecretRef("env", "APP_DB"))
    out = runner.forward(s, tmp_path / "state", "r1", 0)
    assert out.status == "failed"
    said = out.message + json.dumps([e[1:] for e in out.events])
    assert "hunter2" not in said
    assert "hunter2" not in repr(s)


def test_hooks_alembic_and_a_failure_before_any_change(tmp_path: Path) -> None:
    import http.server
    import sys
    import threading

    from golive.plan.model import Hook

    posted: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            posted.append(self.path)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        db = tmp_path / "app.db"
        with sqlite3.connect(db) as con:
            con.execute("CREATE TABLE users (id INTEGER PRIMARY KEY)")
        flag = tmp_path / "read-only"
        enter = Hook(command=(sys.executable, "-c", f"open({str(flag)!r}, 'w').close()"))
        leave = Hook(url=f"http://127.0.0.1:{server.server_address[1]}/read-write")
        make = (
            "import os, sqlite3; p = os.environ['DATABASE_URL'].removeprefix('sqlite:///');"
            "c = sqlite3.connect(p); c.execute('CREATE TABLE made (id int)'); c.commit()"
        )
        s = MigrateStep(
            "db",
            f"sqlite:///{db}",
            "sqlite",
            alembic=(sys.executable, "-c", make),
            enter_read_only=enter,
            leave_read_only=leave,
        )
        out = runner.forward(s, tmp_path / "state", "r1", 0)
        assert out.status == "done", out.message
        with sqlite3.connect(db) as con:
            assert con.execute("SELECT name FROM sqlite_master WHERE name = 'made'").fetchone()
        # alembic runs without the hooks (it is the project's own); SQL files use them
        d = write(tmp_path / "m", EMAIL)
        s2 = dataclasses.replace(s, alembic=(), directory=str(d))
        out = runner.forward(s2, tmp_path / "state2", "r1", 0)
        assert out.status == "done", out.message
        assert flag.exists() and posted == ["/read-write"]
        kinds = [e[0] for e in out.events]
        assert kinds.count("migration_hook") == 2
        nowhere = dataclasses.replace(s2, database="sqlite:////nonexistent/dir/app.db")
        bad = runner.forward(nowhere, tmp_path / "state3", "r1", 0)
        assert bad.status == "failed" and not bad.changed
    finally:
        server.shutdown()
        server.server_close()


def test_a_file_interrupted_inside_its_transaction_holds_too(
    target: tuple[str, str, Query], tmp_path: Path
) -> None:
    engine, url, query = target
    d = write(tmp_path / "m", EMAIL)
    s = step(engine, url, d)
    runner.forward(s, tmp_path / "state", "r1", 0)
    (d / "0002_more.up.sql").write_text("CREATE TABLE audit (id int);\n")
    query(f"INSERT INTO {MARKS} (version, statement, line, state) VALUES (2, 0, 1, 'running')")
    out = runner.forward(s, tmp_path / "state", "r1", 0)
    assert (
        out.status == "held" and "0002_more was interrupted inside its transaction" in out.message
    )
    assert [e[0] for e in out.events] == ["migration_backup_kept"]


@pytest.mark.parametrize("mode", ["down", "restore"])
def test_a_second_release_rolls_back_only_its_own_migration(
    target: tuple[str, str, Query], tmp_path: Path, mode: runner.Mode
) -> None:
    engine, url, query = target
    d = write(tmp_path / "m", EMAIL)
    s = step(engine, url, d)
    assert runner.forward(s, tmp_path / "state", "first", 0).status == "done"
    write(
        d,
        {
            "0002_phone.up.sql": "ALTER TABLE users ADD COLUMN phone text;\n",
            "0002_phone.down.sql": "ALTER TABLE users DROP COLUMN phone;\n",
        },
    )
    second = runner.forward(s, tmp_path / "state", "second", 0)
    assert [e[1] for e in second.events if e[0] == "migration_applied"] == ["0002_phone applied"]
    back = runner.rollback(s, tmp_path / "state", "second", 0, mode)
    assert back.status == "done", back.message
    assert has_column(engine, query, "email") and not has_column(engine, query, "phone")
    assert runner.forward(s, tmp_path / "state", "third", 0).status == "done"
    assert has_column(engine, query, "phone")
