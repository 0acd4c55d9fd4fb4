"""The watch window after promotion, on decide() with a fake clock: checks on the ``every``
schedule, the window's end (promoted), a trigger or rollback in it (back to the previous
revision, health-checked and redeployed first), and the keep_previous retirement."""

from __future__ import annotations

import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st

from golive.analysis.judge import Call, MetricVerdict, Status, Verdict
from golive.core.actions import ApplySplit, Decision, EnsureRevision, Observation, RetireRevision
from golive.core.results import CheckResult, CheckStatus, Health
from golive.core.state import Command, CommandVerb, Phase, RolloutId, RolloutState
from golive.engine.decide import decide
from golive.plan.loader import parse_plan
from golive.plan.model import Revision, Split
from golive.testing.fakes import FakeClock
from tests.conftest import GOOD_PLAN

WATCHED = GOOD_PLAN.replace(
    '  stable: {version: 2.0.5, url: "http://127.0.0.1:9001"}\n',
    '  stable:\n    version: 2.0.5\n    url: "http://127.0.0.1:9001"\n'
    '    process: {command: [./app, --port, "9001"], ready: "http://127.0.0.1:9001/health"}\n',
).replace(
    "  - promote\n",
    "  - promote:\n      watch: 6h\n      keep_previous: 48h\n      checks: [smoke]\n"
    "      every: [{for: 2h, every: 5m}, {for: 4h, every: 15m}, {every: 1h}]\n",
)
PLAN = parse_plan(WATCHED, "plan.yaml")
FULL = Split(100.0)
HOUR = 3600.0


def healthy(clock: FakeClock, split: Split | None = FULL, **kw: object) -> Observation:
    health = {Revision.STABLE: Health.READY, Revision.CANARY: Health.READY}
    base = Observation(clock.now(), split, health)
    return dataclasses.replace(base, **kw)  # type: ignore[arg-type]


def at_promote(clock: FakeClock) -> RolloutState:
    now = clock.now()
    return RolloutState(
        RolloutId("r1"), Phase.PROGRESSING, len(PLAN.steps) - 1, now, FULL, now - 100,
        shifted=True, trigger_since=(None,), notified=(False,),
    )  # fmt: skip


def promoted(clock: FakeClock) -> RolloutState:
    """The state once 100% is read back: the window opens."""
    d = decide(PLAN, at_promote(clock), healthy(clock))
    assert d.state.watching and d.state.phase is Phase.PROGRESSING
    assert [e.kind for e in d.events] == ["watch_started"]
    assert not any(isinstance(a, RetireRevision) for a in d.actions)  # previous is kept
    return d.state


def test_the_plan_reads_the_watch_window() -> None:
    watch = PLAN.watch
    assert watch is not None
    assert (watch.duration, watch.keep_previous, watch.checks) == (6 * HOUR, 48 * HOUR, ("smoke",))
    assert [watch.interval(t) for t in (0, 2 * HOUR - 1, 2 * HOUR, 6 * HOUR - 1, 6 * HOUR)] == [
        300.0, 300.0, 900.0, 900.0, 3600.0,
    ]  # fmt: skip


def test_promotion_opens_the_window_and_keeps_the_previous_revision() -> None:
    clock = FakeClock()
    s = promoted(clock)
    assert s.promoted_at == clock.now()
    assert s.watch_until == clock.now() + 6 * HOUR
    assert s.keep_until == clock.now() + 48 * HOUR
    assert s.watch_next == clock.now() + 300
    assert s.retiring == ()


def test_checks_follow_the_every_schedule() -> None:
    clock = FakeClock()
    s = promoted(clock)
    start, ran = clock.now(), []
    passed = CheckResult(CheckStatus.PASSED, "1 of 1 passed")
    for _ in range(400):  # what the runner does: run the checks when watch_next is due
        clock.advance(60)
        due = s.watch_next is not None and clock.now() >= s.watch_next
        d = decide(PLAN, s, healthy(clock, check=passed if due else None))
        s = d.state
        if due:
            ran.append(clock.now() - start)
            assert d.events[0].kind == "watch_checked"
        if not s.watching:
            break
    gaps = [b - a for a, b in zip([0.0, *ran], ran, strict=False)]
    assert set(gaps[:24]) == {300.0}  # every 5 minutes for 2 hours
    assert set(gaps[24:40]) == {900.0}  # then every 15 minutes
    assert s.phase is Phase.PROMOTED


def test_the_window_ends_promoted_and_the_previous_is_retired_after_keep_previous() -> None:
    clock = FakeClock()
    s = promoted(clock)
    clock.advance(6 * HOUR - 1)
    d = decide(PLAN, s, healthy(clock))
    assert d.state.watching and d.state.waiting_for.startswith("watch window until ")
    clock.advance(1)
    d = decide(PLAN, d.state, healthy(clock))
    s = d.state
    assert s.phase is Phase.PROMOTED and s.retiring == (Revision.STABLE,)
    assert not s.settled and d.actions == ()  # kept: not retired yet
    assert s.retire_due(clock.now()) == ()
    clock.advance(42 * HOUR - 1)
    assert decide(PLAN, s, healthy(clock)).actions == ()
    clock.advance(1)
    d = decide(PLAN, s, healthy(clock, split=None))  # the router is not asked again
    assert d.actions == (RetireRevision(Revision.STABLE),)
    assert s.retired((Revision.STABLE,)).settled


def rolled_back(d: Decision, clock: FakeClock) -> Decision:
    """The passes after a rollback started in the window, the previous revision healthy."""
    assert d.state.phase is Phase.ROLLING_BACK and d.actions == () and d.again
    assert d.state.desired == FULL  # nothing moves before the previous revision is checked
    d = decide(PLAN, d.state, healthy(clock))
    assert d.actions == (ApplySplit(Split.all_stable(), urgent=True),)
    clock.advance(0.01)
    return decide(PLAN, d.state, healthy(clock, split=Split.all_stable()))


def test_a_trigger_in_the_window_sends_traffic_back_to_the_previous_revision() -> None:
    clock = FakeClock()
    s = promoted(clock)
    clock.advance(HOUR)
    d = decide(PLAN, s, healthy(clock, trigger_values=(0.5,)))
    assert d.state.watching  # the trigger holds for 10s first
    clock.advance(11)
    d = decide(PLAN, d.state, healthy(clock, trigger_values=(0.5,)))
    assert [e.kind for e in d.events] == ["trigger_fired", "rollback_started"]
    d = rolled_back(d, clock)
    assert d.state.phase is Phase.ROLLED_BACK
    assert d.actions == (RetireRevision(Revision.CANARY),)  # after the migration hook (none)
    assert d.state.retiring == (Revision.CANARY,)


def test_golive_rollback_in_the_window_and_a_failed_check() -> None:
    clock = FakeClock()
    s = promoted(clock)
    clock.advance(10)
    cmd = Command(1, CommandVerb.ROLLBACK, by="alice", reason="support tickets")
    d = decide(PLAN, s, healthy(clock, commands=(cmd,)))
    assert d.consumed == (1,) and "support tickets" in d.state.reason
    assert rolled_back(d, clock).state.phase is Phase.ROLLED_BACK
    failed = healthy(clock, check=CheckResult(CheckStatus.FAILED, "smoke: 503"))
    d = decide(PLAN, dataclasses.replace(s, watch_next=clock.now()), failed)
    assert "watch check failed: smoke: 503" in d.state.reason
    assert rolled_back(d, clock).state.phase is Phase.ROLLED_BACK


def test_only_the_judges_absolute_limits_act_in_the_window() -> None:
    clock = FakeClock()
    s = promoted(clock)
    ratio = MetricVerdict(
        "error_rate", 0.0, 0.2, Status.REGRESSED, "x2", rule="error_rate > 2 x stable"
    )
    limit = MetricVerdict(
        "error_rate", None, 0.2, Status.REGRESSED, "above 5%", rule="error_rate > 5%"
    )
    clock.advance(5)
    d = decide(PLAN, s, healthy(clock, verdict=Verdict(Call.ROLLBACK, (ratio,))))
    assert d.state.watching
    d = decide(PLAN, s, healthy(clock, verdict=Verdict(Call.ROLLBACK, (limit,))))
    assert d.state.phase is Phase.ROLLING_BACK and "above 5%" in d.state.reason


def test_a_previous_revision_that_is_gone_is_redeployed_before_traffic_moves() -> None:
    clock = FakeClock()
    s = promoted(clock)
    clock.advance(60)
    cmd = Command(1, CommandVerb.ROLLBACK, by="alice")
    d = decide(PLAN, s, healthy(clock, commands=(cmd,)))
    gone = {Revision.STABLE: Health.ABSENT, Revision.CANARY: Health.READY}
    d = decide(PLAN, d.state, healthy(clock, health=gone))
    assert d.actions == (EnsureRevision(Revision.STABLE),)
    assert [e.kind for e in d.events] == ["redeploying"]
    clock.advance(1)
    starting = {Revision.STABLE: Health.STARTING, Revision.CANARY: Health.READY}
    d = decide(PLAN, d.state, healthy(clock, health=starting))
    assert d.actions == (EnsureRevision(Revision.STABLE),) and d.events == ()
    d = rolled_back(dataclasses.replace(d, actions=(), again=True), clock)
    assert d.state.phase is Phase.ROLLED_BACK
    # one that exited is deployed again once; exiting again, it is given up
    exited = {Revision.STABLE: Health.FAILED, Revision.CANARY: Health.READY}
    d = decide(PLAN, s, healthy(clock, commands=(cmd,)))
    d = decide(PLAN, d.state, healthy(clock, health=exited))
    assert d.actions == (EnsureRevision(Revision.STABLE),)
    d = decide(PLAN, d.state, healthy(clock, health=exited))
    assert d.state.phase is Phase.FAILED and d.state.desired == FULL
    # one that never comes back: traffic stays on the new version, the rollout fails
    d = decide(PLAN, s, healthy(clock, commands=(cmd,)))
    clock.advance(31)
    d = decide(PLAN, d.state, healthy(clock, health=gone))
    assert d.state.phase is Phase.FAILED and "traffic stays on the canary" in d.state.reason
    assert not any(isinstance(a, ApplySplit) for a in d.actions)


def test_promote_ends_the_window_now_and_skip_is_refused() -> None:
    clock = FakeClock()
    s = promoted(clock)
    clock.advance(60)
    d = decide(PLAN, s, healthy(clock, commands=(Command(1, CommandVerb.SKIP, by="bob"),)))
    assert [e.kind for e in d.events][-1] == "command_refused"
    d = decide(PLAN, s, healthy(clock, commands=(Command(2, CommandVerb.PROMOTE, by="bob"),)))
    d = decide(PLAN, d.state, healthy(clock))
    assert d.state.phase is Phase.PROMOTED and d.state.retiring == (Revision.STABLE,)


def test_a_state_in_the_window_round_trips_through_json() -> None:
    s = promoted(FakeClock())
    assert RolloutState.from_json(s.to_json()) == s


def test_plan_rules_for_the_watch_window(write_plan: object) -> None:
    import pytest

    from golive.errors import PlanError

    bad = WATCHED.replace("keep_previous: 48h", "keep_previous: 1h").replace(
        "checks: [smoke]", "checks: [nope]"
    )
    with pytest.raises(PlanError) as exc:
        parse_plan(bad, "plan.yaml")
    text = str(exc.value)
    assert "keep_previous (3600s) must be at least the watch window" in text
    assert "unknown check 'nope'" in text
    no_watch = GOOD_PLAN.replace("  - promote\n", "  - promote: {keep_previous: 1h}\n")
    with pytest.raises(PlanError, match="belongs to a watch window"):
        parse_plan(no_watch, "plan.yaml")


def test_defaults_of_the_window() -> None:
    plain = parse_plan(GOOD_PLAN.replace("  - promote\n", "  - promote: {watch: 1h}\n"), "p.yaml")
    assert plain.watch is not None
    assert plain.watch.keep_previous == 3600.0 and plain.watch.every == ((None, 300.0),)
    assert parse_plan(GOOD_PLAN, "p.yaml").watch is None
    one = GOOD_PLAN.replace(
        "  - promote\n", "  - promote: {watch: 1h, every: [{for: 10m, every: 1m}]}\n"
    )
    watch = parse_plan(one, "p.yaml").watch
    assert watch is not None and watch.interval(3000) == 60.0  # its interval goes on


def test_hostile_schedules_are_refused_with_a_sentence() -> None:
    import pytest

    from golive.errors import PlanError

    for bad, said in (
        ("{watch: 1h, every: [{every: 1m}, {for: 1h, every: 5m}]}", "only the last entry"),
        ("{watch: 1h, every: [{for: 0s, every: 1m}]}", "'for' must be longer than 0s"),
        ("{watch: 1h, every: [{every: 0s}]}", "'every' must be longer than 0s"),
        ("{watch: 0s}", "longer than 0s"),
        ("{watch: 1h, every: [" + ", ".join(["{every: 1m}"] * 40) + "]}", "every"),
        ("{watch: '<script>', keep_previous: 2h}", "watch"),
    ):
        text = GOOD_PLAN.replace("  - promote\n", f"  - promote: {bad}\n")
        with pytest.raises(PlanError) as exc:
            parse_plan(text, "p.yaml")
        assert said in str(exc.value), str(exc.value)


_healths = st.sampled_from(list(Health))
_checks = st.none() | st.sampled_from(
    [CheckResult(CheckStatus.PASSED, "ok"), CheckResult(CheckStatus.FAILED, "503")]
)
_commands = st.lists(st.sampled_from(list(CommandVerb)), max_size=2)
_passes = st.tuples(
    st.floats(0, 4000), _healths, _checks, st.sampled_from([None, 0.0, 0.5]), _commands,
    st.sampled_from([FULL, Split.all_stable(), None]),
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(_passes, min_size=1, max_size=30))
def test_the_window_never_sends_traffic_to_a_previous_revision_not_ready(seq: list[tuple]) -> None:  # type: ignore[type-arg]
    clock = FakeClock()
    s = promoted(clock)
    n = 0
    for dt, health, check, trig, verbs, split in seq:
        clock.advance(dt)
        cmds = tuple(Command((n := n + 1), v, by="x") for v in verbs)
        o = Observation(
            clock.now(), split, {Revision.STABLE: health, Revision.CANARY: Health.READY},
            check, None, (trig,), cmds,
        )  # fmt: skip
        before, d = s, decide(PLAN, s, o)
        s = d.state
        for a in d.actions:
            if (
                isinstance(a, ApplySplit)
                and a.split == Split.all_stable()
                and before.desired == FULL
            ):
                assert a.urgent and health is Health.READY, "traffic to a previous not ready"
            if isinstance(a, RetireRevision) and a.revision is Revision.STABLE:
                assert s.keep_until is not None and clock.now() >= s.keep_until
        if before.phase.terminal:
            assert s == before, "terminal phases absorb"
        if before.phase is Phase.ROLLING_BACK:
            ends = (Phase.ROLLING_BACK, Phase.ROLLED_BACK, Phase.ABORTED, Phase.FAILED)
            assert s.phase in ends, "a rollback never turns back"
        if s.phase is Phase.FAILED:
            assert s.desired == FULL, "a previous that never came back: traffic stays"
