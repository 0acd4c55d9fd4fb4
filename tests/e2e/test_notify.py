"""The outbox across a kill -9 of a real ``golive run`` while a notification is being sent:
nothing lost, nothing sent under two ids (the receiver counts distinct webhook-ids = the
messages; an id seen twice is a retry, with the same content)."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from golive.notify.notice import Delivery
from golive.store.sqlite import SQLiteStore
from tests.conftest import free_port, start_app
from tests.receiver import receiver

pytestmark = pytest.mark.e2e
GOLIVE = str(Path(sys.executable).parent / "golive")
SECRET = "whsec_" + base64.b64encode(b"kill-nine-secret-bytes!!").decode()


def golive(*args: str, cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "T_WHSEC": SECRET, "GOLIVE_NOTIFY_WAIT": "60"}
    return subprocess.run([GOLIVE, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env)  # fmt: skip


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    golive("down", cwd=tmp_path, timeout=60)


def plan_text(stable_port: int, canary_port: int, listen: int, hook: str) -> str:
    return f"""\
service: shop
revisions:
  stable: {{version: 1.0.0, url: "http://127.0.0.1:{stable_port}"}}
  canary:
    version: 2.0.0
    url: "http://127.0.0.1:{canary_port}"
    process:
      command: ["{sys.executable}", -m, golive.demo.app, --port, "{canary_port}", --version, 2.0.0]
      ready: "http://127.0.0.1:{canary_port}/health"
route: {{router: envoy, listen: "127.0.0.1:{listen}"}}
metrics: {{interval: 500ms}}
drain: {{grace: 1s, timeout: 10s}}
notify:
  channels:
    ci: {{webhook: "{hook}", secret: env:T_WHSEC, timeout: 5s, backoff: 200ms}}
  routes:
    - {{to: [ci]}}
  every: 2s
steps:
  - deploy: canary
  - shift: 10
  - pause: {{for: 4s, reason: "<b>watch</b>"}}
  - shift: 50
  - pause: 2s
  - promote
"""


async def test_kill_9_mid_send_loses_nothing_and_duplicates_no_id(workdir: Path) -> None:
    stable, stable_port = start_app("1.0.0", latency_ms=2)
    run: subprocess.Popen[str] | None = None
    try:
        with receiver(SECRET, delay=0.7) as rx:
            plan = workdir / "plan.yaml"
            plan.write_text(plan_text(stable_port, free_port(), free_port(), rx.url))
            env = {**os.environ, "T_WHSEC": SECRET, "GOLIVE_NOTIFY_WAIT": "60"}
            run = subprocess.Popen([GOLIVE, "run", str(plan), "--json"], cwd=workdir, env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
            deadline = time.monotonic() + 60
            while not (len(rx.ids()) >= 2 and rx.busy > 0):  # a second message being answered
                assert time.monotonic() < deadline, "no notification arrived"
                assert run.poll() is None, "golive run ended before the kill"
                time.sleep(0.01)
            run.send_signal(signal.SIGKILL)
            run.wait(10)
            killed_at = len(rx.ids())
            rid = json.loads(golive("status", "--json", cwd=workdir).stdout)[0]["id"]
            resumed = golive("resume", rid, cwd=workdir, timeout=180)
            assert resumed.returncode == 0, resumed.stdout + resumed.stderr
            got = rx.all()
        store = SQLiteStore(workdir / ".golive" / "golive.db")
        try:
            outbox = await store.outbox(rid)
        finally:
            store.close()
    finally:
        if run is not None and run.poll() is None:
            run.kill()
            run.wait(5)
        stable.terminate()
        stable.wait(10)
    assert all(r.valid for r in got)
    assert {i.status for i in outbox} == {Delivery.SENT}, [i.last_error for i in outbox]
    ids = [r.id for r in got]
    assert set(ids) == {i.notice.id for i in outbox}  # nothing lost, no id the outbox lacks
    assert len(set(ids)) == len(outbox)
    kinds = [i.notice.kind for i in outbox]
    assert kinds[0] == "started" and kinds[-1] == "succeeded" and "status" in kinds
    twice = {i for i in ids if ids.count(i) > 1}
    assert twice, f"the message in flight at the kill was not sent again ({killed_at} before)"
    for msg_id in twice:  # a retry: the same message, whatever its attempt's timestamp
        datas = {json.dumps(r.json["data"], sort_keys=True) for r in got if r.id == msg_id}
        assert len(datas) == 1
