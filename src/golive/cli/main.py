"""``golive``: the entry point. Parses arguments, runs one verb, maps errors to exit codes.

Exit codes: 0 promoted (or the verb succeeded, or pre-flight is GO), 3 rolled back or aborted,
4 pre-flight NO-GO, 5 the record is tampered (it fails its audit: edited, forged or cut outside
golive, which then refuses to drive it), 2 invalid plan or input, 1 any other failure,
130 interrupted. A traceback is never the interface.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import json
import os
import stat
import sys
import traceback
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from rich.text import Text

from golive import __version__
from golive.cli import audit, control, migrate, outlet, readiness, report, session, signoff, status
from golive.cli.init import TEMPLATES, cmd_init
from golive.cli.load import cmd_load, connections, duration_arg, load_duration, rps
from golive.cli.session import EXIT_FAILED, EXIT_INVALID, EXIT_TAMPERED
from golive.cli.terminal import Terminal, visible
from golive.errors import GoliveError, PlanError, TamperedError
from golive.files import private_dir
from golive.plan.kinds import local_routers

EXIT_HELP = (
    "exit codes: 0 promoted (pre-flight GO), 1 failed, 2 invalid plan or input, 3 rolled back "
    "or aborted, 4 pre-flight NO-GO, 5 the record is tampered, 130 interrupted"
)
PERMISSIONS_HELP = "who may: the plan's permissions (docs/approvals.md); exit codes as for run"
AS_HELP = "the role you sign as: the gate must ask for it and you must hold it"
STATE_HELP = (
    "where rollouts, proxies and process files live (default: $GOLIVE_HOME, else ./.golive, "
    "relative to the current directory)"
)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="golive", description="Go-live as code: run a release plan.")
    p.add_argument("--version", action="version", version=f"golive {__version__}")
    p.add_argument(
        "--state-dir",
        type=Path,
        default=Path(os.environ.get("GOLIVE_HOME", ".golive")),
        help=STATE_HELP,
    )
    sub = p.add_subparsers(dest="verb", required=True, metavar="VERB")

    run = sub.add_parser(
        "run", help="run a plan (or continue its active rollout)", epilog=EXIT_HELP
    )
    run.add_argument("plan", type=Path, help="the plan file (YAML)")
    run.add_argument("--json", action="store_true", help="JSON lines instead of a live view")

    demo = sub.add_parser("demo", help="a real canary through a real proxy with the sample app")
    demo.add_argument("--bad", action="store_true", help="the canary misbehaves: watch a rollback")
    demo.add_argument(
        "--router",
        choices=local_routers(),
        default=local_routers()[0],
        help=f"the proxy (default {local_routers()[0]})",
    )
    demo.add_argument("--json", action="store_true", help="JSON lines instead of a live view")
    demo.add_argument(
        "--keep", action="store_true", help="leave the proxy and the apps running ('golive down')"
    )
    demo.add_argument(
        "--clean", action="store_true", help="forget earlier demo rollouts (kept by default)"
    )
    demo.add_argument(
        "--serve", action="store_true",
        help="serve the dashboard beside the demo (127.0.0.1) and print its URL and a login "
        "token; the rollout then waits at a sign-off gate",
    )  # fmt: skip

    load = sub.add_parser("load", help="steady, bounded traffic for a quiet service")
    load.add_argument("url", help="http://HOST:PORT/PATH (your route's listen address)")
    load.add_argument("--rps", type=rps, default=20.0, help="requests per second (default 20)")
    load.add_argument(
        "--duration", type=load_duration, default=60.0, help="90s, 10m (default 1m, at most 1h)"
    )
    load.add_argument(
        "--concurrency", type=connections, default=4, help="connections (default 4, at most 64)"
    )
    load.add_argument("--header", action="append", default=[], help="NAME: VALUE (repeatable)")
    load.add_argument("--json", action="store_true", help="the summary as one JSON document")

    show = sub.add_parser("status", help="list rollouts, or show one")
    show.add_argument("id", nargs="?", help="a rollout id (or its first characters)")
    show.add_argument("--json", action="store_true", help="one JSON document")
    show.add_argument(
        "--watch", action="store_true", help="follow the rollout's journal live (read-only)"
    )
    show.add_argument("--all", action="store_true", help="every journal entry, not the last 15")

    for verb, text in (
        ("resume", "continue a paused or interrupted rollout"),
        ("pause", "hold the rollout at its current weights"),
        ("promote", "skip the remaining steps and promote the canary"),
        ("abort", "roll back and mark the rollout aborted"),
        ("rollback", "roll back now"),
        ("skip", "complete the current analysis or pause step without it (--reason needed)"),
    ):
        v = sub.add_parser(verb, help=text, description=text, epilog=PERMISSIONS_HELP)
        v.add_argument("id", help="the rollout id (or its first characters)")
        v.add_argument("--reason", default="", help="why: recorded in the journal with your name")
        v.add_argument("--json", action="store_true", help="JSON lines while it drives the rollout")

    check = sub.add_parser(
        "check", help="run the plan's pre-flight alone: the scorecard", epilog=EXIT_HELP
    )
    check.add_argument("plan", type=Path, help="the plan file (YAML)")
    check.add_argument("--json", action="store_true", help="the scorecard as one JSON document")

    confirm = sub.add_parser("confirm", help="confirm a checklist item of a rollout")
    confirm.add_argument("id", help="the rollout id (or its first characters)")
    confirm.add_argument("item", help="the checklist item's id, as the plan names it")
    confirm.add_argument("--as", dest="role", required=True, metavar="ROLE", help=AS_HELP)
    confirm.add_argument("--note", default="", help="recorded with the confirmation")

    approve = sub.add_parser("approve", help="sign off the approval a rollout waits for")
    approve.add_argument("id", help="the rollout id (or its first characters)")
    approve.add_argument("--as", dest="role", required=True, metavar="ROLE", help=AS_HELP)
    approve.add_argument("--note", default="", help="recorded with the sign-off")
    approve.add_argument("--revision", help="refuse unless the rollout releases this version")

    reject = sub.add_parser("reject", help="reject the approval a rollout waits for (aborts it)")
    reject.add_argument("id", help="the rollout id (or its first characters)")
    reject.add_argument("--as", dest="role", required=True, metavar="ROLE", help=AS_HELP)
    reject.add_argument("--reason", dest="note", required=True, help="why: recorded and shown")
    reject.add_argument("--revision", help="refuse unless the rollout releases this version")

    token = sub.add_parser("token", help="API tokens: init, add, list, revoke")
    token_sub = token.add_subparsers(dest="action", required=True, metavar="init|add|list|revoke")
    first = token_sub.add_parser("init", help="the first admin token (once), printed once")
    first.add_argument("user", help="the admin's name")
    add = token_sub.add_parser("add", help="a new token, printed once (needs an admin token)")
    add.add_argument("user", help="who the token identifies")
    add.add_argument("--role", action="append", default=[], help="a role it holds (repeatable)")
    add.add_argument("--admin", action="store_true", help="may mint and revoke tokens")
    add.add_argument("--expires", type=_duration, help="e.g. 12h, 30d (default: never)")
    token_sub.add_parser("list", help="tokens: id, user, roles, expiry (needs an admin token)")
    revoke = token_sub.add_parser("revoke", help="revoke a token by its id (needs an admin token)")
    revoke.add_argument("token_id", metavar="ID")

    audit_ = sub.add_parser("audit", help="verify that the record was not edited outside golive")
    audit_sub = audit_.add_subparsers(dest="audit_verb", required=True, metavar="verify|export")
    verify = audit_sub.add_parser("verify", help="exit 0 intact, 5 tampered (names the entry)")
    verify.add_argument("id", nargs="?", help="one rollout (default: all of them)")
    verify.add_argument("--json", action="store_true", help="one JSON document")
    verify.add_argument(
        "--file", type=Path, help="check an export (golive audit export) instead; no key needed"
    )
    verify.add_argument(
        "--head", help="with --file: the head (sha256:...) the export must end at (a report's)"
    )
    export = audit_sub.add_parser("export", help="the rollout's journal as JSON Lines")
    export.add_argument("id", help="the rollout id (or its first characters)")
    export.add_argument("--output", type=Path, help="a file (default: standard output)")

    report = sub.add_parser("report", help="the deployment report of a rollout (md, html, json)")
    report.add_argument("id", help="the rollout id (or its first characters)")
    report.add_argument("--format", choices=("md", "html", "json"), default="md")
    report.add_argument("--output", type=Path, help="a file (default: standard output)")

    init = sub.add_parser("init", help="write a starter plan")
    init.add_argument("--template", choices=TEMPLATES, default="runbook")
    init.add_argument("--output", type=Path, default=Path("plan.yaml"), help="'-' for stdout")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")

    down = sub.add_parser(
        "down", help="stop everything golive started (production included), saying what"
    )
    down.add_argument("service", nargs="?", help="only this service's processes")

    serve = sub.add_parser("serve", help="the controller and the REST API in one process")
    serve.add_argument("--listen", default="127.0.0.1:8470", help="HOST:PORT (docs/server.md)")
    serve.add_argument(
        "--allow-host", action="append", default=[], metavar="NAME",
        help="a name browsers reach the server by (the Host header); repeatable",
    )  # fmt: skip
    serve.add_argument("--tls-cert", metavar="FILE", help="serve HTTPS with this certificate")
    serve.add_argument("--tls-key", metavar="FILE", help="the certificate's private key")
    serve.add_argument(
        "--webhook-secret", metavar="REF", default=None,
        help="env:NAME or file:/path holding whsec_...: sign-offs by signed webhook "
        "(docs/notifications.md)",
    )  # fmt: skip

    migrate.add_parser(sub)
    plan = sub.add_parser("plan", help="check a plan, or print its JSON Schema")
    plan_sub = plan.add_subparsers(dest="plan_verb", required=True, metavar="check|schema")
    check = plan_sub.add_parser("check", help="validate a plan without running it")
    check.add_argument("file", type=Path, help="the plan file (YAML)")
    check.add_argument("--json", action="store_true", help="the result as one JSON document")
    plan_sub.add_parser("schema", help="the plan's JSON Schema, for editors")
    for parser in _all(sub):  # --state-dir before or after the verb
        parser.add_argument("--state-dir", type=Path, default=argparse.SUPPRESS, help=STATE_HELP)
    return p


def _all(sub: argparse._SubParsersAction) -> list[argparse.ArgumentParser]:  # type: ignore[type-arg]
    found = []
    for parser in sub.choices.values():
        found.append(parser)
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                found += _all(action)
    return found


_duration = duration_arg(10 * 365 * 86400, "10 years")


VERBS: dict[str, Callable[[argparse.Namespace], Coroutine[Any, Any, int]]] = {
    "check": readiness.cmd_check,
    "confirm": readiness.cmd_confirm,
    "approve": signoff.cmd_approve,
    "reject": signoff.cmd_reject,
    "token": signoff.cmd_token,
    "audit": audit.cmd_audit,
    "init": cmd_init,
    "load": cmd_load,
    "status": status.cmd_status,
    "report": report.cmd_report,
    "migrate": migrate.cmd_migrate,
}


def _dispatch(args: argparse.Namespace) -> Coroutine[Any, Any, int]:
    if args.verb == "plan":
        return control.plan_command(args)
    if args.verb in VERBS:
        return VERBS[args.verb](args)
    if args.verb == "serve":
        from golive.cli.serve import cmd_serve

        return cmd_serve(args)
    if args.verb == "demo":
        from golive.cli.demo import demo  # the demo's imports only when it is asked for

        return demo(args)
    return getattr(control, f"cmd_{args.verb}")(args)  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> None:
    outlet.install()
    args = _parser().parse_args(argv)
    err = Terminal(stderr=True)
    try:
        code = asyncio.run(_dispatch(args))
    except PlanError as exc:
        if getattr(args, "json", False):
            print(json.dumps({"valid": False, "errors": [vars_of(i) for i in exc.issues]}))
        else:
            n = len(exc.issues)
            err.print(Text.assemble(("invalid plan", "red"), f" ({n} problem{'s' * (n != 1)}):"))
            for issue in exc.issues:
                err.print(f"  {issue}")
        code = EXIT_INVALID
    except TamperedError as exc:
        err.print(Text.assemble(("error:", "bold red"), visible(f" {exc}")))
        code = EXIT_TAMPERED
    except GoliveError as exc:
        err.print(Text.assemble(("error:", "red"), visible(f" {exc}")))
        code = EXIT_FAILED
    except KeyboardInterrupt:
        again = session.driving or "ID"
        err.print(
            "interrupted: the rollout keeps its state and traffic stays where it is; "
            f"continue with 'golive resume {again}' or roll back with 'golive rollback {again}'"
        )
        code = 130
    except Exception as exc:  # a bug must not print a traceback at the user
        crash = Path(getattr(args, "state_dir", ".golive")) / "crash.log"
        details = write_crash_log(crash, traceback.format_exc())
        rid = session.driving
        where = (
            f"rollout {rid}'s record holds what was committed before it and traffic stays "
            f"where it was ('golive status {rid}')"
            if rid
            else "nothing more was done after it"
        )
        err.print(
            Text.assemble(
                ("internal error:", "red"),
                visible(f" {type(exc).__name__}: {exc}. {where}; {details}"),
            )
        )
        code = EXIT_FAILED
    sys.exit(code)


def write_crash_log(path: Path, text: str) -> str:
    """Write ``text`` to ``path`` for the user alone (0600), never through a symlink: one
    planted there would have golive overwrite its target. Says where the details are, or why
    they are not there."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        private_dir(path.parent)
        fd = os.open(path, flags, 0o600)
    except GoliveError as exc:
        return f"the details could not be written to {path} ({exc})"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return f"{path} is a symbolic link, so the details were not written"
        return f"the details could not be written to {path} ({exc.strerror})"
    with os.fdopen(fd, "w") as out:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return f"{path} is not a regular file, so the details were not written"
        os.fchmod(fd, 0o600)
        out.write(text)
    return f"details in {path}"


def vars_of(issue: object) -> dict[str, object]:
    return {k: getattr(issue, k) for k in ("file", "line", "column", "field", "message")}
