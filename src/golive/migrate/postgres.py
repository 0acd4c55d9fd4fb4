"""PostgreSQL (psycopg 3): a session advisory lock (``pg_try_advisory_lock``) so one controller
migrates, ``statement_timeout`` and ``lock_timeout`` on the session, each file in a transaction
unless it builds or drops an index CONCURRENTLY (which PostgreSQL refuses inside one: those run
statement by statement, a marker each), backups with ``pg_dump -Fc`` verified by
``pg_restore --list``.

The connection string is a secret: it reaches ``pg_dump``/``pg_restore`` through libpq's
environment variables (PGHOST, PGPASSWORD, ...), never their argv, and is never printed.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict

from golive.migrate.database import MARKS, VERSIONS, BackupInfo, LockBusy, Mark, failed
from golive.migrate.files import Migration

LOCK_KEY = 0x6F6C6976  # "oliv": the advisory lock every golive migration takes
TOOL_TIMEOUT = 3600.0
_NO_TX = re.compile(r"\bCONCURRENTLY\b|^\s*--\s*golive:\s*no-transaction", re.I | re.M)
_ENV = {"host": "PGHOST", "port": "PGPORT", "user": "PGUSER", "password": "PGPASSWORD",
        "dbname": "PGDATABASE", "sslmode": "PGSSLMODE"}  # fmt: skip


def tool(name: str) -> str:
    found = shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None
    )
    if found is None:
        raise OSError(f"{name} is not installed (PostgreSQL's client programs)")
    return found


def libpq_env(dsn: str) -> dict[str, str]:
    """The environment that points pg_dump at ``dsn`` (its password included)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    for key, value in conninfo_to_dict(dsn).items():
        if key in _ENV and value is not None:
            env[_ENV[key]] = str(value)
    return env


class PostgresDatabase:
    def __init__(self, dsn: str, statement_timeout: float, lock_timeout: float) -> None:
        self.dsn = dsn
        self.conn = psycopg.connect(dsn, autocommit=True, connect_timeout=10)
        self.conn.execute(f"SET statement_timeout = {int(statement_timeout * 1000)}".encode())
        self.conn.execute(f"SET lock_timeout = {int(lock_timeout * 1000)}".encode())

    def lock(self) -> None:
        row = self.conn.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()
        if row is None or not row[0]:
            raise LockBusy("another controller holds the migration lock (advisory lock)")

    def prepare(self) -> None:
        self.conn.execute(
            f"CREATE TABLE IF NOT EXISTS {VERSIONS} (version integer PRIMARY KEY, "
            "name text NOT NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL "
            "DEFAULT now())".encode()
        )
        self.conn.execute(
            f"CREATE TABLE IF NOT EXISTS {MARKS} (version integer, statement integer, "
            "line integer, state text, at timestamptz DEFAULT now(), "
            "PRIMARY KEY (version, statement))".encode()
        )

    def applied(self) -> set[int]:
        rows = self.conn.execute(f"SELECT version FROM {VERSIONS}".encode()).fetchall()
        return {int(r[0]) for r in rows}

    def marks(self) -> list[Mark]:
        rows = self.conn.execute(
            f"SELECT version, statement, line, state FROM {MARKS} "
            "ORDER BY version, statement".encode()
        ).fetchall()
        return [Mark(int(v), int(s), int(ln), str(st)) for v, s, ln, st in rows]

    def clear_marks(self) -> None:
        self.conn.execute(f"DELETE FROM {MARKS}".encode())

    def _mark(self, version: int, statement: int, line: int, state: str) -> None:
        self.conn.execute(
            f"INSERT INTO {MARKS} (version, statement, line, state) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (version, statement) DO UPDATE SET state = excluded.state".encode(),
            (version, statement, line, state),
        )

    def _record(self, migration: Migration) -> None:
        self.conn.execute(
            f"INSERT INTO {VERSIONS} (version, name, checksum) VALUES (%s, %s, %s)".encode(),
            (migration.version, migration.name, migration.checksum),
        )
        self.conn.execute(f"DELETE FROM {MARKS} WHERE version = %s".encode(), (migration.version,))

    def forward(self, migration: Migration) -> None:
        if _NO_TX.search(migration.up_sql):
            return self._statement_by_statement(migration)
        self._mark(migration.version, 0, 1, "running")
        try:
            with self.conn.transaction():
                for stmt in migration.statements():
                    try:
                        self.conn.execute(stmt.text.encode())
                    except psycopg.Error as exc:
                        raise failed(migration, stmt, exc) from None
                self._record(migration)
        except BaseException:
            self.conn.execute(
                f"DELETE FROM {MARKS} WHERE version = %s".encode(), (migration.version,)
            )
            raise
        return None

    def _statement_by_statement(self, migration: Migration) -> None:
        for i, stmt in enumerate(migration.statements(), start=1):
            self._mark(migration.version, i, stmt.line, "running")
            try:
                self.conn.execute(stmt.text.encode())
            except psycopg.Error as exc:
                self._mark(migration.version, i, stmt.line, "failed")
                raise failed(migration, stmt, exc) from None
            self._mark(migration.version, i, stmt.line, "done")
        with self.conn.transaction():
            self._record(migration)

    def down(self, migration: Migration) -> None:
        no_tx = migration.down_sql is not None and _NO_TX.search(migration.down_sql)
        with self.conn.transaction() if not no_tx else contextlib.nullcontext():
            for stmt in migration.down_statements():
                try:
                    self.conn.execute(stmt.text.encode())
                except psycopg.Error as exc:
                    raise failed(migration, stmt, exc) from None
            self.conn.execute(
                f"DELETE FROM {VERSIONS} WHERE version = %s".encode(), (migration.version,)
            )

    def scalar(self, sql: str) -> object:
        row = self.conn.execute(sql.encode()).fetchone()
        return None if row is None else row[0]

    def backup(self, path: Path, scratch: bool) -> BackupInfo:
        path.parent.mkdir(parents=True, exist_ok=True)
        env = libpq_env(self.dsn)
        _tool(["pg_dump", "-Fc", "--no-owner", "-f", str(path)], env)
        listing = _tool(["pg_restore", "--list", str(path)], env)
        entries = sum(1 for ln in listing.splitlines() if ln and not ln.startswith(";"))
        detail = f"pg_restore --list: {entries} entries"
        if scratch:
            detail += "; " + self._scratch(path, env)
        return BackupInfo(path, path.stat().st_size, _sha256(path), detail)

    def _scratch(self, path: Path, env: dict[str, str]) -> str:
        """Restore into a scratch database and compare each table's row count with the live
        one (a table written meanwhile differs: said, not failed)."""
        name = f"golive_scratch_{os.getpid()}_{int(time.time())}"
        self.conn.execute(f'CREATE DATABASE "{name}"'.encode())
        try:
            _tool(["pg_restore", "--no-owner", "--exit-on-error", "-d", name, str(path)], env)
            scratch = psycopg.connect(self.dsn, dbname=name, autocommit=True)
            try:
                differ = [
                    t for t in _tables(self.conn) if _count(scratch, t) != _count(self.conn, t)
                ]
            finally:
                scratch.close()
        finally:
            self.conn.execute(f'DROP DATABASE IF EXISTS "{name}"'.encode())
        if differ:
            return f"restored into a scratch database; row counts differ for {', '.join(differ)}"
        return "restored into a scratch database; every table's row count matches"

    def restore(self, path: Path) -> None:
        env = libpq_env(self.dsn)
        listing = _tool(["pg_restore", "--list", str(path)], env)
        kept = set(re.findall(r"TABLE (\S+ \S+) ", listing))
        with self.conn.transaction():  # tables created since the backup go first
            for table in _tables(self.conn):
                schema, _, name = table.partition(".")
                if f"{schema} {name}" not in kept:
                    self.conn.execute(f'DROP TABLE IF EXISTS "{schema}"."{name}" CASCADE'.encode())
        dbname = env.get("PGDATABASE", "postgres")
        _tool(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
               "--exit-on-error", "-d", dbname, str(path)], env)  # fmt: skip

    def close(self) -> None:
        self.conn.close()  # a session advisory lock ends with its session


def _tables(conn: psycopg.Connection[tuple[object, ...]]) -> list[str]:
    rows = conn.execute(
        "SELECT schemaname || '.' || tablename FROM pg_tables WHERE schemaname NOT IN "
        "('pg_catalog', 'information_schema') ORDER BY 1"
    ).fetchall()
    return [str(r[0]) for r in rows]


def _count(conn: psycopg.Connection[tuple[object, ...]], table: str) -> int:
    schema, _, name = table.partition(".")
    row = conn.execute(f'SELECT count(*) FROM "{schema}"."{name}"'.encode()).fetchone()
    return int(str(row[0])) if row else 0


def _tool(argv: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(
        [tool(argv[0]), *argv[1:]],
        env=env,
        capture_output=True,
        text=True,
        timeout=TOOL_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        why = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise OSError(f"{argv[0]} failed ({done.returncode}): {why}")
    return done.stdout


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
