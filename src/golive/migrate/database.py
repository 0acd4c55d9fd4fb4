"""What the runner asks of a database, whichever engine: its lock, its version table and a
marker per statement, forward and down migrations, a backup and a restore.

Blocking I/O: the engine runs all of it in a thread. The version table ``golive_schema_versions``
holds one row per applied migration; ``golive_migration_marks`` one row per statement started
outside a transaction (or per file run inside one), deleted when the file is recorded applied,
so a row left behind says a controller stopped in the middle.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from golive.migrate.files import Migration, Statement

VERSIONS = "golive_schema_versions"
MARKS = "golive_migration_marks"


class MigrationFailed(Exception):
    """A statement failed: names the file, its line and the database's message."""


class LockBusy(Exception):
    """Another controller holds the migration lock."""


@dataclass(frozen=True, slots=True)
class Mark:
    version: int
    statement: int  # 0: the whole file, in one transaction
    line: int
    state: str  # running | done

    def describe(self, label: str) -> str:
        if self.statement == 0:
            return (
                f"{label} was interrupted inside its transaction (the database rolls an "
                "unfinished transaction back: check that none of it is there)"
            )
        return f"{label} statement {self.statement} (line {self.line}) was {self.state}"


@dataclass(frozen=True, slots=True)
class BackupInfo:
    path: Path
    size: int
    sha256: str
    detail: str  # what verified it


class Database(Protocol):
    def lock(self) -> None: ...
    def prepare(self) -> None: ...
    def applied(self) -> set[int]: ...
    def marks(self) -> list[Mark]: ...
    def clear_marks(self) -> None: ...
    def forward(self, migration: Migration) -> None: ...
    def down(self, migration: Migration) -> None: ...
    def scalar(self, sql: str) -> object: ...
    def backup(self, path: Path, scratch: bool) -> BackupInfo: ...
    def restore(self, path: Path) -> None: ...
    def close(self) -> None: ...


def failed(migration: Migration, stmt: Statement, exc: BaseException) -> MigrationFailed:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return MigrationFailed(f"{migration.up.name}:{stmt.line}:{stmt.column}: {first}")
