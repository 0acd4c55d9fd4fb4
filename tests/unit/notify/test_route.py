"""The pure part of notifications: which messages a write makes, where they go, what they say."""

from __future__ import annotations

import dataclasses
import json

import pytest

from golive.core.state import Event, Phase, RolloutId, RolloutState
from golive.errors import PlanError
from golive.notify.notice import Figures
from golive.notify.route import outbox_for, status_due
from golive.plan.loader import parse_plan
from golive.plan.model import Split

PLAN = """\
service: shop
revisions:
  stable: {version: 1.0.0, url: "http://127.0.0.1:9001"}
  canary: {version: 2.0.0, url: "http://127.0.0.1:9002"}
approvals:
  go-live: {roles: [release-manager]}
notify:
  channels:
    chat: {apprise: env:CHAT_URL}
    pager: {apprise: env:PAGER_URL}
    ci: {webhook: "http://127.0.0.1:9/hook", secret: env:CI_SECRET}
  routes:
    - {events: [incident, rolled_back], severity: critical, to: [pager]}
    - {to: [chat]}
    - {events: [waiting], to: [ci]}
  every: 15m
steps:
  - approve: go-live
  - shift: 10
  - pause: {for: 1m, reason: "%s"}
  - analyze: {for: 2m}
  - promote
"""


def plan(reason: str = "watch the dashboards"):  # type: ignore[no-untyped-def]
    return parse_plan(PLAN % reason, "plan.yaml")


def state(**changes: object) -> RolloutState:
    st = RolloutState(RolloutId("shop-1"), Phase.PROGRESSING, 0, 100.0, Split.all_stable(), 100.0,
                      started_by="alice")  # fmt: skip
    return dataclasses.replace(st, **changes)  # type: ignore[arg-type]


def test_a_new_rollout_announces_itself_and_the_gate_it_waits_at() -> None:
    p, st = plan(), state()
    notices = outbox_for(p, None, st, [Event("rollout_started", "go")], 1, 100.0)
    assert [(n.kind, n.channel) for n in notices] == [
        ("started", "chat"), ("waiting", "chat"), ("waiting", "ci")
    ]  # fmt: skip
    started = notices[0]
    assert "shop 1.0.0 -> 2.0.0" in started.title
    assert "approve go-live; shift 10%; pause 60s (watch the dashboards); analyze 120s" in (
        started.text
    )
    assert "Expected duration: 3 min plus sign-offs" in started.text
    assert "release-manager" in notices[1].text
    assert notices[2].target == {"channel": "ci", "kind": "webhook",
                                 "url": "http://127.0.0.1:9/hook", "secret": "env:CI_SECRET",
                                 "rate": 5.0, "attempts": 8, "timeout": 10.0, "backoff": 1.0}  # fmt: skip
    assert len({n.id for n in notices}) == 3 and all(n.id.startswith("msg_") for n in notices)


def test_ids_are_the_same_for_the_same_write_and_differ_for_another() -> None:
    p, st = plan(), state()
    a = outbox_for(p, None, st, [], 1, 100.0)
    assert a == outbox_for(p, None, st, [], 1, 100.0)
    assert {n.id for n in a}.isdisjoint(n.id for n in outbox_for(p, None, st, [], 2, 100.0))


def test_critical_incidents_go_to_the_pager_and_to_chat() -> None:
    p = plan()
    before, after = state(step=3), state(step=3, phase=Phase.ROLLING_BACK, reason="errors 9%")
    events = [Event("trigger_fired", "error_rate 9% > 5% for 30s", {"trigger": "t"}),
              Event("rollback_started", "rolling back: errors 9%")]  # fmt: skip
    notices = outbox_for(p, before, after, events, 5, 200.0)
    assert [(n.kind, n.severity, n.channel) for n in notices] == [
        ("incident", "critical", "pager"), ("incident", "critical", "chat"),
        ("incident", "critical", "pager"), ("incident", "critical", "chat"),
    ]  # fmt: skip
    assert "error_rate 9% > 5% for 30s" in notices[0].text
    assert "Action taken: rolling back" in notices[0].text


def test_then_notify_is_a_warning_incident_and_the_rollout_goes_on() -> None:
    p, st = plan(), state(step=3, shifted=True)
    events = [Event("trigger_notified", "error_rate 1.5% > 1%: watching", {"trigger": "t"})]
    (n,) = outbox_for(p, st, st, events, 5, 200.0)
    assert (n.kind, n.severity, n.channel) == ("incident", "warning", "chat")
    assert "watching, the rollout goes on" in n.text


def test_a_rollback_summary_says_the_reason_and_how_fast_traffic_was_safe() -> None:
    p = plan()
    before = state(step=3, phase=Phase.ROLLING_BACK, reason="errors 9%", rollback_at=200.0)
    after = dataclasses.replace(before, phase=Phase.ROLLED_BACK, safe_at=200.35)
    (n,) = outbox_for(p, before, after, [Event("rolled_back", "rolled back")], 6, 201.0)
    assert (n.kind, n.channel) == ("rolled_back", "chat")  # a warning: not paged
    assert "Reason: errors 9%" in n.text and "350 ms" in n.text


def test_a_status_update_is_due_every_period_while_running() -> None:
    p, st = plan(), state(step=3, shifted=True)
    assert not status_due(p, st, None, 100.0 + 899)
    assert status_due(p, st, None, 100.0 + 900)
    assert not status_due(p, st, 1000.0, 1899.0) and status_due(p, st, 1000.0, 1900.0)
    assert not status_due(p, dataclasses.replace(st, phase=Phase.PROMOTED), None, 5000.0)
    figures = Figures(10.0, (900, 0.001, 120.0), (100, 0.02, 180.0), "continue: all good")
    (n,) = outbox_for(p, st, st, [], 9, 1000.0, figures)
    assert n.kind == "status"
    assert "canary 10%, stable 90%" in n.text and "errors 2.00%, p95 180 ms" in n.text
    assert "Judge: continue: all good" in n.text


def test_a_hostile_plan_field_makes_a_bounded_message() -> None:
    hostile = (
        "<script>alert(1)</script>\\u202e" + "x" * 990_000
    )  # about 1 MB: the most a plan file may be
    p = plan(hostile)
    notices = outbox_for(p, None, state(), [], 1, 100.0)
    for n in notices:
        assert len(json.dumps(n.payload(1.0))) < 20_000
    assert "<script>alert(1)</script>" in notices[0].text  # as written: sent as plain text


def test_no_notify_section_makes_no_notice() -> None:
    p = parse_plan(PLAN.split("notify:")[0] + "steps:\n  - promote\n", "p.yaml")
    assert outbox_for(p, None, state(), [Event("rollout_started", "go")], 1, 1.0) == ()


@pytest.mark.parametrize(
    ("section", "said"),
    [
        ("  channels: {chat: {apprise: 'json://x'}}\n  routes: [{to: [chat]}]\n",
         "secret reference"),
        ("  channels: {chat: {apprise: env:X}}\n  routes: [{to: [pager]}]\n",
         "'pager', which is not a channel"),
        ("  channels: {ci: {webhook: 'http://127.0.0.1:1/'}}\n  routes: [{to: [ci]}]\n",
         "needs 'secret"),
        ("  channels: {chat: {apprise: env:X}}\n  routes: [{to: [chat], events: [oops]}]\n",
         "events"),
    ],
)  # fmt: skip
def test_a_bad_notify_section_is_a_plan_error_naming_the_field(section: str, said: str) -> None:
    text = PLAN.split("notify:")[0] + "notify:\n" + section + "steps:\n  - promote\n"
    with pytest.raises(PlanError) as caught:
        parse_plan(text, "p.yaml")
    assert said in str(caught.value) and "notify" in str(caught.value)


def test_the_shorthand_sends_every_message_to_each_reference() -> None:
    text = (
        PLAN.split("notify:")[0] + "notify: {to: [env:A, env:B], every: 15m}\nsteps:\n  - promote\n"
    )
    p = parse_plan(text, "p.yaml")
    assert p.notify is not None and p.notify.every == 900.0
    notices = outbox_for(p, None, state(), [], 1, 1.0)
    assert [(n.kind, n.channel, n.target["url"]) for n in notices] == [
        ("started", "to1", "env:A"), ("started", "to2", "env:B")
    ]  # fmt: skip
