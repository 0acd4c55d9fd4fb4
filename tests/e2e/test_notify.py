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

import httpx
import pytest

from golive.notify import webhook
from golive.notify.notice import Delivery
from golive.store.sqlite import SQLiteStore
from tests.conftest import free_port, start_app
from tests.e2e.plans import shop_plan
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
    return (
        shop_plan(stable_port, canary_port, listen)
        + f"""\
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
    )


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
    # the summary carries the journal's head: a third party checks an export against it
    (summary,) = {json.dumps(r.json["data"]) for r in got if r.json["type"] == "rollout.succeeded"}
    head = json.loads(summary)["journal_head"]
    assert head.startswith("sha256:") and head in json.loads(summary)["text"]
    exported = golive("audit", "export", rid, "--output", "export.jsonl", cwd=workdir)
    assert exported.returncode == 0, exported.stderr
    checked = golive("audit", "verify", "--file", "export.jsonl", "--head", head, cwd=workdir)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_golive_serve_sends_notifications_and_takes_a_signed_sign_off(tmp_path: Path) -> None:
    """golive serve runs the outbox worker (the gate's waiting message reaches a receiver) and
    takes the sign-off by signed webhook over HTTP; a replay of it is refused."""
    from tests.e2e.test_serve import golive as cli
    from tests.e2e.test_serve import plan as serve_plan
    from tests.e2e.test_serve import wait_until

    admin = cli("token", "init", "ada", cwd=tmp_path).stdout.split()[-1]
    olga = cli("token", "add", "olga", "--role", "operator", cwd=tmp_path, token=admin)
    rita = cli("token", "add", "rita", "--role", "release-manager", cwd=tmp_path, token=admin)
    assert olga.returncode == 0 and rita.returncode == 0, olga.stderr + rita.stderr
    operator = olga.stdout.split()[-1]
    stable, stable_port = start_app("1.0.0", latency_ms=2)
    port = free_port()
    env = {**os.environ, "T_WHSEC": SECRET, "GOLIVE_HOOK_SECRET": SECRET}
    env.pop("GOLIVE_TOKEN", None)
    log = (tmp_path / "serve.log").open("w")
    server: subprocess.Popen[bytes] | None = None
    try:
        with receiver(SECRET) as rx, httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
            text = serve_plan(stable_port, free_port()).replace("steps:", (
                f'notify:\n  channels:\n    ci: {{webhook: "{rx.url}", secret: env:T_WHSEC}}\n'
                "  routes:\n    - {to: [ci]}\nsteps:"
            ), 1)  # fmt: skip
            server = subprocess.Popen(
                [GOLIVE, "serve", "--listen", f"127.0.0.1:{port}",
                 "--webhook-secret", "env:GOLIVE_HOOK_SECRET"],
                cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
            wait_until("the server answers", lambda: _up(http), 30)
            made = http.post("/api/v1/rollouts", content=text, headers={
                "authorization": f"Bearer {operator}", "content-type": "application/yaml"})  # fmt: skip
            assert made.status_code == 201, made.text
            rid = made.json()["id"]
            types = lambda: [r.json["type"] for r in rx.all()]  # noqa: E731
            wait_until("the gate's message", lambda: "rollout.waiting" in types())
            body = json.dumps({"rollout": rid, "action": "approve", "user": "rita",
                               "role": "release-manager", "note": "from chat"}).encode()  # fmt: skip
            headers = webhook.headers(webhook.secret_key(SECRET), "msg_chat_1", int(time.time()),
                                      body)  # fmt: skip
            signed = http.post("/api/v1/webhooks/signoff", content=body, headers=headers)
            assert signed.status_code == 200, signed.text
            replay = http.post("/api/v1/webhooks/signoff", content=body, headers=headers)
            assert replay.status_code == 401 and "used already" in replay.json()["error"]
            auth = {"authorization": f"Bearer {operator}"}
            wait_until("the plan's pause", lambda: http.get(
                f"/api/v1/rollouts/{rid}", headers=auth).json()["state"]["phase"] == "paused")  # fmt: skip
            assert http.post(f"/api/v1/rollouts/{rid}/resume", headers=auth).status_code == 202
            wait_until("the success message", lambda: "rollout.succeeded" in types(), 90)
            page = http.get(f"/api/v1/rollouts/{rid}/journal?limit=1000", headers=auth).json()
            detail = http.get(f"/api/v1/rollouts/{rid}", headers=auth).json()
            assert all(r.valid for r in rx.all())
        journal = [e["message"] for e in page["entries"]]
        assert detail["notifications"]["failed"] == 0
        assert any("by rita (webhook)" in m for m in journal)
        assert any("refused (401)" in m for m in journal)
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(30)
            finally:
                if server.poll() is None:
                    server.kill()
                    server.wait(5)
        log.close()
        cli("down", cwd=tmp_path)
        stable.terminate()
        stable.wait(10)


def _up(http: httpx.Client) -> bool:
    try:
        return http.get("/api/v1/health").status_code == 200
    except httpx.TransportError:
        return False
