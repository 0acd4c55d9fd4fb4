"""Retrying a failed provider call: transient errors with bounded, jittered exponential backoff
on the engine's clock (a fake one here: nothing waits), permanent ones never."""

from __future__ import annotations

import random

import pytest

from golive.engine.backoff import Backoff, Exhausted, retry
from golive.errors import PermanentError, TransientError
from golive.testing import FakeClock


class Flaky:
    """Fails with ``errors`` in turn, then answers "ok"."""

    def __init__(self, *errors: Exception) -> None:
        self.errors, self.calls = list(errors), 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


async def test_a_transient_failure_is_retried_after_growing_jittered_delays() -> None:
    clock = FakeClock(0.0)
    call = Flaky(TransientError("503"), TimeoutError(), TransientError("refused"))
    result, errors = await retry(call, clock, Backoff(), random.Random(7))
    assert result == "ok" and call.calls == 4
    assert errors == ["503", "timed out", "refused"]
    # 0.5, 1 and 2 seconds, each jittered to between half and all of itself
    assert 1.75 <= clock.now() <= 3.5


async def test_a_permanent_failure_is_raised_at_once() -> None:
    clock = FakeClock(0.0)
    call = Flaky(PermanentError("nginx refused the configuration"))
    with pytest.raises(PermanentError, match="refused"):
        await retry(call, clock, Backoff(), random.Random(7))
    assert call.calls == 1 and clock.now() == 0.0


async def test_a_transient_failure_that_lasts_is_raised_after_the_last_try() -> None:
    clock = FakeClock(0.0)
    call = Flaky(*(TransientError(f"down {i}") for i in range(10)))
    with pytest.raises(Exhausted, match=r"down 3 \(4 tries\)") as info:
        await retry(call, clock, Backoff(tries=4), random.Random(7))
    assert call.calls == 4 and info.value.tries == 4
    assert isinstance(info.value, TransientError)


async def test_no_retry_is_slept_past_the_budget() -> None:
    clock = FakeClock(0.0)
    call = Flaky(*(TransientError("down") for _ in range(20)))
    policy = Backoff(tries=20, base=1.0, cap=8.0, budget=10.0)
    with pytest.raises(Exhausted):
        await retry(call, clock, policy, random.Random(7))
    assert clock.now() <= policy.budget and call.calls < 20


async def test_jitter_spreads_the_delays_of_many_controllers() -> None:
    delays = {round(next(Backoff().delays(random.Random(seed))), 3) for seed in range(20)}
    assert len(delays) > 10 and all(0.25 <= d <= 0.5 for d in delays)
