"""The refusal budget: a burst per caller and rollout per window, then counted, not journaled."""

from __future__ import annotations

from golive.server.refusals import RefusalBudget


def test_a_burst_then_counted_then_reported_after_the_window() -> None:
    budget = RefusalBudget(burst=3, window=60.0)
    assert [budget.admit("r1", "vic", t) for t in (0, 1, 2)] == [0, 0, 0]
    assert [budget.admit("r1", "vic", t) for t in (3, 4)] == [None, None]
    assert budget.admit("r1", "eve", 5) == 0  # another caller has its own budget
    assert budget.admit("r2", "vic", 5) == 0  # and so has another rollout
    assert budget.admit("r1", "vic", 61) == 2  # after the window: the two left out, said once
    assert budget.admit("r1", "vic", 62) == 0


def test_callers_remembered_are_bounded() -> None:
    budget = RefusalBudget(burst=1, window=60.0, max_keys=100)
    for n in range(1000):
        budget.admit("r1", f"10.0.{n // 256}.{n % 256}", 0)
    assert len(budget._seen) == 100
