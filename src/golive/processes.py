"""Supervising the processes golive starts: liveness by pid, and stopping a process group.

golive records every process it starts in a pid file and stops it by that pid, SIGTERM first.
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path


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
