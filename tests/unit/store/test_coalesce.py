"""Coalesced store calls: one call for a turn's callers, each gets its own answer or error."""

from __future__ import annotations

import asyncio

import pytest

from golive.store.coalesce import Coalesced


def test_callers_of_one_turn_share_one_call_and_keep_their_own_answers() -> None:
    calls: list[list[int]] = []

    async def many(keys: list[int]) -> list[int | Exception]:
        calls.append(keys)
        return [ValueError(f"odd {k}") if k % 2 else k * 10 for k in keys]

    async def main() -> list[int | BaseException]:
        double = Coalesced[int, int](many)
        return await asyncio.gather(*(double(k) for k in range(6)), return_exceptions=True)

    answers = asyncio.run(main())
    assert calls == [[0, 1, 2, 3, 4, 5]]
    assert answers[0::2] == [0, 20, 40]
    assert [str(a) for a in answers[1::2]] == ["odd 1", "odd 3", "odd 5"]


def test_a_failed_batch_is_every_callers_error_and_the_next_turn_starts_afresh() -> None:
    rounds = 0

    async def many(keys: list[str]) -> list[str | Exception]:
        nonlocal rounds
        rounds += 1
        if rounds == 1:
            raise OSError("disk full")
        return keys

    async def main() -> tuple[list[BaseException | str], str]:
        echo = Coalesced[str, str](many)
        first = await asyncio.gather(echo("a"), echo("b"), return_exceptions=True)
        return first, await echo("c")

    first, second = asyncio.run(main())
    assert [str(e) for e in first] == ["disk full", "disk full"]
    assert second == "c"


def test_a_cancelled_caller_does_not_break_the_others() -> None:
    async def many(keys: list[int]) -> list[int | Exception]:
        await asyncio.sleep(0.01)
        return keys

    async def main() -> int:
        same = Coalesced[int, int](many)
        doomed = asyncio.ensure_future(same(1))
        kept = asyncio.ensure_future(same(2))
        await asyncio.sleep(0.001)
        doomed.cancel()
        with pytest.raises(asyncio.CancelledError):
            await doomed
        return await kept

    assert asyncio.run(main()) == 2
