"""The runner writes the notices of each commit with it: a ``then: notify`` trigger is an
incident, a status goes out every ``notify.every``, and the end is summed up."""

from __future__ import annotations

from pathlib import Path

from golive.core.state import Phase
from golive.engine.runner import Runner
from golive.plan.loader import parse_plan
from golive.testing import FakeClock, MemoryStore
from tests.conftest import GOOD_PLAN
from tests.unit.engine.test_runner import new_rollout, world

NOTIFY = """\
notify:
  channels:
    chat: {apprise: env:CHAT}
    pager: {webhook: "http://127.0.0.1:9/p", secret: env:PAGER}
  routes:
    - {severity: critical, to: [pager]}
    - {to: [chat]}
  every: 20s
"""
PLAN = parse_plan(
    GOOD_PLAN.replace(
        '  - {when: "error_rate > 5%", for: 10s, then: rollback}\n',
        '  - {when: "error_rate > 5%", for: 10s, then: rollback}\n'
        '  - {when: "error_rate > 1%", for: 2s, then: notify}\n',
    )
    + NOTIFY,
    "plan.yaml",
)


async def test_a_notify_trigger_and_the_status_updates_reach_the_outbox(tmp_path: Path) -> None:
    clock = FakeClock()
    store = MemoryStore()
    providers, _, _ = world(clock, canary_error=0.02)
    rid = await new_rollout(store, PLAN, clock)
    final = await Runner(PLAN, store, providers, clock, state_dir=tmp_path).run(rid)
    assert final.phase is Phase.PROMOTED
    items = await store.outbox(rid)
    kinds = [(i.notice.kind, i.notice.channel) for i in items]
    assert ("incident", "chat") in kinds and ("incident", "pager") not in kinds  # a warning
    assert kinds.count(("status", "chat")) >= 2
    assert kinds[-1] == ("succeeded", "chat")
    incident = next(i.notice for i in items if i.notice.kind == "incident")
    assert "error_rate" in incident.text and "watching" in incident.text
    noted = [e for e in await store.events(rid) if e.kind == "trigger_notified"]
    assert len(noted) == sum(1 for k in kinds if k[0] == "incident")  # one per recorded event
    status = next(i.notice for i in items if i.notice.kind == "status")
    assert "stable:" in status.text and "Judge:" in status.text
    assert len({i.notice.id for i in items}) == len(items)


async def test_a_rollback_pages_and_sums_up(tmp_path: Path) -> None:
    clock = FakeClock()
    store = MemoryStore()
    providers, _, _ = world(clock, canary_error=0.2)
    rid = await new_rollout(store, PLAN, clock)
    final = await Runner(PLAN, store, providers, clock, state_dir=tmp_path).run(rid)
    assert final.phase is Phase.ROLLED_BACK
    items = [i.notice for i in await store.outbox(rid)]
    paged = [n for n in items if n.channel == "pager"]
    assert paged and all(n.severity == "critical" for n in paged)
    summary = [n for n in items if n.kind == "rolled_back"]
    assert len(summary) == 1 and "ms after the rollback decision" in summary[0].text
    safe = next(e for e in await store.events(rid) if e.kind == "traffic_safe")
    said = f"Traffic was safe {safe.data['since_decision_ms']:.0f} ms after"  # the read-back's
    assert said in summary[0].text
