"""``golive audit verify [ID]``: does the record still prove itself?

Exit 0 when every record verifies (or predates sealing: unsealed), 5 when one is tampered,
naming the first bad entry. The same audit runs before ``status``, ``resume``, ``run`` (when it
continues a rollout), ``approve`` and ``confirm``; this verb runs it on demand, for one rollout
or all of them, e.g. from a cron job that keeps the heads it prints.
"""

from __future__ import annotations

import argparse
import json

from rich.text import Text

from golive.cli.session import EXIT_TAMPERED, open_store
from golive.cli.terminal import Terminal
from golive.errors import StateError, TamperedError
from golive.operations.status import audit_json
from golive.store.audit import Audit, Verdict
from golive.store.sqlite import SQLiteStore

console = Terminal()
STYLE = {Verdict.INTACT: "green", Verdict.UNSEALED: "yellow", Verdict.TAMPERED: "bold red"}


async def cmd_audit(args: argparse.Namespace) -> int:
    if not (args.state_dir / "golive.db").exists():  # a read-only verb creates nothing
        raise StateError(f"no rollouts to verify yet: {args.state_dir} holds no record")
    store = open_store(args.state_dir)
    if args.id is None:
        audits = await store.audit_all()
    elif args.id in store.heads.ids():  # exact id: also a rollout whose row is gone
        audits = [await store.audit(args.id)]
    else:
        audits = [await store.audit((await store.load(args.id)).id)]
    tampered = [a for a in audits if a.verdict is Verdict.TAMPERED]
    tokens = await _token_log(store) if args.id is None else None
    if args.json:
        print(json.dumps([{"rollout": a.rollout_id, **audit_json(a)} for a in audits]))
        return EXIT_TAMPERED if tampered or tokens else 0
    if tokens:
        console.print(Text("token log: ").append("TAMPERED", "bold red").append(f" - {tokens}"))
    if not audits:
        if tokens:
            return EXIT_TAMPERED
        raise StateError("no rollouts to verify yet")
    for a in audits:
        console.print(line(a))
    counts = {v: sum(a.verdict is v for a in audits) for v in Verdict}
    told = ", ".join(f"{n} {v.value}" for v, n in counts.items() if n)
    key = f" with the key {store.seal.path}" if store.seal.path else ""
    console.print(f"{len(audits)} rollout{'s' if len(audits) != 1 else ''} verified{key}: {told}")
    return EXIT_TAMPERED if tampered or tokens else 0


async def _token_log(store: SQLiteStore) -> str | None:
    """Why the token log and the tokens do not verify; None when they do."""
    try:
        await store.tokens()
    except TamperedError as exc:
        return str(exc)
    return None


def line(a: Audit) -> Text:
    shown = Text(f"rollout {a.rollout_id}: ")
    if a.verdict is Verdict.TAMPERED:
        return shown.append("TAMPERED", STYLE[a.verdict]).append(f" - {a.problem}")
    return shown.append(a.describe(), STYLE[a.verdict])
