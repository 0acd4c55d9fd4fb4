"""``golive report ID``: the deployment report as Markdown, HTML or JSON (docs/reports.md).

The controller writes all three to ``<state-dir>/reports/`` when a rollout ends; this verb
builds one again from the record, for any rollout (one still running too), to standard output
or a file. A record that fails its audit is not reported (exit 5): a report vouches for it.
"""

from __future__ import annotations

import argparse
import sys

from golive.atomic import write_atomically
from golive.cli.session import rollout_store
from golive.cli.terminal import Terminal
from golive.errors import StateError, TamperedError
from golive.report.gather import Format, gather, render
from golive.store.audit import Verdict

console = Terminal()


async def cmd_report(args: argparse.Namespace) -> int:
    store = rollout_store(args.state_dir, args.id)
    record = await store.load(args.id)
    audit = await store.audit(record.id)
    if audit.verdict is Verdict.TAMPERED:
        raise TamperedError(f"rollout {record.id}: {audit.problem}; no report of it")
    fmt: Format = args.format
    text = render(await gather(store, record.id), fmt)
    if args.output is None or str(args.output) == "-":
        sys.stdout.write(text)
        return 0
    try:
        write_atomically(args.output, text)
    except OSError as exc:
        raise StateError(f"cannot write {args.output}: {exc.strerror or exc}") from exc
    console.print(f"report of {record.id} ({fmt}) written to {args.output}")
    return 0
