"""The deployment report: written by the controller when a rollout ends (never at the cost of
the rollout), the same data in Markdown, HTML and JSON, and every foreign string shown as text."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

from golive.analysis.snapshot import Snapshot
from golive.core.state import Confirmation, Phase, RolloutId, RolloutState, Signoff
from golive.engine.runner import Runner
from golive.plan.loader import parse_plan
from golive.plan.model import Split
from golive.report import html, jsonreport, markdown
from golive.report.gather import gather
from golive.report.model import Report, build
from golive.store.export import chain_head
from golive.store.records import RolloutRecord, StoredEvent
from golive.store.sqlite import SQLiteStore
from golive.testing import FakeClock
from tests.conftest import GOOD_PLAN
from tests.unit.engine.test_runner import PLAN, new_rollout, world

EVIL = "<script>window.pwned=1</script> | a|b \n# heading\r\n[x](javascript:alert(1)) *em* `code`"
RISKS = f"""\
risks:
  - {{risk: {json.dumps(EVIL)}, likelihood: high, impact: high, mitigation: "<b>roll back</b>"}}
"""


async def test_a_promoted_rollout_leaves_its_report_in_the_state_directory(tmp_path: Path) -> None:
    clock, store = FakeClock(), SQLiteStore(tmp_path / "g.db")
    providers, _, _ = world(clock)
    rid = await new_rollout(store, PLAN, clock)
    final = await Runner(PLAN, store, providers, clock, state_dir=tmp_path).run(rid)
    assert final.phase is Phase.PROMOTED
    written = sorted(p.name for p in (tmp_path / "reports").iterdir())
    assert written == ["r1.html", "r1.json", "r1.md"]
    doc = json.loads((tmp_path / "reports" / "r1.json").read_text())
    assert doc["outcome"] == "promoted" and doc["reason"] == ""
    assert doc["head"] == chain_head(rid, await store.events(rid)).to_json()  # the final head
    assert [s["canary_weight"] for s in doc["stages"]] == [1.0, 50.0]
    error_rows = [m for s in doc["stages"] for m in s["metrics"] if m["metric"] == "error rate"]
    assert "worse" not in {m["status"] for m in error_rows}  # stable errs 1%, the canary 0%
    assert (tmp_path / "reports" / "r1.md").stat().st_mode & 0o077 == 0


async def test_a_rolled_back_rollout_reports_why_with_its_evidence(tmp_path: Path) -> None:
    clock, store = FakeClock(), SQLiteStore(tmp_path / "g.db")
    providers, _, _ = world(clock, canary_error=0.2)
    rid = await new_rollout(store, PLAN, clock)
    final = await Runner(PLAN, store, providers, clock, state_dir=tmp_path).run(rid)
    assert final.phase is Phase.ROLLED_BACK
    doc = json.loads((tmp_path / "reports" / "r1.json").read_text())
    assert doc["outcome"] == "rolled_back" and doc["reason"] == final.reason != ""
    kinds = [e["kind"] for e in doc["rollback_evidence"]]
    assert "rollback_started" in kinds and "rolled_back" in kinds
    worse = [m for s in doc["stages"] for m in s["metrics"] if m["status"] == "worse"]
    assert any(m["metric"] == "error rate" for m in worse)
    md = (tmp_path / "reports" / "r1.md").read_text()
    assert "## Why it ended" in md and "| error rate |" in md and "worse" in md


async def test_a_report_that_cannot_be_written_is_journaled_and_the_rollout_ends_as_it_would(
    tmp_path: Path,
) -> None:
    (tmp_path / "reports").write_text("a file where the directory should be")
    clock, store = FakeClock(), SQLiteStore(tmp_path / "g.db")
    providers, router, _ = world(clock)
    rid = await new_rollout(store, PLAN, clock)
    final = await Runner(PLAN, store, providers, clock, state_dir=tmp_path).run(rid)
    assert final.phase is Phase.PROMOTED and router.served == Split(100.0)
    last = (await store.events(rid))[-1]
    assert last.kind == "report_failed" and "the report was not written" in last.message
    assert (await store.audit(rid)).verdict.value == "intact"


def hostile_report() -> Report:
    plan = parse_plan(GOOD_PLAN + RISKS, "plan.yaml")
    st = RolloutState(RolloutId("r1"), Phase.ROLLED_BACK, 3, 10.0, Split.all_stable(), 10.0,
                      reason=EVIL, started_by=EVIL)  # fmt: skip
    record = RolloutRecord(RolloutId("r1"), EVIL, EVIL, "", plan.text, st, 9, 10.0, 20.0, None)
    events = [StoredEvent(i + 1, "r1", 10.0 + i, kind, EVIL, {}, "0" * 64, f"{i:064d}")
              for i, kind in enumerate(["rollout_started", "rollback_started", "rolled_back"])]  # fmt: skip
    buckets = {10.0: 5, 50.0: 9, float("inf"): 10}
    measurements = [(10.0, 5.0, Snapshot(0, 0, {}), Snapshot(0, 0, {})),
                    (11.0, 5.0, Snapshot(100, 1, buckets), Snapshot(10, 5, buckets))]  # fmt: skip
    signoffs = [Signoff(1, "2.1.0", "go-live", "tech-lead", EVIL, True, EVIL, 10.5)]
    confirmations = [Confirmation("rollback-plan", "tech-lead", EVIL, EVIL, 10.2)]
    head = chain_head("r1", events)
    return build(record, plan, events, measurements, signoffs, confirmations, head)


def test_markdown_tables_keep_their_shape_and_markup_stays_text() -> None:
    md = markdown.render(hostile_report())
    rows = [line for line in md.splitlines() if line.startswith("|")]
    for row in rows:  # a pipe inside a cell is escaped: every row has its table's columns
        cells = re.split(r"(?<!\\)\|", row)
        assert len(cells) - 2 in (2, 4, 5, 6), row
    assert re.search(r"(?<!\\)<", md) is None and "\\<script>" in md
    assert "\n# heading" not in md and "\\[x\\](javascript" in md


def test_html_escapes_every_foreign_string_and_fetches_nothing() -> None:
    page = html.render(hostile_report())
    assert "<script>window.pwned" not in page
    assert "&lt;script&gt;window.pwned=1&lt;/script&gt;" in page
    assert "<b>roll back</b>" not in page and "&lt;b&gt;roll back&lt;/b&gt;" in page
    assert re.search(r"(src|href)=\"https?:", page) is None  # nothing from the network
    assert "default-src 'none'" in page
    assert len(re.findall(r"<script>", page)) == 2  # uPlot and the charts, nothing else runs


def test_the_json_report_keeps_the_strings_whole() -> None:
    report = hostile_report()
    doc = json.loads(jsonreport.render(report))
    assert doc["service"] == EVIL and doc["signoffs"][0]["note"] == EVIL
    assert doc["risks"][0]["risk"] == EVIL
    assert doc["stages"][0]["metrics"][1]["status"] == "worse"  # 50% errors vs 1%


def test_a_one_megabyte_string_is_clipped_in_tables_not_in_json() -> None:
    big = dataclasses.replace(hostile_report(), reason="z" * 1_000_000)
    assert "more characters)" in markdown.render(big)
    assert len(html.render(big)) < 200_000
    assert json.loads(jsonreport.render(big))["reason"] == "z" * 1_000_000


async def test_a_report_is_rebuilt_the_same_from_the_store(tmp_path: Path) -> None:
    clock, store = FakeClock(), SQLiteStore(tmp_path / "g.db")
    providers, _, _ = world(clock)
    rid = await new_rollout(store, PLAN, clock)
    await Runner(PLAN, store, providers, clock, state_dir=tmp_path).run(rid)
    again = jsonreport.render(await gather(store, rid))
    assert again == (tmp_path / "reports" / "r1.json").read_text()
