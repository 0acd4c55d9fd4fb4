"""Sign-offs by signed webhook: POST /api/v1/webhooks/signoff with a Standard Webhooks
signature. Refused (401, recorded) without a valid signature, with a stale timestamp or a
replayed id; a valid one goes through the gate's rules as the CLI's sign-off does."""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from golive.identity import Identity
from golive.notify import webhook
from golive.operations import rollouts, tokens
from golive.plan.loader import parse_plan
from golive.server.app import Context, build_app
from golive.server.webhooks import SeenFile
from golive.testing import MemoryStore
from tests.conftest import free_port

pytestmark = pytest.mark.integration
SECRET = "whsec_" + base64.b64encode(b"fedcba9876543210fedcba98").decode()
KEY = webhook.secret_key(SECRET)
URL = "/api/v1/webhooks/signoff"
PLAN = """\
service: shop
revisions:
  stable: {version: 1.0.0, url: "http://127.0.0.1:9001"}
  canary: {version: 2.0.0, url: "http://127.0.0.1:9002"}
route: {router: envoy, listen: "127.0.0.1:%d"}
checklist:
  - {id: rollback-plan, text: "Rollback plan reviewed", role: tech-lead}
approvals:
  go-live: {roles: [release-manager]}
steps:
  - approve: go-live
  - promote
"""


@dataclass
class World:
    client: httpx.AsyncClient
    store: MemoryStore
    rid: str


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    store = MemoryStore()
    now = time.time()
    admin = Identity("ada", (), "token", admin=True)
    await tokens.bootstrap(store, "ada", now)
    await tokens.add(store, admin, "rita", ("release-manager", "tech-lead"), False, None, now)
    await tokens.add(store, admin, "sam", ("release-manager",), False, None, now)
    await tokens.add(store, admin, "vic", (), False, None, now)
    plan = parse_plan(PLAN % free_port(), "plan.yaml")
    starter = Identity("sam", ("operator",), "token")
    record = await rollouts.start_or_continue(store, plan, starter, now, lambda s: None)
    app = build_app(Context(store, tmp_path, webhook_key=KEY))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        yield World(client, store, record.id)


def signed(body: dict[str, object], msg_id: str, at: float | None = None,
           key: bytes = KEY) -> tuple[bytes, dict[str, str]]:  # fmt: skip
    raw = json.dumps(body).encode()
    return raw, webhook.headers(key, msg_id, int(time.time() if at is None else at), raw)


async def post(w: World, body: dict[str, object], msg_id: str, **kw: object) -> httpx.Response:
    raw, headers = signed(body, msg_id, **kw)  # type: ignore[arg-type]
    return await w.client.post(URL, content=raw, headers=headers)


async def notes(w: World) -> list[str]:
    return [e.message for e in await w.store.events(w.rid) if e.kind == "api_request"]


def approve(w: World, user: str = "rita") -> dict[str, object]:
    return {"rollout": w.rid, "action": "approve", "user": user, "role": "release-manager"}


async def test_a_valid_signed_approval_counts_as_the_users_sign_off(world: World) -> None:
    r = await post(world, {**approve(world), "note": "ship it"}, "msg_1")
    assert r.status_code == 200, r.text
    assert r.json()["missing"] == []
    (s,) = await world.store.signoffs(world.rid)
    assert (s.by, s.role, s.source, s.note) == ("rita", "release-manager", "webhook", "ship it")
    assert "API webhook approve by rita (webhook)" in (await notes(world))[-1]


async def test_a_bad_or_missing_signature_is_refused_and_recorded(world: World) -> None:
    raw, headers = signed(approve(world), "msg_2", key=b"x" * 24)
    r = await world.client.post(URL, content=raw, headers=headers)
    assert r.status_code == 401 and "no webhook-signature matches" in r.json()["error"]
    r = await world.client.post(URL, json=approve(world))
    assert r.status_code == 401 and "missing" in r.json()["error"]
    said = await notes(world)
    assert len(said) == 2 and all("refused (401)" in m for m in said)
    assert await world.store.signoffs(world.rid) == []


async def test_an_old_or_future_timestamp_is_refused(world: World) -> None:
    r = await post(world, approve(world), "msg_3", at=time.time() - 301)
    assert r.status_code == 401 and "5 minutes old" in r.json()["error"]
    r = await post(world, approve(world), "msg_4", at=time.time() + 400)
    assert r.status_code == 401 and "future" in r.json()["error"]
    assert await world.store.signoffs(world.rid) == []
    assert len(await notes(world)) == 2


async def test_a_replayed_id_is_refused(world: World) -> None:
    body = {"rollout": world.rid, "action": "confirm", "user": "rita", "item": "rollback-plan",
            "role": "tech-lead"}  # fmt: skip
    assert (await post(world, body, "msg_5")).status_code == 200
    again = await post(world, body, "msg_5")
    assert again.status_code == 401 and "used already" in again.json()["error"]
    assert "refused (401)" in (await notes(world))[-1]
    assert len(await world.store.confirmations(world.rid)) == 1


async def test_a_user_the_gates_rules_refuse_is_refused(world: World) -> None:
    r = await post(world, approve(world, "vic"), "msg_6")  # holds no release-manager role
    assert r.status_code == 403 and "does not hold the role release-manager" in r.json()["error"]
    r = await post(world, approve(world, "sam"), "msg_7")  # started it: not its only approver
    assert r.status_code == 403 and "separation of duties" in r.json()["error"]
    r = await post(world, approve(world, "mallory"), "msg_8")  # no token: no role at all
    assert r.status_code == 403
    assert await world.store.signoffs(world.rid) == []
    assert sum("refused (403)" in m for m in await notes(world)) == 3


async def test_a_refusal_naming_no_rollout_is_logged(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "golive.server")
    r = await world.client.post(URL, content=b"<not json>", headers={"webhook-id": "x"})
    assert r.status_code == 401
    assert "signed webhook from 127.0.0.1 refused: missing" in caplog.text


async def test_a_button_for_another_gate_never_signs_this_one(world: World) -> None:
    r = await post(world, {**approve(world), "gate": "security-review"}, "msg_11")
    assert r.status_code == 409 and "not waiting at gate 'security-review'" in r.json()["error"]
    r = await post(world, {**approve(world), "gate": "go-live"}, "msg_12")
    assert r.status_code == 200, r.text


async def test_accepted_ids_are_kept_across_a_restart(tmp_path: Path) -> None:
    seen = SeenFile(tmp_path / "webhook-ids")
    now = time.time()
    assert seen.first("msg_a", now) and seen.first("msg_b", now)
    again = SeenFile(tmp_path / "webhook-ids")  # the server started again
    assert not again.first("msg_a", now + 1) and again.first("msg_c", now + 1)
    assert (tmp_path / "webhook-ids").stat().st_mode & 0o077 == 0
    later = SeenFile(tmp_path / "webhook-ids")
    assert later.first("msg_a", now + 2 * webhook.TOLERANCE + 10)  # past the window


async def test_a_server_without_a_secret_takes_no_webhook(tmp_path: Path) -> None:
    app = build_app(Context(MemoryStore(), tmp_path))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        raw, headers = signed({"rollout": "x"}, "msg_9")
        r = await client.post(URL, content=raw, headers=headers)
    assert r.status_code == 401 and "--webhook-secret" in r.json()["error"]


async def test_failed_signatures_from_one_address_are_limited(world: World) -> None:
    for i in range(10):
        raw, headers = signed(approve(world), f"bad_{i}", key=b"y" * 24)
        assert (await world.client.post(URL, content=raw, headers=headers)).status_code == 401
    r = await post(world, approve(world), "msg_10")
    assert r.status_code == 429
    assert len(await notes(world)) == 10  # past the limit, nothing more is written
