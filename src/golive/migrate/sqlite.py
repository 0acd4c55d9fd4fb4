"""SQLite: a lock file (flock) so one controller migrates, BEGIN IMMEDIATE transactions (SQLite's
DDL is transactional, so each file runs in one), the online backup API for backups and restores.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import sqlite3
import time
from pathlib import Path

from golive.migrate.database import MARKS, VERSIONS, BackupInfo, LockBusy, Mark, failed
from golive.migrate.files import Migration


def sqlite_path(url: str) -> Path:
    """``sqlite:///abs/path`` or ``sqlite:relative/path``."""
    rest = url.removeprefix("sqlite:")
    rest = rest.removeprefix("//") if rest.startswith("///") else rest
    if not rest:
        raise ValueError("a SQLite database is written sqlite:///path/to/file.db")
    return Path(rest)


class SQLiteDatabase:
    def __init__(self, url: str, statement_timeout: float, lock_timeout: float) -> None:
        self.path = sqlite_path(url)
        self.statement_timeout = statement_timeout
        self.conn = sqlite3.connect(self.path, isolation_level=None, timeout=lock_timeout)
        self._lock: int | None = None
        self._deadline = 0.0
        self.conn.set_progress_handler(self._over, 10_000)

    def _over(self) -> int:
        return 1 if self._deadline and time.monotonic() > self._deadline else 0

    def _run(self, sql: str) -> None:
        self._deadline = time.monotonic() + self.statement_timeout
        try:
            self.conn.execute(sql)
        finally:
            self._deadline = 0.0

    def lock(self) -> None:
        fd = os.open(f"{self.path}.golive-migrate.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise LockBusy(f"another controller is migrating {self.path.name}") from None
        self._lock = fd

    def prepare(self) -> None:
        self.conn.execute(
            f"CREATE TABLE IF NOT EXISTS {VERSIONS} (version INTEGER PRIMARY KEY, "
            "name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at REAL NOT NULL)"
        )
        self.conn.execute(
            f"CREATE TABLE IF NOT EXISTS {MARKS} (version INTEGER, statement INTEGER, "
            "line INTEGER, state TEXT, at REAL, PRIMARY KEY (version, statement))"
        )

    def applied(self) -> set[int]:
        return {int(r[0]) for r in self.conn.execute(f"SELECT version FROM {VERSIONS}")}

    def marks(self) -> list[Mark]:
        rows = self.conn.execute(
            f"SELECT version, statement, line, state FROM {MARKS} ORDER BY version, statement"
        )
        return [Mark(int(v), int(s), int(ln), str(st)) for v, s, ln, st in rows]

    def clear_marks(self) -> None:
        self.conn.execute(f"DELETE FROM {MARKS}")

    def forward(self, migration: Migration) -> None:
        self.conn.execute(
            f"INSERT OR REPLACE INTO {MARKS} VALUES (?, 0, 1, 'running', ?)",
            (migration.version, time.time()),
        )
        self.conn.execute("BEGIN IMMEDIATE")
        for stmt in migration.statements():
            try:
                self._run(stmt.text)
            except sqlite3.Error as exc:
                self.conn.execute("ROLLBACK")
                self.conn.execute(f"DELETE FROM {MARKS} WHERE version = ?", (migration.version,))
                raise failed(migration, stmt, exc) from None
        self.conn.execute(
            f"INSERT INTO {VERSIONS} VALUES (?, ?, ?, ?)",
            (migration.version, migration.name, migration.checksum, time.time()),
        )
        self.conn.execute(f"DELETE FROM {MARKS} WHERE version = ?", (migration.version,))
        self.conn.execute("COMMIT")

    def down(self, migration: Migration) -> None:
        self.conn.execute("BEGIN IMMEDIATE")
        for stmt in migration.down_statements():
            try:
                self._run(stmt.text)
            except sqlite3.Error as exc:
                self.conn.execute("ROLLBACK")
                raise failed(migration, stmt, exc) from None
        self.conn.execute(f"DELETE FROM {VERSIONS} WHERE version = ?", (migration.version,))
        self.conn.execute("COMMIT")

    def scalar(self, sql: str) -> object:
        row = self.conn.execute(sql).fetchone()
        return None if row is None else row[0]

    def backup(self, path: Path, scratch: bool) -> BackupInfo:
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.closing(sqlite3.connect(path)) as dst:
            self.conn.backup(dst)
            check = dst.execute("PRAGMA integrity_check").fetchone()[0]
            tables = dst.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'")
            count = tables.fetchone()[0]
        if check != "ok":
            raise OSError(f"the backup {path} fails its integrity check: {check}")
        return BackupInfo(path, path.stat().st_size, _sha256(path), f"integrity ok, {count} tables")

    def restore(self, path: Path) -> None:
        with contextlib.closing(sqlite3.connect(path)) as src:
            src.backup(self.conn)

    def close(self) -> None:
        self.conn.close()
        if self._lock is not None:
            os.close(self._lock)  # closing the descriptor releases the flock
            self._lock = None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
