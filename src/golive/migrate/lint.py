"""Expand/contract lint: each statement of a migration is backward compatible (the running
stable revision keeps working while it runs and after), a locking warning, or destructive (old
code breaks, or data is lost), with the reason.

The cases come from expand/contract guides (strong_migrations' list of dangerous operations,
squawk's rules). Pure: SQL text in, findings out (sqlglot parses; what it cannot parse is read
by its leading words, and an unknown statement is a warning to read by hand).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from golive.migrate.files import Migration, Statement

Dialect = Literal["postgres", "sqlite"]
logging.getLogger("sqlglot").setLevel(logging.ERROR)  # its fallback notes are ours to report


class Safety(StrEnum):
    SAFE = "safe"
    WARNING = "warning"  # compatible, but it locks a table or needs reading by hand
    DESTRUCTIVE = "destructive"


@dataclass(frozen=True, slots=True)
class Finding:
    statement: Statement
    safety: Safety
    reason: str


def lint(migration: Migration, dialect: Dialect, down: bool = False) -> list[Finding]:
    stmts = migration.down_statements() if down else migration.statements()
    return [classify(s, dialect) for s in stmts]


def worst(findings: list[Finding]) -> Safety:
    order = [Safety.SAFE, Safety.WARNING, Safety.DESTRUCTIVE]
    return max((f.safety for f in findings), key=order.index, default=Safety.SAFE)


def classify(stmt: Statement, dialect: Dialect) -> Finding:
    safety, reason = _classify(stmt.text, dialect)
    return Finding(stmt, safety, reason)


def _classify(sql: str, dialect: Dialect) -> tuple[Safety, str]:
    words = " ".join(re.sub(r"\s+", " ", sql).upper().split(" ")[:6])
    if dialect == "postgres" and re.match(r"ALTER TABLE .* VALIDATE CONSTRAINT", _flat(sql)):
        return Safety.SAFE, "validates a NOT VALID constraint (no write lock)"
    try:
        tree = sqlglot.parse_one(sql, dialect=dialect)
    except (SqlglotError, RecursionError, ValueError):  # deep nesting, bytes it cannot read
        return _by_words(words)
    # sqlglot's expression classes are open (not a sum type): tested one by one
    if isinstance(tree, exp.Create):
        return _create(tree, dialect)
    if isinstance(tree, exp.Drop):
        return _drop(tree, dialect)
    if isinstance(tree, exp.Alter):
        return _alter(tree, dialect)
    if isinstance(tree, exp.TruncateTable):
        return Safety.DESTRUCTIVE, "truncates a table: its rows are lost"
    unfiltered = tree.args.get("where") is None
    if isinstance(tree, exp.Delete) and unfiltered:
        return Safety.DESTRUCTIVE, "deletes every row of a table"
    if isinstance(tree, exp.Update) and unfiltered:
        return Safety.WARNING, "updates every row in one transaction: backfill in batches"
    if isinstance(tree, exp.Select | exp.Insert | exp.Update | exp.Delete):
        return Safety.SAFE, "reads or changes rows, not the schema"
    return _by_words(words)


def _flat(sql: str) -> str:
    return re.sub(r"\s+", " ", sql).strip().upper()


def _by_words(words: str) -> tuple[Safety, str]:
    if words.startswith(("COMMENT ", "ANALYZE", "VACUUM", "SET ", "GRANT ", "CREATE EXTENSION")):
        return Safety.SAFE, "does not change what the application reads or writes"
    if words.startswith(("REVOKE ",)):
        return Safety.DESTRUCTIVE, "revokes a privilege the running code may use"
    return Safety.WARNING, f"not classified ({words}...): read it by hand"


def _create(tree: exp.Create, dialect: Dialect) -> tuple[Safety, str]:
    kind = str(tree.args.get("kind") or "").upper()
    if kind == "INDEX":
        if dialect == "postgres" and not tree.args.get("concurrently"):
            return (
                Safety.WARNING,
                "CREATE INDEX without CONCURRENTLY blocks writes to the table while it builds",
            )
        return Safety.SAFE, "adds an index"
    if kind == "TABLE":
        return Safety.SAFE, "adds a table"
    if tree.args.get("replace"):
        return Safety.WARNING, f"replaces a {kind.lower() or 'definition'}: read it by hand"
    return Safety.SAFE, f"adds a {kind.lower() or 'definition'}"


def _drop(tree: exp.Drop, dialect: Dialect) -> tuple[Safety, str]:
    kind = str(tree.args.get("kind") or "").upper()
    if kind == "INDEX":
        if dialect == "postgres" and not tree.args.get("concurrently"):
            return Safety.WARNING, "DROP INDEX without CONCURRENTLY blocks the table"
        return Safety.SAFE, "drops an index (reads may be slower, none break)"
    name = kind.lower() or "object"
    return Safety.DESTRUCTIVE, f"drops a {name}: the running code may still use it"


def _alter(tree: exp.Alter, dialect: Dialect) -> tuple[Safety, str]:
    kind = str(tree.args.get("kind") or "").upper()
    if kind != "TABLE":
        return Safety.WARNING, f"alters a {kind.lower() or 'definition'}: read it by hand"
    results = [_action(a, tree, dialect) for a in tree.args.get("actions") or []]
    if not results:
        return Safety.WARNING, "an ALTER TABLE golive does not recognise: read it by hand"
    order = [Safety.SAFE, Safety.WARNING, Safety.DESTRUCTIVE]
    return max(results, key=lambda r: order.index(r[0]))


def _action(action: exp.Expression, tree: exp.Alter, dialect: Dialect) -> tuple[Safety, str]:
    if isinstance(action, exp.ColumnDef):
        return _add_column(action)
    if isinstance(action, exp.Drop):
        return Safety.DESTRUCTIVE, "drops a column the running code may read or write"
    if isinstance(action, exp.RenameColumn):
        return Safety.DESTRUCTIVE, "renames a column: the running code uses the old name"
    if isinstance(action, exp.AlterRename):
        return Safety.DESTRUCTIVE, "renames a table: the running code uses the old name"
    if isinstance(action, exp.AlterColumn):
        return _alter_column(action)
    if isinstance(action, exp.AddConstraint):
        if tree.args.get("not_valid"):
            return Safety.SAFE, "adds a constraint NOT VALID (existing rows not checked)"
        return (
            Safety.WARNING,
            "adds a constraint that checks every row under a lock: add it NOT VALID, "
            "then VALIDATE CONSTRAINT",
        )
    return Safety.WARNING, f"{type(action).__name__}: read it by hand"


def _add_column(col: exp.ColumnDef) -> tuple[Safety, str]:
    kinds = [type(c.args.get("kind")) for c in col.args.get("constraints") or []]
    not_null = exp.NotNullColumnConstraint in kinds
    default = exp.DefaultColumnConstraint in kinds
    if exp.PrimaryKeyColumnConstraint in kinds:
        return Safety.WARNING, "adds a primary key column: rewrites the table under a lock"
    if not_null and not default:
        return (
            Safety.DESTRUCTIVE,
            "adds a NOT NULL column without a default: the running code's inserts fail",
        )
    if default:
        return Safety.SAFE, "adds a column with a default"
    return Safety.SAFE, "adds a nullable column"


_WIDE = {exp.DataType.Type.TEXT, exp.DataType.Type.BIGINT}


def _alter_column(action: exp.AlterColumn) -> tuple[Safety, str]:
    if action.args.get("allow_null") is False:
        return Safety.DESTRUCTIVE, "SET NOT NULL: the running code may still write NULL"
    if action.args.get("allow_null") is True:
        return Safety.SAFE, "drops NOT NULL (more values are accepted)"
    dtype = action.args.get("dtype")
    if isinstance(dtype, exp.DataType):
        if dtype.this in _WIDE or (
            dtype.this in (exp.DataType.Type.VARCHAR,) and not dtype.expressions
        ):
            return Safety.WARNING, "widens a column's type (may rewrite the table under a lock)"
        return (
            Safety.DESTRUCTIVE,
            f"changes a column's type to {dtype.sql()}: values the running code writes may "
            "no longer fit, and the table is rewritten under a lock",
        )
    if action.args.get("default") is not None or action.args.get("drop"):
        return Safety.SAFE, "changes a column's default"
    return Safety.WARNING, "alters a column: read it by hand"
