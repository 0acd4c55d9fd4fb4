"""The report and the export on a long rollout: how long they take and how big they get.

A synthetic 4-hour rollout, measured every 2 s (7,200 measurements, five stages) with one
journal entry per measurement (7,200 entries, as a chatty rollout writes), in a real SQLite
store (sealed, as golive writes it):

(a) gathering the report from the store, and rendering it as Markdown, HTML and JSON: seconds
    and bytes (the controller does all of it after the terminal commit, off the event loop);
(b) exporting the journal and verifying the export (no key; then with the key): seconds, bytes.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from tests.conftest import GOOD_PLAN

from golive.analysis.snapshot import Snapshot
from golive.core.state import Event, Phase, RolloutId, RolloutState
from golive.plan.loader import parse_plan
from golive.plan.model import Split
from golive.report.gather import FORMATS, gather, render
from golive.store.export import export_text
from golive.store.exportcheck import verify_export
from golive.store.records import RolloutRecord
from golive.store.sqlite import SQLiteStore

SECONDS, INTERVAL = 4 * 3600, 2.0
WEIGHTS = (1.0, 5.0, 25.0, 50.0, 100.0)


def snapshot(requests: int, errors: int) -> Snapshot:
    bounds = (5.0, 10.0, 25.0, 50.0, 100.0, 250.0, float("inf"))
    shares = (0.05, 0.3, 0.7, 0.92, 0.98, 0.995, 1.0)
    return Snapshot(
        requests, errors, {b: int(requests * s) for b, s in zip(bounds, shares, strict=True)}
    )


async def fill(store: SQLiteStore) -> str:
    plan = parse_plan(GOOD_PLAN, "plan.yaml")
    st = RolloutState(RolloutId("bench-1"), Phase.PROGRESSING, 0, 0.0, Split.all_stable(), 0.0)
    record = RolloutRecord(st.id, "checkout", "plan.yaml", "", plan.text, st, 1, 0.0, 0.0, None)
    await store.create(record, [Event("rollout_started", "bench")], 0.0)
    version, n = 1, int(SECONDS / INTERVAL)
    for i in range(1, n + 1):
        at, weight = i * INTERVAL, WEIGHTS[min(len(WEIGHTS) - 1, i * len(WEIGHTS) // n)]
        canary = int(i * 40 * weight / 100)
        m = (at, weight, snapshot(i * 400 - canary, i // 3), snapshot(canary, canary // 300))
        await store.add_measurement("bench-1", m)
        event = Event("metrics", f"stable {400 - canary // i} rps, canary at {weight:g}%")
        version = await store.commit(st, [event], version, at)
    return "bench-1"


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "golive.db")
        t0 = time.perf_counter()
        rid = await fill(store)
        print(f"setup: {SECONDS / 3600:g} h rollout, measured every {INTERVAL:g} s "
              f"({time.perf_counter() - t0:.1f} s to write)")  # fmt: skip
        t0 = time.perf_counter()
        report = await gather(store, rid)
        print(f"(a) gather from the store: {time.perf_counter() - t0:.2f} s "
              f"({len(report.timeline)} entries, {len(report.series)} intervals, "
              f"{len(report.stages)} stages)")  # fmt: skip
        for fmt in FORMATS:
            t0 = time.perf_counter()
            text = render(report, fmt)
            size = len(text.encode()) / 1e6
            print(f"    render {fmt:4}: {time.perf_counter() - t0:.2f} s, {size:.1f} MB")
        events = await store.events(rid)
        t0 = time.perf_counter()
        text = export_text({"key_id": store.seal.key_id}, rid, events)
        print(f"(b) export: {time.perf_counter() - t0:.2f} s, {len(text) / 1e6:.1f} MB, "
              f"{len(events)} entries")  # fmt: skip
        for label, seal in (("without the key", None), ("with the key", store.seal)):
            t0 = time.perf_counter()
            found = verify_export(text, None, seal)
            assert found.ok, found.problem
            print(f"    verify {label}: {time.perf_counter() - t0:.2f} s")
        store.close()


if __name__ == "__main__":
    asyncio.run(main())
