"""Readers never take a running controller's record away: another process that opens and
closes the state database again and again (``golive status`` in a loop, a dashboard, a
script) while ``golive run`` drives a rollout. With a second connection of golive run's own
on the same file (its notification worker's), such a reader deleted the write-ahead log under
it, and every commit after that went to a file nobody else could read."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from golive.store.sqlite import SQLiteStore
from tests.conftest import free_port, start_app
from tests.e2e.plans import shop_plan
from tests.e2e.test_cli import GOLIVE, golive

pytestmark = pytest.mark.e2e
STEPS = "steps:\n  - deploy: canary\n  - shift: 50\n  - pause\n"


async def read_again_and_again(db: Path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    for _ in range(1000):
        if time.monotonic() > deadline:
            return
        if db.exists():
            store = SQLiteStore(db)
            try:
                for record in await store.recent(5):
                    if not isinstance(record, Exception):
                        await store.events(record.id)
            finally:
                store.close()
        await asyncio.sleep(0.05)


def test_a_reader_opening_and_closing_the_database_never_hides_the_controllers_commits(
    tmp_path: Path,
) -> None:
    stable, stable_port = start_app("1.0.0", latency_ms=2)
    (tmp_path / "plan.yaml").write_text(shop_plan(stable_port, free_port(), free_port()) + STEPS)
    run = subprocess.Popen(
        [GOLIVE, "run", "plan.yaml", "--json"], cwd=tmp_path, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    try:
        asyncio.run(read_again_and_again(tmp_path / ".golive" / "golive.db", 12.0))
        with sqlite3.connect(tmp_path / ".golive" / "golive.db", timeout=5) as db:
            kinds = [k for (k,) in db.execute("SELECT kind FROM events ORDER BY seq")]
        assert "split_applied" in kinds and "paused" in kinds, kinds
        shown = golive("status", "--json", cwd=tmp_path)
        assert json.loads(shown.stdout)[0]["phase"] == "paused", shown.stdout
    finally:
        run.terminate()
        run.wait(30)
        golive("down", cwd=tmp_path, timeout=60)
        stable.terminate()
        stable.wait(10)
