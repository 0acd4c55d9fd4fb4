"""``golive init --template runbook``: a complete, commented starter plan in the seeds' shape."""

from __future__ import annotations

import argparse
from importlib import resources

from golive.cli.terminal import Terminal
from golive.errors import StateError

TEMPLATES = ("runbook",)
console = Terminal()


def template_text(name: str) -> str:
    return resources.files("golive").joinpath("templates", f"{name}.yaml").read_text()


async def cmd_init(args: argparse.Namespace) -> int:
    text = template_text(args.template)
    if str(args.output) == "-":
        print(text, end="")
        return 0
    if args.output.exists() and not args.force:
        raise StateError(f"{args.output} exists; choose another --output or add --force")
    args.output.write_text(text)
    console.print(
        f"wrote {args.output} ({args.template}): edit the revisions, checks and roles, then "
        f"'golive plan check {args.output}' and 'golive check {args.output}'"
    )
    return 0
