"""Expand/contract lint, case by case from strong_migrations' list of dangerous operations and
squawk's rules; and the splitter that finds each statement's line and column."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from golive.migrate.files import Statement, split
from golive.migrate.lint import Dialect, Safety, classify

SAFE, WARN, BAD = Safety.SAFE, Safety.WARNING, Safety.DESTRUCTIVE

CASES: list[tuple[str, Dialect, Safety, str]] = [
    # strong_migrations: removing a column / table, renaming them
    ("ALTER TABLE users DROP COLUMN name", "postgres", BAD, "drops a column"),
    ("DROP TABLE users", "postgres", BAD, "drops a table"),
    ("DROP TABLE IF EXISTS users CASCADE", "postgres", BAD, "drops a table"),
    ("ALTER TABLE users RENAME COLUMN name TO full_name", "postgres", BAD, "renames a column"),
    ("ALTER TABLE users RENAME TO people", "postgres", BAD, "renames a table"),
    ("ALTER TABLE users RENAME COLUMN name TO n", "sqlite", BAD, "renames a column"),
    # strong_migrations: changing a column's type; squawk: changing-column-type
    ("ALTER TABLE users ALTER COLUMN name TYPE varchar(10)", "postgres", BAD, "type"),
    ("ALTER TABLE users ALTER COLUMN age TYPE smallint", "postgres", BAD, "type"),
    ("ALTER TABLE users ALTER COLUMN name TYPE text", "postgres", WARN, "widens"),
    ("ALTER TABLE users ALTER COLUMN id TYPE bigint", "postgres", WARN, "widens"),
    # strong_migrations: setting NOT NULL; squawk: adding-not-nullable-field
    ("ALTER TABLE users ALTER COLUMN name SET NOT NULL", "postgres", BAD, "SET NOT NULL"),
    ("ALTER TABLE users ADD COLUMN age int NOT NULL", "postgres", BAD, "without a default"),
    ("ALTER TABLE users ADD COLUMN age int NOT NULL DEFAULT 0", "postgres", SAFE, "default"),
    ("ALTER TABLE users ADD COLUMN age int", "postgres", SAFE, "nullable"),
    ("ALTER TABLE users ADD COLUMN age INTEGER", "sqlite", SAFE, "nullable"),
    ("ALTER TABLE users ALTER COLUMN name DROP NOT NULL", "postgres", SAFE, "drops NOT NULL"),
    ("ALTER TABLE users ALTER COLUMN name SET DEFAULT 'x'", "postgres", SAFE, "default"),
    # strong_migrations: adding an index non-concurrently; squawk: require-concurrent-index-*
    ("CREATE INDEX users_name ON users (name)", "postgres", WARN, "CONCURRENTLY"),
    ("CREATE UNIQUE INDEX users_name ON users (name)", "postgres", WARN, "CONCURRENTLY"),
    ("CREATE INDEX CONCURRENTLY users_name ON users (name)", "postgres", SAFE, "adds an index"),
    ("CREATE INDEX users_name ON users (name)", "sqlite", SAFE, "adds an index"),
    ("DROP INDEX users_name", "postgres", WARN, "CONCURRENTLY"),
    ("DROP INDEX CONCURRENTLY users_name", "postgres", SAFE, "drops an index"),
    # strong_migrations: adding a foreign key / check constraint; squawk: adding-foreign-key
    (
        "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id)",
        "postgres",
        WARN,
        "NOT VALID",
    ),
    (
        "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id) "
        "NOT VALID",
        "postgres",
        SAFE,
        "NOT VALID",
    ),
    ("ALTER TABLE orders VALIDATE CONSTRAINT fk", "postgres", SAFE, "validates"),
    ("ALTER TABLE users ADD CONSTRAINT c CHECK (age > 0)", "postgres", WARN, "NOT VALID"),
    # squawk: adding-serial-primary-key-field
    ("ALTER TABLE users ADD COLUMN id2 serial PRIMARY KEY", "postgres", WARN, "primary key"),
    # data changes
    ("TRUNCATE users", "postgres", BAD, "truncates"),
    ("DELETE FROM users", "postgres", BAD, "deletes every row"),
    ("DELETE FROM users WHERE id = 1", "postgres", SAFE, "rows"),
    ("UPDATE users SET name = 'x'", "postgres", WARN, "batches"),
    ("INSERT INTO users (name) VALUES ('a')", "sqlite", SAFE, "rows"),
    ("SELECT pg_sleep(5)", "postgres", SAFE, "rows"),
    # additions
    ("CREATE TABLE audit (id bigserial PRIMARY KEY, at timestamptz)", "postgres", SAFE, "table"),
    ("CREATE EXTENSION IF NOT EXISTS pgcrypto", "postgres", SAFE, "does not change"),
    ("CREATE VIEW v AS SELECT 1", "postgres", SAFE, "adds a view"),
    ("DROP VIEW v", "postgres", BAD, "drops a view"),
    ("REVOKE SELECT ON users FROM app", "postgres", BAD, "revokes"),
    # what is not understood is read by hand, never called safe
    ("FROBNICATE THE DATABASE", "postgres", WARN, "read it by hand"),
]


@pytest.mark.parametrize(("sql", "dialect", "safety", "why"), CASES)
def test_classification(sql: str, dialect: Dialect, safety: Safety, why: str) -> None:
    found = classify(Statement(sql, 1, 1), dialect)
    assert found.safety is safety, found.reason
    assert why in found.reason


def test_split_knows_quotes_comments_and_dollar_bodies() -> None:
    sql = (
        "-- a comment; not a statement\n"
        "CREATE TABLE t (a text DEFAULT 'x;y''z');\n"
        "/* block; /* nested; */ still */ CREATE FUNCTION f() RETURNS int AS $body$\n"
        "  SELECT 1; $body$ LANGUAGE sql;\n"
        '  INSERT INTO "we;ird" VALUES ($$;$$)'
    )
    found = split(sql)
    assert [(s.line, s.column) for s in found] == [(2, 1), (3, 34), (5, 3)]
    assert found[1].text.endswith("LANGUAGE sql")
    assert found[2].text == 'INSERT INTO "we;ird" VALUES ($$;$$)'


def test_split_of_hostile_input_ends() -> None:
    assert split("'" + "a" * 1_000_000) != []
    assert split("/*" * 10_000) == []
    assert split(";;;  ;\n;") == []
    assert len(split("SELECT 1;" * 5000)) == 5000


def test_hostile_statements_are_classified_not_crashed_on() -> None:
    deep = classify(Statement("SELECT " + "(" * 5000 + "1" + ")" * 5000, 1, 1), "postgres")
    assert deep.safety is WARN
    wide = classify(Statement("INSERT INTO t VALUES ('" + "x" * 1_000_000 + "')", 1, 1), "sqlite")
    assert wide.safety is SAFE
    odd = classify(Statement('ALTER TABLE "a;b" DROP COLUMN "<script>"', 1, 1), "postgres")
    assert odd.safety is BAD


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.text(alphabet="abc ;'$\n-/*()\"", min_size=0, max_size=40).map(
            lambda t: "SELECT '" + t.replace("'", "''") + "'"
        ),
        min_size=1,
        max_size=8,
    )
)
def test_split_gives_back_statements_joined_with_semicolons(stmts: list[str]) -> None:
    assert [s.text for s in split(";\n".join(stmts))] == stmts


def test_lint_output_shows_escapes_in_file_names_and_sql_literally(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A migration file whose SQL (or whose name) carries an ESC sequence must not drive the
    terminal when `golive migrate lint` prints it."""
    from golive.cli.migrate import lint_dir

    (tmp_path / "0001_x.up.sql").write_text("SELECT '\x1b[2J';\n")
    assert lint_dir(tmp_path, "postgres") == 0
    (tmp_path / "0002_y\x1b[2J.sql").write_text("SELECT 1;\n")
    assert lint_dir(tmp_path, "postgres") == 2
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\\x1b[2J" in out
