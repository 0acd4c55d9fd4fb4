"""Notifications end to end in one process: the outbox written with the rollout's events, the
worker sending to real receivers on 127.0.0.1 (a signed webhook receiver, Apprise to a JSON
receiver and to an SMTP server), retries then a failure recorded and shown by golive status."""

from __future__ import annotations

import base64
import dataclasses
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message

from golive.core.state import Event, Phase
from golive.identity import Identity
from golive.notify.notice import Delivery
from golive.notify.route import outbox_for
from golive.notify.worker import Worker
from golive.operations import rollouts
from golive.operations import status as status_op
from golive.plan.loader import parse_plan
from golive.store.leases import owner_id
from golive.store.sqlite import SQLiteStore
from tests.conftest import free_port
from tests.receiver import receiver

pytestmark = pytest.mark.integration
SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef01234567").decode()
GOLIVE = str(Path(sys.executable).parent / "golive")

PLAN = """\
service: shop
revisions:
  stable: {version: 1.0.0, url: "http://127.0.0.1:9001"}
  canary: {version: "2.0.0", url: "http://127.0.0.1:9002"}
approvals:
  go-live: {roles: [release-manager]}
notify:
  channels:
%s
  routes:
    - {to: [%s]}
steps:
  - approve: go-live
  - pause: {reason: "%s"}
  - promote
"""
SAM = Identity("sam", ("operator",), "token")


def plan_with(channels: str, names: str, reason: str = "look") -> object:
    return parse_plan(PLAN % (channels, names, reason), "plan.yaml")


async def started(store: SQLiteStore, plan: object) -> str:
    record = await rollouts.start_or_continue(store, plan, SAM, time.time(), lambda s: None)  # type: ignore[arg-type]
    return record.id


async def settle(worker: Worker, store: SQLiteStore, rid: str, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if all(i.status is not Delivery.PENDING for i in await store.outbox(rid)):
            return
        await worker.round()
        time.sleep(0.02)
    raise AssertionError(
        f"the outbox did not settle: {[(i.status, i.attempts, i.last_error) for i in await store.outbox(rid)]}"
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    s = SQLiteStore(tmp_path / "golive.db")
    yield s
    s.close()


async def test_a_signed_webhook_gets_each_message_once_with_a_valid_signature(
    store: SQLiteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("T_WHSEC", SECRET)
    with receiver(SECRET) as rx:
        chan = f'    ci: {{webhook: "{rx.url}", secret: env:T_WHSEC}}'
        rid = await started(store, plan_with(chan, "ci"))
        worker = Worker(SQLiteStore(store.path), owner_id(os.getpid()))
        await settle(worker, store, rid)
        await worker.close()
        got = rx.all()
    assert [r.json["type"] for r in got] == ["rollout.started", "rollout.waiting"]
    assert all(r.valid for r in got)
    outbox = await store.outbox(rid)
    assert sorted(r.id for r in got) == sorted(i.notice.id for i in outbox)
    assert {i.status for i in outbox} == {Delivery.SENT}
    data = got[0].json["data"]
    assert isinstance(data, dict) and data["rollout"] == rid and data["canary"] == "2.0.0"
    assert SECRET not in got[0].body.decode() and "T_WHSEC" not in got[0].body.decode()


async def test_a_failing_receiver_is_retried_then_the_failure_is_recorded_and_shown(
    store: SQLiteStore, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("T_WHSEC", SECRET)
    with receiver(SECRET, status=500) as rx:
        chan = (f'    ci: {{webhook: "{rx.url}", secret: env:T_WHSEC, attempts: 3, '
                'backoff: 50ms}')  # fmt: skip
        rid = await started(store, plan_with(chan, "ci"))
        worker = Worker(SQLiteStore(store.path), owner_id(os.getpid()))
        await settle(worker, store, rid)
        await worker.close()
        ids = rx.ids()
    outbox = await store.outbox(rid)
    assert {i.status for i in outbox} == {Delivery.FAILED}
    assert all(ids.count(i.notice.id) == 3 for i in outbox)  # the same id on each retry
    assert "after 3 attempts" in outbox[0].last_error and "answered 500" in outbox[0].last_error
    doc = (await status_op.status(store, rid)).to_json()["notifications"]
    assert isinstance(doc, dict) and doc["failed"] == 2 and doc["sent"] == 0
    shown = subprocess.run([GOLIVE, "--state-dir", str(tmp_path), "status", rid],
                           capture_output=True, text=True, timeout=60)  # fmt: skip
    assert "notifications: 0 sent, 0 pending, 2 failed" in shown.stdout, shown.stdout
    assert "failed started to ci" in shown.stdout


async def test_a_slow_receiver_times_out_and_is_retried(
    store: SQLiteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("T_WHSEC", SECRET)
    with receiver(SECRET, delay=1.0) as rx:
        chan = (f'    ci: {{webhook: "{rx.url}", secret: env:T_WHSEC, attempts: 2, '
                'backoff: 50ms, timeout: 200ms}')  # fmt: skip
        rid = await started(store, plan_with(chan, "ci"))
        worker = Worker(SQLiteStore(store.path), owner_id(os.getpid()))
        t0 = time.monotonic()
        await settle(worker, store, rid)
        took = time.monotonic() - t0
        await worker.close()
    outbox = await store.outbox(rid)
    assert {i.status for i in outbox} == {Delivery.FAILED}
    assert "ReadTimeout" in outbox[0].last_error
    assert took < 10  # each attempt bounded by its timeout


async def test_apprise_to_a_json_receiver_and_to_an_smtp_server(
    store: SQLiteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    mails: list[object] = []

    class Keep(Message):  # type: ignore[misc]
        def handle_message(self, message: object) -> None:
            mails.append(message)

    smtp_port = free_port()
    smtp = Controller(Keep(), hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    try:
        with receiver() as rx:
            monkeypatch.setenv("T_JSON", f"json://127.0.0.1:{rx.port}/apprise")
            monkeypatch.setenv(
                "T_MAIL",
                f"mailto://127.0.0.1:{smtp_port}?mode=insecure"
                "&from=golive@example.test&to=ops@example.test",
            )
            chans = "    chat: {apprise: env:T_JSON}\n    mail: {apprise: env:T_MAIL}"
            hostile = "<b>bold</b> & <script>x</script>"
            rid = await started(store, plan_with(chans, "chat, mail", hostile))
            worker = Worker(SQLiteStore(store.path), owner_id(os.getpid()))
            await settle(worker, store, rid, 60)
            await worker.close()
            got = rx.all()
    finally:
        smtp.stop()
    outbox = await store.outbox(rid)
    assert {i.status for i in outbox} == {Delivery.SENT}, [i.last_error for i in outbox]
    assert [r.path for r in got] == ["/apprise", "/apprise"]
    first = got[0].json
    assert str(first["title"]).startswith("Rollout started: shop 1.0.0 -> 2.0.0")
    message = str(first["message"])
    assert hostile in message  # plain text, as written: the receiver decides how to show it
    assert any(i.notice.id in message for i in outbox)  # the idempotency key closes it
    assert len(mails) == 2
    assert "Rollout started" in str(mails[0]["Subject"])  # type: ignore[index]


async def test_a_secret_never_reaches_a_message(
    store: SQLiteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plan cannot hold a secret (it is refused); an event that quotes a channel's own URL
    (an operator's rollback reason pasted from a chat, an error from a library) goes out with
    the URL's credentials masked."""
    with receiver() as rx:
        url = f"json://user:s3cr3t-token-value@127.0.0.1:{rx.port}/hook"
        monkeypatch.setenv("T_JSON", url)
        plan = plan_with("    chat: {apprise: env:T_JSON}", "chat")
        rid = await started(store, plan)
        record = await store.load(rid)
        before = record.state
        after = dataclasses.replace(before, phase=Phase.ROLLING_BACK, reason=f"see {url}",
                                    rollback_at=time.time())  # fmt: skip
        events = [Event("rollback_started", f"rolling back: see {url}")]
        now = time.time()
        notices = outbox_for(plan, before, after, events, record.version + 1, now)  # type: ignore[arg-type]
        await store.commit(after, events, record.version, now, notices=notices)
        worker = Worker(SQLiteStore(store.path), owner_id(os.getpid()))
        await settle(worker, store, rid)
        await worker.close()
        got = rx.all()
    assert len(got) == 3 and "Rolling back" in str(got[2].json["title"])
    assert all("s3cr3t-token-value" not in r.body.decode() for r in got)


async def test_an_apprise_failure_says_what_apprise_saw_without_the_secret(
    store: SQLiteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("T_JSON", f"json://user:s3cretpw@127.0.0.1:{free_port()}/hook")
    chan = "    chat: {apprise: env:T_JSON, attempts: 1}"
    rid = await started(store, plan_with(chan, "chat"))
    worker = Worker(SQLiteStore(store.path), owner_id(os.getpid()))
    await settle(worker, store, rid)
    await worker.close()
    (first, *_) = await store.outbox(rid)
    assert first.status is Delivery.FAILED
    assert "Connection error" in first.last_error and "s3cretpw" not in first.last_error
