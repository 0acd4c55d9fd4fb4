"""A split alarm stays in front of people: in the live view and in 'golive status'."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from rich.console import Console

from golive.analysis.snapshot import Series
from golive.cli.status import cmd_status
from golive.cli.view import LiveView
from golive.core.actions import Decision, Observation, PassView
from golive.core.state import Event, Phase, RolloutId, RolloutState
from golive.plan.loader import parse_plan
from golive.plan.model import Split
from golive.store.sqlite import SQLiteStore
from golive.testing import FakeClock
from tests.conftest import GOOD_PLAN
from tests.unit.engine.test_runner import new_rollout

PLAN = parse_plan(GOOD_PLAN, "plan.yaml")
ALARM = (
    "split alarm: stable served nothing: the canary served all 40 requests while 1% was set, "
    "according to the proxy's counters (beyond chance: p = 1e-61); pausing"
)


def _pass(events: list[Event]) -> PassView:
    state = RolloutState(RolloutId("r1"), Phase.PAUSED, 3, 0.0, Split(1.0), 0.0, shifted=True)
    obs = Observation(0.0, Split(1.0))
    return PassView(state, obs, Decision(state), Series(), Series(), events)


def test_the_live_view_keeps_the_split_alarm_on_screen_after_later_events() -> None:
    out = Console(record=True, width=300)
    view = LiveView(PLAN, "r1", out)
    view(_pass([Event("split_alarm", ALARM)]))
    later = [Event("step_completed", f"event {i}") for i in range(10)]
    out.print(view._render(_pass(later)))
    text = out.export_text()
    assert "split alarm  " + ALARM[:60] in text and "1 so far" in text


async def test_status_shows_the_split_alarms_however_many_events_follow(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = FakeClock()
    store = SQLiteStore(tmp_path / "golive.db")
    rid = await new_rollout(store, PLAN, clock)
    record = await store.load(rid)
    events = [Event("split_alarm", ALARM), *(Event("note", f"event {i}") for i in range(20))]
    await store.commit(record.state, events, record.version, clock.now())
    args = argparse.Namespace(state_dir=tmp_path, id=rid, json=False, all=False, watch=False)
    store.close()  # the journal head is written before another process reads the record
    assert await cmd_status(args) == 0, capsys.readouterr().out
    out = capsys.readouterr().out
    assert "split alarms: 1, the last at " in out and "stable served nothing" in out
    args.json = True
    await cmd_status(args)
    assert json.loads(capsys.readouterr().out)["split_alarms"] == 1
