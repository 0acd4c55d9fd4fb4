"""``golive audit verify [ID]``: does the record still prove itself? ``golive audit export ID``
writes its journal for a third party, who checks it with ``golive audit verify --file``.

Exit 0 when every record verifies (or predates sealing: unsealed), 5 when one is tampered,
naming the first bad entry. The same audit runs before ``status``, ``resume``, ``run`` (when it
continues a rollout), ``approve`` and ``confirm``; this verb runs it on demand, for one rollout
or all of them, e.g. from a cron job that keeps the heads it prints.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

from rich.text import Text

from golive.atomic import write_atomically
from golive.cli.session import EXIT_TAMPERED, open_store
from golive.cli.terminal import Terminal
from golive.errors import StateError, TamperedError
from golive.operations.status import audit_json
from golive.store.audit import Audit, Verdict
from golive.store.export import ExportCheck, export_text
from golive.store.exportcheck import verify_export
from golive.store.seal import Seal, key_path
from golive.store.sqlite import SQLiteStore

console = Terminal()
HEAD = re.compile(r"(sha256:)?[0-9a-f]{64}")
STYLE = {Verdict.INTACT: "green", Verdict.UNSEALED: "yellow", Verdict.TAMPERED: "bold red"}


async def cmd_audit(args: argparse.Namespace) -> int:
    if args.audit_verb == "export":
        return await cmd_export(args)
    if args.file is not None:
        if args.id is not None:
            raise StateError("give a rollout id or --file, not both")
        return verify_file(args)
    if args.head is not None:
        raise StateError("--head goes with --file (the export it should end at)")
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


async def cmd_export(args: argparse.Namespace) -> int:
    """The rollout's journal as JSON Lines; a record that fails its audit is not exported."""
    if not (args.state_dir / "golive.db").exists():
        raise StateError(f"no rollout {args.id!r}: {args.state_dir} holds no rollouts")
    store = open_store(args.state_dir)
    record = await store.load(args.id)
    audit = await store.audit(record.id)
    if audit.verdict is Verdict.TAMPERED:
        raise TamperedError(f"rollout {record.id}: {audit.problem}; not exported")
    events = await store.events(record.id)
    header: dict[str, object] = {
        "service": record.service, "key_id": store.seal.key_id, "exported_at": time.time(),
        "sealed": audit.verdict is Verdict.INTACT,
    }  # fmt: skip
    text = export_text(header, record.id, events)
    if args.output is None or str(args.output) == "-":
        sys.stdout.write(text)
        return 0
    try:
        write_atomically(args.output, text)
    except OSError as exc:
        raise StateError(f"cannot write {args.output}: {exc.strerror or exc}") from exc
    last = text.rstrip("\n").rsplit("\n", 1)[-1]
    head = json.loads(last)["end"]["head"]
    console.print(f"{len(events)} events of rollout {record.id} written to {args.output}")
    console.print(f"export head: {head}")
    return 0


def verify_file(args: argparse.Namespace) -> int:
    """Exit 0 when the export verifies (and ends at ``--head`` if given), 5 otherwise."""
    path: Path = args.file
    if args.head is not None and not HEAD.fullmatch(args.head):
        raise StateError(
            f"--head {args.head!r} is not a public head: sha256: and 64 hex digits, as a "
            "report or 'golive audit export' prints it"
        )
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise StateError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = ""
        check = ExportCheck("", f"{path} is not UTF-8 text (edited?)")
    else:
        check = verify_export(text, args.head, _key(args))
    if args.json:
        print(json.dumps({"file": str(path), "rollout": check.rollout_id, "ok": check.ok,
                          "problem": check.problem, "key_checked": check.key_checked,
                          "head_checked": check.head_checked, "after_head": check.after_head,
                          "head": check.head.to_json() if check.head else None}))  # fmt: skip
        return 0 if check.ok else EXIT_TAMPERED
    if not check.ok:
        console.print(
            Text(f"{path}: ").append("TAMPERED", "bold red").append(f" - {check.problem}")
        )
        return EXIT_TAMPERED
    assert check.head is not None
    shown = Text(f"{path}: ").append("consistent", "green")
    shown.append(f" (rollout {check.rollout_id}, {check.head.describe()})")
    console.print(shown)
    console.print(_head_words(check))
    console.print("  HMACs checked with the key" if check.key_checked else
                  "  HMACs not checked (the key it names is not at hand)")  # fmt: skip
    return 0


def _head_words(check: ExportCheck) -> str:
    if not check.head_checked:
        return ("  no --head given: a cut or rewritten export cannot be told from a genuine one; "
                "compare the head above with one kept elsewhere (a report)")  # fmt: skip
    if check.after_head == 0:
        return "  ends at the head you gave"
    return (f"  reaches the head you gave; the {check.after_head} entries after it were written "
            "since that head was taken and are not covered by it")  # fmt: skip


def _key(args: argparse.Namespace) -> Seal | None:
    """This state directory's key if it exists already (never created here), else None."""
    if not key_path(args.state_dir).exists():
        return None
    try:
        return Seal.load(args.state_dir)
    except StateError:
        return None
