"""decide() per phase and step, on plain values: no I/O, no clock, no sleeping."""

from __future__ import annotations

import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st

from golive.analysis.judge import Call, MetricVerdict, Status, Verdict
from golive.core.actions import ApplySplit, EnsureRevision, Observation, RetireRevision
from golive.core.results import CheckResult, CheckStatus, Health
from golive.core.state import Command, CommandVerb, PauseKind, Phase, RolloutId, RolloutState
from golive.engine.decide import decide
from golive.plan.loader import parse_plan
from golive.plan.model import Revision, Segment, Split
from tests.conftest import GOOD_PLAN

PLAN = parse_plan(GOOD_PLAN, "plan.yaml")
T0 = 1000.0
OK = Verdict(Call.CONTINUE, (MetricVerdict("error_rate", 0.01, 0.01, Status.OK, "fine"),))
BAD = Verdict(Call.ROLLBACK, (MetricVerdict("error_rate", 0.01, 0.2, Status.REGRESSED, "bad"),))


def state(**kw: object) -> RolloutState:
    base = RolloutState(RolloutId("r1"), Phase.PROGRESSING, 0, T0, Split.all_stable(), T0)
    return dataclasses.replace(base, **kw)  # type: ignore[arg-type]


def obs(now: float = T0, split: Split | None = Split.all_stable(), **kw: object) -> Observation:
    health = {Revision.STABLE: Health.READY, Revision.CANARY: Health.ABSENT}
    base = Observation(now, split, health)
    return dataclasses.replace(base, **kw)  # type: ignore[arg-type]


def test_deploy_ensures_the_canary_then_advances_when_ready() -> None:
    d = decide(PLAN, state(), obs())
    assert d.actions == (EnsureRevision(Revision.CANARY),)
    assert d.state.step == 0
    ready = obs(health={Revision.CANARY: Health.READY})
    d = decide(PLAN, state(), ready)
    assert d.state.step == 1 and d.again


def test_deploy_timeout_fails_without_touching_traffic() -> None:
    d = decide(PLAN, state(), obs(now=T0 + 31))
    assert d.state.phase is Phase.FAILED
    assert d.actions == (RetireRevision(Revision.CANARY),)
    assert not any(isinstance(a, ApplySplit) for a in d.actions)
    assert "did not become ready within 30s" in d.state.reason


def test_check_step_waits_passes_or_fails() -> None:
    s = state(step=1)
    assert decide(PLAN, s, obs()).state.step == 1
    passed = obs(check=CheckResult(CheckStatus.PASSED, "200 in 3ms"))
    assert decide(PLAN, s, passed).state.step == 2
    failed = decide(PLAN, s, obs(check=CheckResult(CheckStatus.FAILED, "503")))
    assert failed.state.phase is Phase.FAILED


def test_shift_writes_then_advances_on_read_back() -> None:
    s = state(step=2)
    target = Split(1.0, Segment("x-beta-user"))
    d = decide(PLAN, s, obs())
    assert d.actions == (ApplySplit(target),)
    s = d.state
    assert decide(PLAN, s, obs(now=T0 + 1)).state.step == 2  # not read back yet
    d = decide(PLAN, s, obs(now=T0 + 1, split=target))
    assert d.state.step == 3 and d.state.shifted


def test_analyze_holds_for_its_duration_and_needs_a_known_verdict() -> None:
    s = state(step=3, desired=Split(1.0, Segment("x-beta-user")), shifted=True)
    split = s.desired
    assert decide(PLAN, s, obs(now=T0 + 10, split=split, verdict=OK)).state.step == 3
    unknown = Verdict(
        Call.CONTINUE, (MetricVerdict("error_rate", None, None, Status.UNKNOWN, "?"),)
    )
    assert decide(PLAN, s, obs(now=T0 + 16, split=split, verdict=unknown)).state.step == 3
    assert decide(PLAN, s, obs(now=T0 + 16, split=split, verdict=OK)).state.step == 4
    inconclusive = decide(PLAN, s, obs(now=T0 + 61, split=split, verdict=unknown))
    assert inconclusive.state.phase is Phase.PAUSED


def test_judge_rollback_sends_all_traffic_to_stable_first() -> None:
    s = state(step=3, desired=Split(1.0, Segment("x-beta-user")), shifted=True)
    d = decide(PLAN, s, obs(now=T0 + 5, split=s.desired, verdict=BAD))
    assert d.state.phase is Phase.ROLLING_BACK
    assert d.actions == (ApplySplit(Split.all_stable(), urgent=True),)
    # the canary is retired only once 100% stable is read back
    still = decide(PLAN, d.state, obs(now=T0 + 6, split=s.desired))
    assert not any(isinstance(a, RetireRevision) for a in still.actions)
    done = decide(PLAN, d.state, obs(now=T0 + 6, split=Split.all_stable()))
    assert done.state.phase is Phase.ROLLED_BACK
    assert done.actions == (RetireRevision(Revision.CANARY),)


def test_trigger_fires_after_its_hold_in_any_step() -> None:
    s = state(step=4, desired=Split(1.0, Segment("x-beta-user")), shifted=True)
    first = decide(PLAN, s, obs(now=T0, split=s.desired, trigger_values=(0.09,)))
    assert first.state.phase is Phase.PROGRESSING
    later = decide(PLAN, first.state, obs(now=T0 + 10, split=s.desired, trigger_values=(0.09,)))
    assert later.state.phase is Phase.ROLLING_BACK
    assert "error_rate > 5% for 10s" in later.state.reason


def test_commands_pause_resume_promote_abort() -> None:
    s = state(step=3, desired=Split(1.0), shifted=True)
    paused = decide(PLAN, s, obs(split=s.desired, commands=(Command(1, CommandVerb.PAUSE),)))
    assert paused.state.phase is Phase.PAUSED and paused.consumed == (1,)
    resumed = decide(
        PLAN, paused.state, obs(split=s.desired, commands=(Command(2, CommandVerb.RESUME),))
    )
    assert resumed.state.phase is Phase.PROGRESSING
    promoted = decide(PLAN, s, obs(split=s.desired, commands=(Command(3, CommandVerb.PROMOTE),)))
    nxt = decide(PLAN, promoted.state, obs(split=s.desired, health=READY))
    assert nxt.actions == (ApplySplit(Split(100.0)),)
    aborted = decide(PLAN, s, obs(split=s.desired, commands=(Command(4, CommandVerb.ABORT),)))
    assert aborted.state.phase is Phase.ROLLING_BACK
    assert aborted.state.end_phase is Phase.ABORTED


READY = {Revision.STABLE: Health.READY, Revision.CANARY: Health.READY}
GATED = parse_plan(
    """\
service: shop
revisions:
  stable: {version: 1.0.0, url: "http://127.0.0.1:9001"}
  canary:
    version: 2.0.0
    url: "http://127.0.0.1:9002"
    process: {command: [./app], ready: "http://127.0.0.1:9002/health"}
route: {router: envoy, listen: "127.0.0.1:8080"}
checks:
  smoke: {http: {url: "http://127.0.0.1:9002/health"}}
approvals:
  go-live: {roles: [release-manager, tech-lead], require_token: true}
steps:
  - check: smoke
  - approve: go-live
  - deploy: canary
  - shift: 10
  - analyze: 1m
  - pause
  - promote
""",
    "gated.yaml",
)


def command(verb: CommandVerb, n: int = 1) -> tuple[Command, ...]:
    return (Command(n, verb, "mallory", "", "login name"),)


def test_pause_then_resume_at_a_gate_waits_at_the_same_gate() -> None:
    s = state(step=1)
    paused = decide(GATED, s, obs(now=T0 + 5, commands=command(CommandVerb.PAUSE)))
    assert paused.state.phase is Phase.PAUSED
    resumed = decide(GATED, paused.state, obs(now=T0 + 65, commands=command(CommandVerb.RESUME)))
    assert resumed.state.phase is Phase.PROGRESSING
    assert resumed.state.step == 1, "resume never skips the step it paused"
    assert resumed.state.step_started == T0 + 60, "the step's clock stops while paused"
    waiting = decide(GATED, resumed.state, obs(now=T0 + 66))
    assert waiting.state.step == 1 and "approval go-live" in waiting.state.waiting_for


def test_promote_never_passes_an_unfinished_gate_check_or_deploy() -> None:
    for step in (0, 1, 2):
        d = decide(GATED, state(step=step), obs(commands=command(CommandVerb.PROMOTE)))
        assert not d.state.force_promote
        assert d.state.step == step
        refused = [e for e in d.events if e.kind == "command_refused"]
        assert refused and "is not finished" in refused[0].message
        assert not any(isinstance(a, ApplySplit) and a.split.canary_weight for a in d.actions)


def test_promote_waits_for_a_ready_canary() -> None:
    s = state(step=4, desired=Split(10.0), shifted=True)
    d = decide(GATED, s, obs(split=s.desired, commands=command(CommandVerb.PROMOTE)))
    assert d.state.force_promote
    starting = {Revision.STABLE: Health.READY, Revision.CANARY: Health.STARTING}
    nxt = decide(GATED, d.state, obs(split=s.desired, health=starting))
    assert nxt.actions == () and "canary to be ready" in nxt.state.waiting_for
    ready = decide(GATED, d.state, obs(split=s.desired, health=READY))
    assert ready.actions == (ApplySplit(Split(100.0)),)
    never = decide(GATED, d.state, obs(now=T0 + 31, split=s.desired, health=starting))
    assert never.state.phase is Phase.ROLLING_BACK and "not ready" in never.state.reason


def test_resume_after_an_inconclusive_analysis_runs_it_again() -> None:
    s = state(step=4, desired=Split(10.0), shifted=True, step_started=T0)
    quiet = decide(GATED, s, obs(now=T0 + 400, split=s.desired, health=READY))
    assert quiet.state.phase is Phase.PAUSED and "inconclusive" in quiet.state.reason
    resumed = decide(
        GATED, quiet.state, obs(now=T0 + 500, split=s.desired, commands=command(CommandVerb.RESUME))
    )
    assert resumed.state.step == 4 and resumed.state.step_started == T0 + 500
    assert resumed.state.desired == Split(10.0), "no weight change without a verdict"


def test_skip_completes_an_analysis_only_and_records_who_and_why() -> None:
    s = state(step=4, desired=Split(10.0), shifted=True)
    why = (Command(1, CommandVerb.SKIP, "carol", "quiet service, checked by hand", "token"),)
    d = decide(GATED, s, obs(split=s.desired, commands=why))
    assert d.state.step == 5
    assert any("carol (token)" in e.message and "by hand" in e.message for e in d.events)
    gate = decide(GATED, state(step=1), obs(commands=command(CommandVerb.SKIP)))
    assert gate.state.step == 1
    assert any(e.kind == "command_refused" for e in gate.events)


def test_resume_completes_the_plans_own_pause_step() -> None:
    s = state(step=5, desired=Split(10.0), shifted=True)
    paused = decide(GATED, s, obs(split=s.desired))
    assert paused.state.phase is Phase.PAUSED
    resumed = decide(
        GATED, paused.state, obs(split=s.desired, commands=command(CommandVerb.RESUME))
    )
    assert resumed.state.step == 6


def test_router_drift_is_reconciled_to_the_desired_split() -> None:
    s = state(step=3, desired=Split(50.0), shifted=True)
    d = decide(PLAN, s, obs(now=T0 + 1, split=Split(0.0), verdict=None))
    assert ApplySplit(Split(50.0)) in d.actions


# -- invariants under any sequence of observations -------------------------------------------

splits = st.builds(Split, st.sampled_from([0.0, 1.0, 5.0, 50.0, 100.0])) | st.none()
verdicts = st.sampled_from([None, OK, BAD])
checks = st.sampled_from(
    [None, CheckResult(CheckStatus.PASSED, "ok"), CheckResult(CheckStatus.FAILED, "no")]
)
healths = st.sampled_from(list(Health))
commands = st.lists(
    st.builds(Command, st.integers(1, 99), st.sampled_from(list(CommandVerb))), max_size=2
).map(tuple)
observations = st.tuples(
    st.floats(0, 30), splits, verdicts, checks, healths, commands, st.sampled_from([None, 0.0, 0.5])
)


@settings(max_examples=300, deadline=None)
@given(st.lists(observations, min_size=1, max_size=40))
def test_invariants_hold_for_any_observation_sequence(seq: list[tuple]) -> None:  # type: ignore[type-arg]
    s = state()
    now = T0
    rolled_back_at: RolloutState | None = None
    for dt, split, verdict, check, health, cmds, trig in seq:
        now += dt
        o = Observation(
            now,
            split,
            {Revision.STABLE: Health.READY, Revision.CANARY: health},
            check,
            verdict,
            (trig,),
            cmds,
        )
        before = s
        d = decide(PLAN, s, o)
        s = d.state
        assert 0.0 <= s.desired.canary_weight <= 100.0
        for a in d.actions:
            if isinstance(a, ApplySplit):
                assert 0.0 <= a.split.canary_weight <= 100.0
        if before.phase.terminal:
            assert s == before, "terminal phases absorb"
        if s.phase is Phase.ROLLING_BACK:
            assert s.desired == Split.all_stable()
            rolled_back_at = s
        if rolled_back_at is not None:
            assert s.desired == Split.all_stable(), "a rollback always ends at 100% stable"
            assert s.phase in (Phase.ROLLING_BACK, Phase.ROLLED_BACK, Phase.ABORTED, Phase.FAILED)
        if (
            any(isinstance(a, RetireRevision) and a.revision is Revision.CANARY for a in d.actions)
            and before.shifted
        ):
            assert split == Split.all_stable(), "the canary is retired only after 100% stable"


@settings(max_examples=300, deadline=None)
@given(st.lists(observations, min_size=1, max_size=40))
def test_no_command_ever_passes_an_approval_without_its_sign_offs(seq: list[tuple]) -> None:  # type: ignore[type-arg]
    s = state()
    now = T0
    for dt, split, verdict, _check, health, cmds, _trig in seq:
        now += dt
        o = Observation(
            now,
            split,
            {Revision.STABLE: Health.READY, Revision.CANARY: health},
            CheckResult(CheckStatus.PASSED, "ok"),
            verdict,
            (),
            cmds,
        )
        s = decide(GATED, s, o).state
        assert s.step <= 1, f"passed the approval with no sign-off: step {s.step + 1}"
        assert s.desired.canary_weight == 0.0 and not s.force_promote


def test_a_rollback_carries_the_canary_retirement_until_it_is_done() -> None:
    rolling = state(
        phase=Phase.ROLLING_BACK,
        shifted=True,
        end_phase=Phase.ROLLED_BACK,
        reason="judge: bad",
        rollback_at=T0,
    )
    d = decide(PLAN, rolling, obs(now=T0 + 1))
    assert d.state.phase is Phase.ROLLED_BACK
    assert d.state.retiring == (Revision.CANARY,), "recorded with the decision that asks for it"
    assert d.actions == (RetireRevision(Revision.CANARY),)
    assert not d.state.settled
    # a controller that died before retiring: the next one is asked again, nothing else changes
    again = decide(PLAN, d.state, obs(now=T0 + 60))
    assert again.state == d.state and again.actions == (RetireRevision(Revision.CANARY),)
    # ... but only once the router serves the final split again
    unread = decide(PLAN, d.state, obs(now=T0 + 61, split=None))
    assert unread.actions == (ApplySplit(Split.all_stable()),)
    done = d.state.retired((Revision.CANARY,))
    assert done.settled and done.retiring == ()
    assert decide(PLAN, done, obs(now=T0 + 62)).actions == ()
    assert RolloutState.from_json(d.state.to_json()) == d.state  # survives the store


def test_a_promotion_asks_to_retire_the_old_stable() -> None:
    promoting = state(step=len(PLAN.steps), desired=Split(100.0), shifted=True)
    d = decide(PLAN, promoting, obs(split=Split(100.0)))
    assert d.state.phase is Phase.PROMOTED
    assert d.state.retiring == (Revision.STABLE,)
    assert d.actions == (RetireRevision(Revision.STABLE),)


def test_a_port_answered_by_someone_else_fails_the_deploy_before_any_traffic() -> None:
    occupied = obs(health={Revision.STABLE: Health.READY, Revision.CANARY: Health.OCCUPIED})
    d = decide(PLAN, state(), occupied)
    assert d.state.phase is Phase.FAILED
    assert "already answers" in d.state.reason and "adopt: true" in d.state.reason
    assert d.state.desired == Split.all_stable()


def _finding(stable: int, canary: int, w: float):  # type: ignore[no-untyped-def]
    from golive.analysis.splitcheck import check

    found = check(stable, canary, (w, w), 0.02)
    assert found is not None
    return found


def test_a_canary_served_more_than_set_is_rolled_back_with_a_split_alarm() -> None:
    s = state(step=5, shifted=True, desired=Split(50.0))
    d = decide(PLAN, s, obs(split=Split(50.0), split_finding=_finding(5, 400, 0.5)))
    assert d.state.phase is Phase.ROLLING_BACK
    assert d.actions == (ApplySplit(Split.all_stable(), urgent=True),)
    assert [e.kind for e in d.events] == ["split_alarm", "rollback_started"]
    assert d.events[0].message.endswith("; rolling back")
    assert d.events[0].data["departure"] == "over"


def test_a_canary_served_less_than_set_pauses_and_resume_continues_the_step() -> None:
    from golive.core.state import PauseKind

    s = state(step=5, shifted=True, desired=Split(50.0), step_started=T0 - 10)
    d = decide(PLAN, s, obs(split=Split(50.0), split_finding=_finding(400, 0, 0.5)))
    assert d.state.phase is Phase.PAUSED and d.state.pause_kind is PauseKind.SPLIT
    assert "split alarm: the canary served 0 of 400 requests" in d.state.reason
    assert [e.kind for e in d.events] == ["split_alarm"]
    resumed = decide(
        PLAN,
        d.state,
        obs(now=T0 + 5, split=Split(50.0), commands=(Command(1, CommandVerb.RESUME),)),
    )
    assert resumed.state.phase is Phase.PROGRESSING and resumed.state.step == 5


def test_split_check_then_notify_records_the_alarm_and_goes_on() -> None:
    plan = parse_plan(GOOD_PLAN + "split_check: {then: notify, over: notify}\n", "plan.yaml")
    s = state(step=5, shifted=True, desired=Split(50.0))
    d = decide(plan, s, obs(split=Split(50.0), split_finding=_finding(5, 400, 0.5)))
    assert d.state.phase is Phase.PROGRESSING
    assert [e.kind for e in d.events][:1] == ["split_alarm"]
    assert d.events[0].message.endswith("; watching")


def test_split_alarms_are_off_before_the_first_shift_and_when_the_plan_says_so() -> None:
    finding = _finding(5, 400, 0.5)
    d = decide(PLAN, state(step=1), obs(split_finding=finding))
    assert "split_alarm" not in [e.kind for e in d.events]
    off = parse_plan(GOOD_PLAN + "split_check: false\n", "plan.yaml")
    s = state(step=5, shifted=True, desired=Split(50.0))
    d = decide(off, s, obs(split=Split(50.0), split_finding=finding))
    assert d.state.phase is Phase.PROGRESSING and not d.events


def test_a_resume_or_skip_asked_before_the_rollout_moved_on_is_refused_as_stale() -> None:
    """Two operators resume the same pause: the second resume, taken up once the rollout has
    paused again at the next pause step, completed that one too, which nobody had looked at."""
    s = state(step=5, desired=Split(10.0), shifted=True)
    first = decide(GATED, s, obs(split=s.desired)).state  # the plan pauses at step 6
    assert first.phase is Phase.PAUSED and first.paused_at is not None
    seen = (first.step, first.paused_at)
    resume = (Command(1, CommandVerb.RESUME, "alice", "", "token", *seen),)
    resumed = decide(GATED, first, obs(now=T0 + 5, split=s.desired, commands=resume)).state
    assert resumed.step == 6
    again = dataclasses.replace(
        resumed, phase=Phase.PAUSED, paused_at=T0 + 9, pause_kind=PauseKind.OPERATOR
    )
    late = (Command(2, CommandVerb.RESUME, "bob", "", "token", *seen),)
    d = decide(GATED, again, obs(now=T0 + 10, split=s.desired, commands=late))
    assert d.state.phase is Phase.PAUSED and d.state.step == 6
    [refused] = [e for e in d.events if e.kind == "command_refused"]
    assert "asked at step 6 while paused; the rollout has moved on" in refused.message
    analysis = state(step=4, desired=Split(10.0), shifted=True)
    skip = (Command(3, CommandVerb.SKIP, "carol", "quiet", "token", step=3),)
    assert decide(GATED, analysis, obs(split=analysis.desired, commands=skip)).state.step == 4


def test_a_resume_behind_a_pause_nobody_applied_lifts_that_pause_only() -> None:
    """`golive pause` then `golive resume` with no controller running: the resume took the
    rollout over, applied the pause and stopped there, asking for a second resume."""
    s = state(step=4, desired=Split(10.0), shifted=True)
    both = (
        Command(1, CommandVerb.PAUSE, "ann", "look", "login name", step=4),
        Command(2, CommandVerb.RESUME, "ann", "", "login name", step=4),
    )
    d = decide(GATED, s, obs(now=T0 + 5, split=s.desired, commands=both))
    assert d.state.phase is Phase.PROGRESSING and d.state.step == 4
    assert [e.message for e in d.events if e.kind == "command_applied"] == [
        "pause by ann (login name) taken up",
        "resume by ann (login name) taken up",
    ]
    assert not [e for e in d.events if e.kind == "command_refused"]
    # a pause of another kind (here the plan's own) is never lifted by a resume asked before it
    at_pause = state(step=5, desired=Split(10.0), shifted=True)
    held = decide(GATED, at_pause, obs(split=at_pause.desired)).state
    early = (Command(3, CommandVerb.RESUME, "ann", "", "login name", step=5),)
    d = decide(GATED, held, obs(now=T0 + 9, split=at_pause.desired, commands=early))
    assert d.state.phase is Phase.PAUSED
