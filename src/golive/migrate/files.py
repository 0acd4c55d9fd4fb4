"""A migrations directory: ordered pairs ``NNNN_name.up.sql`` / ``NNNN_name.down.sql``, each
split into statements that know the line and column they start at.

The splitter knows SQL's quoting (``'...'``, ``"..."``, ``$tag$...$tag$``) and comments, so a
semicolon inside a function body or a string does not end a statement. Reading is the only I/O
here (through :mod:`golive.textfile`), so the plan loader may list a plan's migrations.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from golive.textfile import TextFileError, read_text

MAX_SQL_BYTES = 4 * 1024 * 1024
_NAME = re.compile(r"^(\d{1,9})_([A-Za-z0-9_-]+)\.(up|down)\.sql$")
_DOLLAR = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")


class MigrationFileError(Exception):
    """A migrations directory golive cannot use: the message names the file and why."""


@dataclass(frozen=True, slots=True)
class Statement:
    text: str
    line: int  # 1-based, where its first character is
    column: int


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    up: Path
    up_sql: str
    down: Path | None = None
    down_sql: str | None = None

    @property
    def label(self) -> str:
        return f"{self.version:04d}_{self.name}"

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.up_sql.encode()).hexdigest()

    def statements(self) -> list[Statement]:
        return split(self.up_sql)

    def down_statements(self) -> list[Statement]:
        return split(self.down_sql) if self.down_sql is not None else []


def discover(directory: Path) -> list[Migration]:
    """The migrations in ``directory``, by version; an unpaired ``down``, a version written
    twice or an unreadable file is an error naming it."""
    if not directory.is_dir():
        raise MigrationFileError(f"{directory}: not a directory of migrations")
    ups: dict[int, tuple[str, Path]] = {}
    downs: dict[int, tuple[str, Path]] = {}
    for path in sorted(directory.iterdir()):
        if not path.name.endswith(".sql"):
            continue
        found = _NAME.match(path.name)
        if found is None:
            raise MigrationFileError(
                f"{path}: a migration is named NNNN_name.up.sql or NNNN_name.down.sql"
            )
        version, name, way = int(found[1]), found[2], found[3]
        into = ups if way == "up" else downs
        if version in into:
            raise MigrationFileError(f"{path}: version {version} is also {into[version][1].name}")
        into[version] = (name, path)
    for version, (_, path) in downs.items():
        if version not in ups:
            raise MigrationFileError(f"{path}: a down migration without its up migration")
    result = []
    for version in sorted(ups):
        name, up = ups[version]
        down = downs.get(version)
        result.append(
            Migration(
                version,
                name,
                up,
                _read(up),
                down[1] if down else None,
                _read(down[1]) if down else None,
            )
        )
    return result


def _read(path: Path) -> str:
    try:
        return read_text(path, MAX_SQL_BYTES)
    except TextFileError as exc:
        raise MigrationFileError(f"{path}: {exc}") from None


def split(sql: str) -> list[Statement]:
    """The statements of ``sql`` (without their ``;``), each with where it starts."""
    out: list[Statement] = []
    i, n = 0, len(sql)
    start: int | None = None  # where the current statement's first character is
    while i < n:
        c = sql[i]
        if c in " \t\r\n;":
            if c == ";" and start is not None:
                out.append(_statement(sql, start, i))
                start = None
            i += 1
            continue
        if sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end
            continue
        if sql.startswith("/*", i):
            i = _block_comment(sql, i)
            continue
        if start is None:
            start = i
        if c in "'\"":
            end = sql.find(c, i + 1)
            while end >= 0 and sql.startswith(c, end + 1):  # a doubled quote is a quote
                end = sql.find(c, end + 2)
            i = n if end < 0 else end + 1
            continue
        if c == "$" and (tag := _DOLLAR.match(sql, i)) is not None:
            end = sql.find(tag[0], tag.end())
            i = n if end < 0 else end + len(tag[0])
            continue
        i += 1
    if start is not None:
        out.append(_statement(sql, start, n))
    return out


def _block_comment(sql: str, i: int) -> int:
    depth, i = 1, i + 2
    while i < len(sql) and depth:
        if sql.startswith("/*", i):
            depth, i = depth + 1, i + 2
        elif sql.startswith("*/", i):
            depth, i = depth - 1, i + 2
        else:
            i += 1
    return i


def _statement(sql: str, start: int, end: int) -> Statement:
    line = sql.count("\n", 0, start) + 1
    column = start - (sql.rfind("\n", 0, start) + 1) + 1
    return Statement(sql[start:end].rstrip(), line, column)
