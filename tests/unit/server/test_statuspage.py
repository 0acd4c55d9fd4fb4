"""The public status page's phases, made from step kinds on plain values."""

from __future__ import annotations

import dataclasses

from golive.core.state import Phase, RolloutId, RolloutState
from golive.plan.loader import parse_plan
from golive.plan.model import Split
from golive.server.statuspage import Page, _remaining, phases, render

PLAN = parse_plan("""\
service: shop
revisions:
  stable: {version: 1.0.0, url: "http://127.0.0.1:9001"}
  canary: {version: 2.0.0, url: "http://127.0.0.1:9002"}
approvals:
  go-live: {roles: [release-manager]}
steps:
  - approve: go-live
  - shift: {weight: 1, segment: {header: x-beta-user}}
  - analyze: 60s
  - shift: 25
  - analyze: 120s
  - promote
""")


def state(step: int, phase: Phase = Phase.PROGRESSING, started: float = 0.0) -> RolloutState:
    return RolloutState(RolloutId("shop-1"), phase, step, started, Split(0), 0.0)


def test_a_shift_and_its_analysis_are_one_phase_named_by_golive() -> None:
    assert phases(PLAN, state(2)) == [
        ("Approval", "done"), ("Soft launch", "in progress"), ("25% rollout", "pending"),
        ("100% rollout", "pending"),
    ]  # fmt: skip
    rolled = dataclasses.replace(state(3), phase=Phase.ROLLED_BACK)
    assert [s for _, s in phases(PLAN, rolled)] == ["done", "done", "stopped", "cancelled"]
    assert {s for _, s in phases(PLAN, state(5, Phase.PROMOTED))} == {"done"}


def test_the_expected_end_counts_the_timed_steps_left_and_none_before_a_gate() -> None:
    assert _remaining(PLAN, state(0), 10.0) is None
    assert _remaining(PLAN, state(2, started=100.0), 130.0) == 30.0 + 120.0


def test_every_string_is_escaped() -> None:
    page = Page("<b>", "in progress", 0.0, None, None, "<script>x</script>", [("<i>", "done")])
    html = render(page)
    assert "<b>" not in html and "<script>x" not in html and "<i>" not in html
    assert "&lt;script&gt;" in html
