"""``golive load URL --rps N --duration D``: steady traffic for a quiet service.

A canary is judged on live traffic: a service that gets a few requests a minute leaves the
judge "not yet known" until the analysis times out. This verb is the demo's load generator:
bounded in rate, count and time, plain HTTP GETs on keep-alive connections, a summary per
version answered (the ``x-version`` header, or the JSON body's ``version``) at the end.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable

from golive.cli.terminal import Terminal
from golive.demo.load import LoadGenerator
from golive.errors import StateError
from golive.units import parse_duration

console = Terminal()
MAX_RPS, MAX_SECONDS = 5_000.0, 3_600.0


def rps(text: str) -> float:
    """``--rps``: a usage error (exit 2, as every other bad argument) outside its bounds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value <= MAX_RPS:  # nan and inf fail this too
        raise argparse.ArgumentTypeError(f"between 0 and {MAX_RPS:g} requests/s, got {text}")
    return value


def duration_arg(most: float, said: str) -> Callable[[str], float]:
    """An argparse type: a duration of at most ``most`` seconds (``said`` in words), a usage
    error otherwise."""

    def parse(text: str) -> float:
        try:
            seconds = parse_duration(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        if not 0 < seconds <= most:
            raise argparse.ArgumentTypeError(f"{text}: between 1s and {said}")
        return seconds

    return parse


# ``--duration``: one limit, said once (the plan's 30 days are not the load's)
load_duration = duration_arg(MAX_SECONDS, "1h")


def connections(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= 64:
        raise argparse.ArgumentTypeError(f"between 1 and 64 connections, got {text}")
    return value


async def cmd_load(args: argparse.Namespace) -> int:
    headers = dict(_header(h) for h in args.header)
    try:
        gen = LoadGenerator(
            args.url, args.rps, int(args.rps * args.duration) + 1, args.duration,
            concurrency=args.concurrency, headers=headers, loopback_only=False,
        )  # fmt: skip
    except ValueError as exc:
        raise StateError(str(exc)) from None
    if not args.json:
        console.print(f"sending {args.rps:g} requests/s to {args.url} for {args.duration:g}s")
    stats = await gen.run()
    summary = {
        "sent": stats.sent, "ok": stats.ok, "answered_5xx": stats.failed,
        "connection_errors": stats.errors, "by_version": stats.by_version,
    }  # fmt: skip
    if args.json:
        print(json.dumps(summary))
    else:
        versions = ", ".join(f"{v}: {n}" for v, n in sorted(stats.by_version.items())) or "none"
        console.print(
            f"{stats.sent} requests ({versions}); {stats.failed} answered 5xx, "
            f"{stats.errors} connection errors"
        )
    return 0 if stats.sent and not stats.errors else 1


def _header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise StateError(f"--header is NAME: VALUE, got {text!r}")
    return name.strip(), value.strip()
