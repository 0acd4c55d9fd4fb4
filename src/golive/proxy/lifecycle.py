"""A proxy's life beside its routing: start (or attach to the one running), stop, close.

:class:`ProxyLifecycle` is the protocol every router golive can run (or attach to) implements
next to :class:`golive.traffic.base.Router`; the engine starts every proxy of a route through it
and ``golive demo`` stops its proxy through it. :class:`ProxyProcess` is the one way golive
runs a proxy process, written once for Envoy, HAProxy and nginx: launched in its own session
(:func:`golive.processes.spawn`), recorded in a pid file so a later run attaches instead of
starting a second one, waited for until it answers, and stopped by that record (SIGTERM, then
SIGKILL). A proxy that does not come up is stopped again and named with the last lines of its
log: a half-started proxy never stays behind.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Protocol

from golive.errors import PermanentError
from golive.files import PROXY_UMASK
from golive.plan.model import Split
from golive.processes import live_pid, record_pid, spawn, stop_recorded


class ProxyLifecycle(Protocol):
    async def attach(self, initial: Split) -> bool:
        """Drive the proxy already there: the one the plan names (checked, never started), or
        golive's own from an earlier run still serving this configuration (by its pid file).
        True when attached; False when there is none to attach to (``start`` starts one)."""
        ...

    async def start(self, initial: Split) -> bool:
        """Attach (as :meth:`attach`), or start a proxy serving ``initial``; True when it was
        started. One call, so the engine's take-over is the same on a first and a later run."""
        ...

    async def stop(self) -> None:
        """Stop the proxy golive started (never one it attached to); idempotent."""
        ...

    def died(self) -> bool:
        """The proxy golive started is gone without golive stopping it (killed, crashed): its
        pid record names no live process. False for one golive attached to, or stopped."""
        ...

    async def aclose(self) -> None:
        """Release clients (admin connections); the proxy keeps running."""
        ...


def log_tail(*paths: Path, lines: int = 3) -> str:
    """The last ``lines`` lines of the logs that exist, for the message of a failed start."""
    found: list[str] = []
    for path in paths:
        if path.exists():
            found += path.read_text(errors="replace").strip().splitlines()[-lines:]
    return " | ".join(found) or "no output"


class ProxyProcess:
    """The process of one proxy golive runs, by its pid file."""

    def __init__(self, name: str, pid_file: Path) -> None:
        self.name = name  # "Envoy", as messages say it
        self.pid_file = pid_file
        self._proc: asyncio.subprocess.Process | None = None

    def pid(self) -> int | None:
        """The live process the pid file names (and only that one), or None."""
        return live_pid(self.pid_file)

    def died(self) -> bool:
        """Recorded but not alive: killed or crashed (a stop golive made forgets the record)."""
        return self.pid_file.exists() and self.pid() is None

    async def launch(
        self,
        argv: Sequence[str],
        *,
        log: Path,
        ready: Callable[[], Awaitable[bool]],
        within: float,
        where: str,
        stdout: Path | None = None,
        tail: Callable[[], str] | None = None,
        record_when_ready: bool = False,
    ) -> None:
        """Start ``argv`` and wait until ``ready()`` says it answers; on failure stop it and
        raise a permanent error naming ``where`` and the tail of its log.

        ``record_when_ready``: the pid file is written once the process answers (nginx writes
        its own pid file too, and golive's record names the master as it started it)."""
        proc = await spawn(argv, log, stdout=stdout, umask=PROXY_UMASK)
        if not record_when_ready:
            record_pid(self.pid_file, proc.pid)
        self._proc = proc
        deadline = asyncio.get_running_loop().time() + within
        while asyncio.get_running_loop().time() < deadline and proc.returncode is None:
            if await ready():
                if record_when_ready:
                    record_pid(self.pid_file, proc.pid)
                return
            await asyncio.sleep(0.05)
        said = tail() if tail is not None else log_tail(log)
        await self.stop()
        raise PermanentError(f"{self.name} did not start on {where}: {said}")

    async def stop(self) -> None:
        """Stop the recorded process (and the child this object launched, if still running)."""
        await stop_recorded(self.pid_file, self._proc)
        self._proc = None
