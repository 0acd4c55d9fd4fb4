"""The controller's clock: a command given through the API cuts the runner's pause short."""

from __future__ import annotations

import asyncio

from golive.engine.clock import WakeableClock


def test_a_wake_cuts_the_pause_short_and_one_given_during_a_pass_is_not_lost() -> None:
    async def main() -> tuple[bool, bool, bool]:
        clock = WakeableClock()
        loop = asyncio.get_running_loop()
        loop.call_later(0.01, clock.wake)
        start = loop.time()
        await clock.sleep(30)
        cut = loop.time() - start < 5
        clock.wake()  # during a pass: the next pause returns at once
        start = loop.time()
        await clock.sleep(30)
        kept = loop.time() - start < 5
        start = loop.time()
        await clock.sleep(0.01)  # and only once
        return cut, kept, loop.time() - start >= 0.009

    assert asyncio.run(main()) == (True, True, True)
