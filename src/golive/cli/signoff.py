"""``golive approve|reject ID --as ROLE`` and ``golive token init|add|list|revoke``: argument
parsing and printing over :mod:`golive.operations` (where the rules are)."""

from __future__ import annotations

import argparse
import time

from rich.table import Table

from golive.cli.session import open_store, rollout_store
from golive.cli.terminal import Terminal, literal
from golive.identity import whoami
from golive.operations import signoffs, tokens

console = Terminal()


async def _signoff(args: argparse.Namespace, approve: bool) -> int:
    store = rollout_store(args.state_dir, args.id)
    who = await whoami(store)
    done = await signoffs.sign(
        store, args.id, args.role, approve, args.note, args.revision, who, time.time()
    )
    tail = f"; still needed: {', '.join(done.missing)}" if done.missing else ""
    console.print(f"{done.text} (rollout {args.id}, step {done.step + 1}){tail}", markup=False)
    return 0


async def cmd_approve(args: argparse.Namespace) -> int:
    return await _signoff(args, approve=True)


async def cmd_reject(args: argparse.Namespace) -> int:
    return await _signoff(args, approve=False)


async def cmd_token(args: argparse.Namespace) -> int:
    store, now = open_store(args.state_dir), time.time()
    if args.action == "init":
        token = await tokens.bootstrap(store, args.user, now)
        console.print(f"admin token for {args.user}, shown once (keep it like a password):")
        print(token)
        return 0
    who = await whoami(store, now)
    if args.action == "add":
        expires = None if args.expires is None else now + args.expires
        token = await tokens.add(store, who, args.user, tuple(args.role), args.admin, expires, now)
        kind = "admin token" if args.admin else "token"
        console.print(
            f"{kind} for {args.user} ({', '.join(args.role) or 'no role'}), shown once:",
            markup=False,
        )
        print(token)
        return 0
    if args.action == "revoke":
        gone = await tokens.revoke(store, who, args.token_id, now)
        console.print(f"token {gone.id} of {gone.user} revoked", markup=False)
        return 0
    table = Table("id", "user", "roles", "admin", "created", "expires", "state")
    for t in await tokens.listing(store, who):
        state = "revoked" if t.revoked_at else ("valid" if t.valid(now) else "expired")
        table.add_row(
            t.id, literal(t.user), ", ".join(t.roles), "yes" if t.admin else "",
            _when(t.created_at), _when(t.expires_at), state,
        )  # fmt: skip
    console.print(table)
    return 0


def _when(at: float | None) -> str:
    return "" if at is None else time.strftime("%Y-%m-%d %H:%M", time.localtime(at))
