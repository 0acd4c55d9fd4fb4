"""Time for the engine, injected so the core and the loop are tested without sleeping.

Wall-clock seconds, because rollout times are persisted and read by other processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class WakeableClock(SystemClock):
    """The system clock, whose sleep between passes the server's controller can cut short: a
    command given through the API (a rollback) is picked up at once, not at the next pass. A
    wake during a pass makes the next sleep return at once (the pass may have missed it)."""

    def __init__(self) -> None:
        self._bell = asyncio.Event()

    def wake(self) -> None:
        self._bell.set()

    async def sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._bell.wait()
        self._bell.clear()
