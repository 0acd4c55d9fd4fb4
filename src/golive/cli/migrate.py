"""``golive migrate lint DIR`` (each statement's classification; exit 6 when one is destructive)
and ``golive migrate rollback ID --restore|--down|--keep`` (what a rollout paused for its
database does with it: recorded as the person's decision, then driven)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Literal

from rich.text import Text

from golive.cli import control
from golive.cli.session import rollout_store
from golive.cli.terminal import Terminal, literal, visible
from golive.core.state import PauseKind, Phase
from golive.errors import StateError
from golive.migrate.files import MigrationFileError, discover
from golive.migrate.lint import Safety, lint

EXIT_DESTRUCTIVE = 6
console = Terminal()
_STYLE = {Safety.SAFE: "green", Safety.WARNING: "yellow", Safety.DESTRUCTIVE: "red"}


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    mig = sub.add_parser("migrate", help="database migrations: lint, rollback")
    verbs = mig.add_subparsers(dest="migrate_verb", required=True, metavar="lint|rollback")
    check = verbs.add_parser(
        "lint", help="classify each statement: safe, warning, destructive (exit 6)"
    )
    check.add_argument("dir", type=Path, help="a directory of NNNN_name.up.sql/.down.sql")
    check.add_argument("--engine", choices=("postgres", "sqlite"), default="postgres")
    back = verbs.add_parser(
        "rollback", help="decide what a rollout paused for its database does with it"
    )
    back.add_argument("id", help="the rollout id (or its first characters)")
    how = back.add_mutually_exclusive_group(required=True)
    how.add_argument("--restore", action="store_true", help="restore the backup taken before")
    how.add_argument("--down", action="store_true", help="run the down migrations")
    how.add_argument(
        "--keep", action="store_true", help="leave the schema as the migration left it"
    )
    back.add_argument("--reason", default="", help="why: recorded in the journal with your name")
    back.add_argument("--json", action="store_true", help="JSON lines while it drives the rollout")


async def cmd_migrate(args: argparse.Namespace) -> int:
    if args.migrate_verb == "lint":
        return lint_dir(args.dir, args.engine)
    record = await rollout_store(args.state_dir, args.id).load(args.id)
    st = record.state
    if st.phase is not Phase.PAUSED or st.pause_kind is not PauseKind.MIGRATION:
        raise StateError(
            f"rollout {record.id} is not waiting for a decision about its database (it is "
            f"{st.phase.value.replace('_', ' ')}); 'golive rollback {record.id}' rolls it back, "
            "and its database by the plan's rules"
        )
    mode = "restore" if args.restore else "down" if args.down else "keep"
    args.reason = f"database: {mode}" + (f" ({args.reason})" if args.reason else "")
    return await control.cmd_resume(args)


def lint_dir(directory: Path, engine: str) -> int:
    try:
        migrations = discover(directory)
    except MigrationFileError as exc:
        console.print(literal(str(exc), "red"))
        return 2
    destructive = False
    dialect: Literal["postgres", "sqlite"] = "sqlite" if engine == "sqlite" else "postgres"
    for mig in migrations:
        for down, path in ((False, mig.up), (True, mig.down)):
            if path is None:
                continue
            for f in lint(mig, dialect, down=down):
                where = f"{path.name}:{f.statement.line}:{f.statement.column}"
                first = f.statement.text.splitlines()[0][:80]
                console.print(
                    Text.assemble(
                        f"{visible(where)}: ",
                        (f.safety.value, _STYLE[f.safety]),
                        f": {f.reason}\n    {visible(first)}",
                    )
                )
                destructive = destructive or (f.safety is Safety.DESTRUCTIVE and not down)
    if not migrations:
        console.print(f"no migrations in {directory}")
    return EXIT_DESTRUCTIVE if destructive else 0
