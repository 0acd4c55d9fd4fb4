"""Approve steps and notify triggers in decide(), on plain values."""

from __future__ import annotations

import dataclasses

from golive.core.actions import Observation, RetireRevision
from golive.core.state import Phase, Signoff
from golive.engine.decide import decide
from golive.plan.loader import parse_plan
from golive.plan.model import Split
from tests.unit.engine.test_decide import T0, obs, state

PLAN_TEXT = """\
service: shop
revisions:
  stable: {version: 1.0.0, url: "http://127.0.0.1:9001"}
  canary: {version: 2.0.0, url: "http://127.0.0.1:9002"}
approvals:
  go-live: {roles: [release-manager, tech-lead], timeout: 1h}
  patient: {roles: [security], timeout: 10m, on_timeout: wait, allow_self_approval: true}
triggers:
  - {when: "error_rate > 1%", for: 60s, then: notify}
steps:
  - approve: go-live
  - approve: patient
  - shift: 50
  - promote
"""
PLAN = parse_plan(PLAN_TEXT, "plan.yaml")


def sign(
    role: str, by: str, approve: bool = True, step: int = 0, revision: str = "2.0.0"
) -> Signoff:
    return Signoff(step, revision, "go-live", role, by, approve, "why not")


def test_every_role_must_sign_and_only_signoffs_for_this_step_and_revision_count() -> None:
    s = state(started_by="alice")
    waiting = decide(PLAN, s, obs(signoffs=(sign("release-manager", "alice"),)))
    assert waiting.state.step == 0
    assert waiting.state.waiting_for == "approval go-live: tech-lead"
    stale = (
        sign("release-manager", "alice"),
        sign("tech-lead", "bob", revision="1.9.0"),  # for another revision
        sign("tech-lead", "bob", step=1),  # for another step
    )
    assert decide(PLAN, s, obs(signoffs=stale)).state.step == 0
    both = (sign("release-manager", "alice"), sign("tech-lead", "bob"))
    passed = decide(PLAN, s, obs(signoffs=both))
    assert passed.state.step == 1
    assert "signed off by alice (release-manager), bob (tech-lead)" in passed.events[0].message


def test_the_starter_cannot_be_the_only_approver_unless_the_plan_allows_it() -> None:
    mine = (sign("release-manager", "alice"), sign("tech-lead", "alice"))
    d = decide(PLAN, state(started_by="alice"), obs(signoffs=mine))
    assert d.state.step == 0
    assert "someone other than alice" in d.state.waiting_for
    assert decide(PLAN, state(started_by="carol"), obs(signoffs=mine)).state.step == 1
    allowed = (Signoff(1, "2.0.0", "patient", "security", "alice", True),)
    assert decide(PLAN, state(step=1, started_by="alice"), obs(signoffs=allowed)).state.step == 2


def test_names_that_differ_only_in_case_or_unicode_form_are_one_person() -> None:
    """Issue #10.2: ``user: Alice`` passed the check for the starter ``alice``."""
    for other in ("Alice", "ALICE", "ａｌｉｃｅ", "alice "):
        mine = (sign("release-manager", other), sign("tech-lead", "alice"))
        d = decide(PLAN, state(started_by="alice"), obs(signoffs=mine))
        assert d.state.step == 0, other


def test_a_rejection_aborts_and_retires_the_canary_before_any_traffic() -> None:
    d = decide(PLAN, state(), obs(signoffs=(sign("tech-lead", "bob", approve=False),)))
    assert d.state.phase is Phase.ABORTED
    assert d.state.reason == "go-live rejected by bob as tech-lead: why not"
    assert d.actions == (
        RetireRevision(
            d.state.desired
            and RetireRevision.__match_args__
            and __import__("golive.plan.model").plan.model.Revision.CANARY
        ),
    )


def test_a_timeout_aborts_or_keeps_waiting_as_the_plan_says() -> None:
    late = decide(PLAN, state(), obs(now=T0 + 3601))
    assert late.state.phase is Phase.ABORTED and "not given within 3600s" in late.state.reason
    patient = decide(PLAN, state(step=1), obs(now=T0 + 900))
    assert patient.state.phase is Phase.PROGRESSING
    assert patient.state.waiting_for == "approval patient: security (overdue by 300s)"


def test_a_notify_trigger_is_recorded_once_per_episode_and_the_rollout_goes_on() -> None:
    s = state(step=2, shifted=True, desired=Split(50.0))
    seen: list[str] = []
    for t, value in [
        (0, 0.05),
        (30, 0.05),
        (61, 0.05),
        (90, 0.05),
        (100, 0.0),
        (110, 0.05),
        (171, 0.05),
    ]:
        o: Observation = obs(now=T0 + t, split=Split(50.0), trigger_values=(value,))
        d = decide(PLAN, s, o)
        seen += [e.kind for e in d.events if e.kind == "trigger_notified"]
        assert d.state.phase is Phase.PROGRESSING
        s = dataclasses.replace(d.state, step=2)
    assert seen == ["trigger_notified", "trigger_notified"]  # at 61 s, and again at 171 s


def test_service_down_rolls_back_once_it_has_held() -> None:
    text = PLAN_TEXT.replace(
        '  - {when: "error_rate > 1%", for: 60s, then: notify}\n',
        "  - {when: canary_down, for: 10s, then: rollback}\n",
    )
    plan = parse_plan(text, "plan.yaml")
    s = state(step=2, shifted=True, desired=Split(50.0))
    d = decide(plan, s, obs(now=T0, split=Split(50.0), trigger_values=(1.0,)))
    assert d.state.phase is Phase.PROGRESSING
    d = decide(plan, d.state, obs(now=T0 + 11, split=Split(50.0), trigger_values=(1.0,)))
    assert d.state.phase is Phase.ROLLING_BACK
    assert "the canary does not answer its health check" in d.state.reason


def test_the_preflight_waits_for_confirmations_only_as_long_as_the_plan_says() -> None:
    from golive.core.results import CheckResult, CheckStatus

    text = PLAN_TEXT.replace("steps:\n", "checklist:\n  - {id: runbook, text: Runbook}\n"
                             "scorecard: {go_at: 9, confirm_within: 30m}\nsteps:\n  - check: preflight\n")  # fmt: skip
    plan = parse_plan(text, "plan.yaml")
    waiting = CheckResult(CheckStatus.WAIT, "confirmation of runbook")
    d = decide(plan, state(), obs(now=T0 + 60, check=waiting))
    assert d.state.waiting_for == "check preflight: confirmation of runbook"
    late = decide(plan, state(), obs(now=T0 + 1801, check=waiting))
    assert late.state.phase is Phase.ABORTED
    assert late.state.reason == "pre-flight: confirmation of runbook not given within 1800s"
