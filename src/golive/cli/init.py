"""``golive init --template runbook``: a complete, commented starter plan in the seeds' shape."""

from __future__ import annotations

import argparse
from importlib import resources
from pathlib import Path

from golive.cli.terminal import Terminal
from golive.errors import StateError

TEMPLATES = ("runbook",)
console = Terminal()


def template_text(name: str) -> str:
    return resources.files("golive").joinpath("templates", f"{name}.yaml").read_text()


STARTER = {
    "0001_add_email.up.sql": "-- expand: a nullable column; the running stable ignores it\n"
    "ALTER TABLE users ADD COLUMN email text;\n",
    "0001_add_email.down.sql": "ALTER TABLE users DROP COLUMN email;\n",
}


def _migrations(directory: Path) -> None:
    """The runbook's migrate step reads ``migrations/``: a first pair, when there is none."""
    if directory.exists():
        return
    directory.mkdir()
    for name, sql in STARTER.items():
        (directory / name).write_text(sql)


async def cmd_init(args: argparse.Namespace) -> int:
    text = template_text(args.template)
    if str(args.output) == "-":
        print(text, end="")
        return 0
    if args.output.exists() and not args.force:
        raise StateError(f"{args.output} exists; choose another --output or add --force")
    args.output.write_text(text)
    _migrations(args.output.parent / "migrations")
    console.print(
        f"wrote {args.output} ({args.template}): edit the revisions, checks and roles, then "
        f"'golive plan check {args.output}' and 'golive check {args.output}'"
    )
    return 0
