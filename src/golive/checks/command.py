"""Command checks: run an argv (never a shell), its exit status and bounded output.

Output beyond ``max_output`` bytes is read and dropped, so a chatty command cannot fill memory;
the command runs in its own process group, killed whole if the check's timeout ends it. It
sees only the check's ``env`` and golive's minimal environment (:mod:`golive.childenv`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal

from golive.checks.base import Probe
from golive.childenv import child_environment
from golive.plan.checks import Command

CHUNK = 65_536


async def run_bounded(
    argv: tuple[str, ...],
    cwd: str | None = None,
    limit: int = 65_536,
    env: dict[str, str] | None = None,
) -> tuple[int, str]:
    """(exit status, the first ``limit`` bytes of stdout+stderr as text); ``env`` None is
    golive's own environment (git, detect-secrets), a plan's command gets a clean one."""
    proc = await asyncio.create_subprocess_exec(
        *argv, cwd=cwd, env=env, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    kept = bytearray()
    try:
        assert proc.stdout is not None
        while chunk := await proc.stdout.read(CHUNK):
            kept += chunk[: max(0, limit - len(kept))]
        status = await proc.wait()
    finally:
        if proc.returncode is None:  # cancelled (the check's timeout): its whole group goes
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
    return status, kept.decode(errors="replace")


async def probe(o: Command) -> Probe:
    env = child_environment(o.env.items())  # a reference that cannot be read fails the check
    try:
        status, output = await run_bounded(o.argv, o.cwd, o.max_output, env)
    except FileNotFoundError:
        return Probe.failed("", f"{o.argv[0]}: command not found")
    last = output.strip().splitlines()[-1:] or [""]
    value = f"exit {status}"
    if status != o.exit:
        tail = f": {last[0][:160]}" if last[0] else ""
        return Probe.failed(value, f"{o.argv[0]} exited with {status}, expected {o.exit}{tail}")
    if o.contains is not None and o.contains not in output:
        return Probe.failed(value, f"{o.argv[0]}: the output does not contain {o.contains!r}")
    return Probe.passed(value, f"{' '.join(o.argv)[:120]} exited with {status}")
