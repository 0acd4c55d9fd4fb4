"""Supervising the processes golive starts: liveness by pid, and stopping a process group.

golive records every process it starts in a pid file and stops it by that pid, SIGTERM first.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
from pathlib import Path

from golive.errors import PermanentError
from golive.files import write_private


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is not alive
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][0] != "Z"
    except OSError:
        return True


async def terminate(pid: int, grace: float = 5.0) -> None:
    """SIGTERM ``pid``'s process group, wait up to ``grace`` seconds, then SIGKILL it."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 2.0)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        except PermissionError:
            os.kill(pid, sig)
        deadline = asyncio.get_running_loop().time() + wait
        while asyncio.get_running_loop().time() < deadline:
            if not pid_alive(pid):
                return
            await asyncio.sleep(0.05)


def write_pid(pid_path: Path, pid: int) -> None:
    """Record a process golive started, for ``live_pid`` and ``stop_recorded`` to find later
    (0600, like every file golive writes)."""
    write_private(pid_path, str(pid))


def live_pid(pid_path: Path) -> int | None:
    """The pid recorded in ``pid_path``, if that process is alive."""
    try:
        pid = int(pid_path.read_text())
    except (OSError, ValueError):
        return None
    return pid if pid_alive(pid) else None


async def stop_recorded(pid_path: Path, child: asyncio.subprocess.Process | None = None) -> None:
    """Stop the process recorded in ``pid_path`` (``terminate``) and forget its pid file.

    ``child``, when this process started it, is reaped too, so its transport closes.
    """
    pid = live_pid(pid_path)
    if pid is not None:
        await terminate(pid)
    if child is not None:
        await child.wait()
    pid_path.unlink(missing_ok=True)


def system_binary(name: str) -> str:
    """A Debian-packaged binary (``haproxy``, ``nginx``): on PATH or in the sbin directories."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")
    if found is None:
        raise PermanentError(f"the {name} binary was not found; install it (apt install {name})")
    return found
