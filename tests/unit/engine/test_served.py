"""Which share the split check expects for an interval, from the splits read back in it."""

from __future__ import annotations

from golive.engine.served import ServedSplits
from golive.plan.model import Segment, Split


def test_the_first_interval_after_a_start_is_not_checked_then_each_spans_what_was_read() -> None:
    served = ServedSplits(sticky=False, checked=True, carry=0)
    served.see(Split(5.0))
    assert served.measured(Split(5.0)) is None  # it may span the controller's absence
    served.see(Split(5.0))
    served.see(Split(25.0))
    assert served.measured(Split(25.0)) == (0.05, 0.25)
    assert served.measured(Split(25.0)) == (0.25, 0.25)


def test_a_segment_or_an_unread_split_leaves_the_interval_unchecked_and_says_why_once() -> None:
    served = ServedSplits(sticky=False, checked=True)
    served.measured(Split(0.0))
    note = served.see(Split(1.0, Segment("x-beta")))
    assert note is not None and note.kind == "split_unchecked"
    assert "a header segment is set (header x-beta)" in note.message
    assert served.see(Split(1.0, Segment("x-beta"))) is None  # said once
    assert served.measured(Split(1.0, Segment("x-beta"))) is None
    served.see(None)
    assert served.measured(Split(10.0)) is None


def test_sticky_users_are_never_checked() -> None:
    served = ServedSplits(sticky=True, checked=True)
    served.measured(Split(10.0))
    note = served.see(Split(10.0))
    assert note is not None and "users are sticky" in note.message
    assert served.measured(Split(10.0)) is None


def test_counters_that_lag_are_expected_to_show_the_shares_read_back_just_before() -> None:
    served = ServedSplits(sticky=False, checked=True, carry=1)

    def measure(weight: float) -> tuple[float, float] | None:
        served.see(Split(weight))  # the runner reads the split back, then measures
        return served.measured(Split(weight))

    measure(5.0)
    assert measure(5.0) is None  # the window still reaches back to the start
    assert measure(5.0) == (0.05, 0.05)
    assert measure(25.0) == (0.05, 0.25)
    assert measure(25.0) == (0.05, 0.25)  # counted late: still expected one interval on
    assert measure(25.0) == (0.25, 0.25)
