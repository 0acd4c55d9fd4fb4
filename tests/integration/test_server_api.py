"""The API tried by someone who wants to break it: oversized and mislabelled bodies, guessed
tokens, hostile plan text, an internal error, and what the journal and the status page say."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from golive.analysis.snapshot import Snapshot
from golive.core.state import Phase
from golive.identity import Identity
from golive.operations import rollouts, status, tokens
from golive.plan.loader import parse_plan
from golive.server.app import Context, build_app
from golive.store.audit import Verdict
from golive.store.sqlite import SQLiteStore
from tests.conftest import free_port
from tests.integration.test_server_routes import PLAN

HOSTILE = "<script>alert(1)</script>\x1b[2J\u202e"
HOSTILE_PLAN = PLAN.replace('"Rollback plan reviewed"', json.dumps(HOSTILE + "x" * 100)).replace(
    "  - pause\n", f"  - pause: {{reason: {json.dumps(HOSTILE)}}}\n"
)


@dataclass
class Api:
    store: SQLiteStore
    ctx: Context
    app: object
    tokens: dict[str, str]
    rid: str

    def client(self, address: str = "10.1.2.3") -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, client=(address, 40000))  # type: ignore[arg-type]
        return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1")

    def auth(self, who: str) -> dict[str, str]:
        return {"authorization": f"Bearer {self.tokens[who]}"}


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    store = SQLiteStore(tmp_path / "golive.db")
    now = time.time()
    admin = await tokens.bootstrap(store, "ada", now)
    root = Identity("ada", (), "token", admin=True)
    made = {"admin": admin}
    for user, roles in (("vic", ()), ("olga", ("operator",)), ("rita", ("release-manager",))):
        made[user] = await tokens.add(store, root, user, roles, False, None, now)
    plan = parse_plan(HOSTILE_PLAN % free_port(), "plan.yaml")
    starter = Identity("olga", ("operator",), "token")
    record = await rollouts.start_or_continue(store, plan, starter, now, lambda s: None)
    ctx = Context(store, tmp_path, events_max_seconds=0.3, events_poll=0.05)
    yield Api(store, ctx, build_app(ctx), made, record.id)
    store.close()


async def test_refused_and_accepted_actions_are_journaled_with_who_and_from_where(
    api: Api,
) -> None:
    async with api.client("10.1.2.3") as c:
        refused = await c.post(f"/api/v1/rollouts/{api.rid}/abort", headers=api.auth("vic"))
        assert refused.status_code == 403 and "needs operator" in refused.json()["error"]
        ok = await c.post(
            f"/api/v1/rollouts/{api.rid}/pause", headers=api.auth("olga"),
            json={"reason": "looking at the logs"},
        )  # fmt: skip
        assert ok.status_code == 202, ok.text
        nobody = await c.post(f"/api/v1/rollouts/{api.rid}/abort")
        assert nobody.status_code == 401
    notes = [e for e in await api.store.events(api.rid) if e.kind == "api_request"]
    assert [(n.data["by"], n.data["from"], n.data["status"]) for n in notes] == [
        ("vic", "10.1.2.3", 403),
        ("olga", "10.1.2.3", 202),
    ]  # the unauthenticated one is logged, not written into the sealed journal
    assert "abort by vic (token) from 10.1.2.3: refused (403)" in notes[0].message
    kinds = [e.kind for e in await api.store.events(api.rid)]
    assert "command" in kinds  # the pause itself, recorded by commands.request as for the CLI
    assert (await api.store.audit(api.rid)).verdict is Verdict.INTACT


async def test_failed_authentication_is_rate_limited_per_address(api: Api) -> None:
    async with api.client("10.9.9.9") as guesser, api.client("10.0.0.1") as other:
        for n in range(10):
            bad = {"authorization": f"Bearer glv_guess{n}"}
            assert (await guesser.get("/api/v1/rollouts", headers=bad)).status_code == 401
        limited = await guesser.get("/api/v1/rollouts", headers={"authorization": "Bearer x"})
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        # the right token from the same address waits too: the guesser may have found it
        assert (await guesser.get("/api/v1/rollouts", headers=api.auth("vic"))).status_code == 429
        assert (await other.get("/api/v1/rollouts", headers=api.auth("vic"))).status_code == 200
        assert (await guesser.get("/status/shop.json")).status_code == 200  # public stays open


async def test_bodies_over_one_megabyte_are_refused_while_read(api: Api) -> None:
    yaml_type = {**api.auth("olga"), "content-type": "application/yaml"}

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(40):  # 2 MB with no Content-Length: counted as it arrives
            yield b"#" * 52_429

    async with api.client() as c:
        big = await c.post("/api/v1/rollouts", headers=yaml_type, content=b"a" * 2_000_000)
        assert big.status_code == 413
        streamed = await c.post("/api/v1/rollouts", headers=yaml_type, content=chunks())
        assert streamed.status_code == 413 and streamed.json()["error"].startswith("request body")
        lying = await c.post(
            f"/api/v1/rollouts/{api.rid}/pause", headers={**api.auth("olga"),
            "content-type": "application/json", "content-length": "-1"}, content=b"{}",
        )  # fmt: skip
        assert lying.status_code in (400, 413)
        # a megabyte of plan, just under the limit, is read and judged as a plan
        padded = (PLAN % free_port()).replace("shop", "cart") + "#" * (999_000 - len(PLAN))
        judged = await c.post("/api/v1/rollouts", headers=yaml_type, content=padded.encode())
        assert judged.status_code == 201, judged.text[:300]
    started = await api.store.events(judged.json()["id"])
    assert started[-1].message == "API submit by olga (token) from 10.1.2.3: started"


async def test_wrong_content_type_is_415_and_unreadable_json_is_400(api: Api) -> None:
    url = f"/api/v1/rollouts/{api.rid}/pause"
    op = api.auth("olga")
    async with api.client() as c:
        plain = await c.post(url, headers={**op, "content-type": "text/plain"}, content=b"hi")
        assert plain.status_code == 415
        plan_as_json = await c.post("/api/v1/rollouts", headers=op, json={"service": "x"})
        assert plan_as_json.status_code == 415
        for body, why in ((b"{", "not valid JSON"), (b"[1]", "JSON object"),
                          (b'{"reason": 5}', "reason must be a string"),
                          (b"[" * 100_000, "not valid JSON")):  # fmt: skip
            r = await c.post(url, headers={**op, "content-type": "application/json"}, content=body)
            assert r.status_code == 400 and why in r.json()["error"], r.text
        ctl = await c.post(url, headers=op, json={"reason": "a\nforged journal line"})
        assert ctl.status_code == 409 and "control character" in ctl.json()["error"]


async def test_an_invalid_plan_is_422_with_line_column_and_field(api: Api) -> None:
    bad = (PLAN % free_port()).replace("shift: 10", "shift: 500")
    headers = {**api.auth("olga"), "content-type": "application/yaml"}
    async with api.client() as c:
        r = await c.post("/api/v1/rollouts", headers=headers, content=bad)
        assert r.status_code == 422
        assert r.json()["issues"] == [
            {"line": 12, "column": 12, "field": "steps[1].shift.weight",
             "message": "input should be less than or equal to 100, got 500"}
        ]  # fmt: skip
        binary = await c.post("/api/v1/rollouts", headers=headers, content=b"service: \xff\n")
        assert binary.status_code == 422 and "not UTF-8" in binary.json()["issues"][0]["message"]
        same = await c.post("/api/v1/rollouts", headers=headers, content=HOSTILE_PLAN % 1)
        assert same.status_code == 409  # another plan while shop's rollout is active


async def test_unknown_things_are_json_404_and_405(api: Api) -> None:
    async with api.client() as c:
        for url in ("/api/v1/rollouts/nope-1", "/api/v1/rollouts/nope-1/journal"):
            r = await c.get(url, headers=api.auth("vic"))
            assert r.status_code == 404 and "nope-1" in r.json()["error"]
        assert (await c.get("/api/v2/anything")).json() == {"error": "Not Found"}
        assert (await c.put(f"/api/v1/rollouts/{api.rid}/pause")).status_code == 405
        hostile = await c.get("/status/%3Cscript%3E")
        assert hostile.status_code == 404 and "script" not in hostile.text


async def test_an_internal_error_is_a_generic_500_and_its_details_go_to_the_log(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("password=hunter2 in a stack frame")

    monkeypatch.setattr(status, "listing", broken)
    with caplog.at_level(logging.ERROR, "golive.server"):
        async with api.client() as c:
            r = await c.get("/api/v1/rollouts", headers=api.auth("vic"))
    assert r.status_code == 500 and r.headers["content-type"] == "application/json"
    assert "hunter2" not in r.text and "Traceback" not in r.text
    assert "hunter2" in caplog.text


async def test_the_status_page_says_no_name_figure_id_or_plan_text(api: Api) -> None:
    async with api.client() as c:
        page = await c.get("/status/shop")
        doc = (await c.get("/status/shop.json")).json()
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    for secret in (api.rid, "olga", "2.0.0", "1.0.0", "127.0.0.1", "go-live", "<script", "\x1b",
                   "alert", "Rollback plan", "\u202e"):  # fmt: skip
        assert secret not in page.text and secret not in json.dumps(doc), secret
    assert doc["state"] == "in progress" and doc["incident"] is None
    assert doc["phases"] == [
        {"title": "Approval", "state": "in progress"},
        {"title": "10% rollout", "state": "pending"},
        {"title": "100% rollout", "state": "pending"},
    ]
    assert doc["expected_end"] is None  # a person must act first


async def test_after_a_rollback_the_status_page_shows_an_incident(api: Api) -> None:
    record = await api.store.load(api.rid)
    ended = dataclasses.replace(
        record.state, phase=Phase.ROLLED_BACK, step=1, shifted=True, reason="error rate 9%"
    )
    await api.store.commit(ended, [], record.version, time.time())
    async with api.client() as c:
        doc = (await c.get("/status/shop.json")).json()
        page = (await c.get("/status/shop")).text
    assert doc["state"] == "rolled back" and "rolled back" in doc["incident"]
    assert [p["state"] for p in doc["phases"]] == ["done", "stopped", "cancelled"]
    assert 'class="incident"' in page and "9%" not in page


async def test_events_carry_journal_ids_and_resume_after_last_event_id(api: Api) -> None:
    await api.store.add_measurement(api.rid, (time.time(), 10.0, Snapshot(5, 0), Snapshot(1, 0)))
    url = f"/api/v1/rollouts/{api.rid}/events"
    api.ctx.keepalive = 0.1  # quiet for longer than this: a comment keeps proxies from cutting
    async with api.client() as c:
        first = await c.get(url, headers=api.auth("vic"))
        assert ": keep-alive" in first.text
        assert first.headers["content-type"].startswith("text/event-stream")
        ids = [int(line[4:]) for line in first.text.splitlines() if line.startswith("id: ")]
        assert len(ids) >= 2 and ids == sorted(ids)
        assert "event: measurement" in first.text
        assert 'event: end\ndata: {"reason": "reconnect"}' in first.text  # bounded
        again = await c.get(url, headers={**api.auth("vic"), "last-event-id": str(ids[0])})
        resumed = [int(line[4:]) for line in again.text.splitlines() if line.startswith("id: ")]
        assert resumed == ids[1:]
        bad = await c.get(url, headers={**api.auth("vic"), "last-event-id": "1\nid: 9"})
        assert bad.status_code == 400
        assert api.ctx.streams == 0  # every stream that ended let go of its place
        api.ctx.streams = api.ctx.max_streams  # as many as allowed are open
        full = await c.get(url, headers=api.auth("vic"))
        assert full.status_code == 429 and full.headers["retry-after"] == "5"
    for line in first.text.splitlines():  # hostile text stays inside one JSON data line
        assert not line.startswith(("id:", "event:", "data:", "retry:", ":")) or line


async def test_many_streams_on_one_rollout_share_one_read_of_the_store(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by ``scripts/bench serve dashboard``: each stream read the journal and read and
    verified every measurement itself, twice a second; 100 dashboards slowed the API (p99 in
    seconds) and the controller. The streams of one rollout now share one read per poll."""
    reads = 0
    measurements = api.store.measurements

    async def counted(rollout_id: str) -> list[object]:
        nonlocal reads
        reads += 1
        return await measurements(rollout_id)  # type: ignore[return-value]

    monkeypatch.setattr(api.store, "measurements", counted)
    api.ctx.events_max_seconds, api.ctx.events_poll = 0.5, 0.1
    url = f"/api/v1/rollouts/{api.rid}/events"
    async with api.client() as c:
        answers = await asyncio.gather(*(c.get(url, headers=api.auth("vic")) for _ in range(20)))
    assert all(a.status_code == 200 and "event: journal" in a.text for a in answers)
    # 20 streams x ~6 polls each read alone would be ~120 reads; shared, about one per poll
    assert reads <= 30, reads
    assert api.ctx.feeds == {} and api.ctx.streams == 0  # let go once no stream follows


async def test_a_token_holding_the_gate_role_approves_and_the_detail_shows_it(api: Api) -> None:
    async with api.client() as c:
        ok = await c.post(
            f"/api/v1/rollouts/{api.rid}/approve", headers=api.auth("rita"),
            json={"role": "release-manager", "note": "ok"},
        )  # fmt: skip
        assert ok.status_code == 200 and ok.json()["missing"] == []
        twice = await c.post(
            f"/api/v1/rollouts/{api.rid}/approve", headers=api.auth("rita"),
            json={"role": "release-manager"},
        )  # fmt: skip
        assert twice.status_code == 409
        no_reason = await c.post(
            f"/api/v1/rollouts/{api.rid}/reject", headers=api.auth("rita"),
            json={"role": "release-manager"},
        )  # fmt: skip
        assert no_reason.status_code == 400
        detail = (await c.get(f"/api/v1/rollouts/{api.rid}", headers=api.auth("vic"))).json()
    assert detail["signoffs"][0]["by"] == "rita"
    assert detail["steps"][0] == {"number": 1, "step": "approve go-live", "state": "current"}
    assert detail["versions"] == {"stable": "1.0.0", "canary": "2.0.0"}
    assert "events" not in detail and detail["journal"]["entries"] >= 3


async def test_tokens_are_minted_once_and_never_listed_with_their_secret(api: Api) -> None:
    async with api.client() as c:
        made = await c.post(
            "/api/v1/tokens", headers=api.auth("admin"), json={"user": "sec", "roles": ["security"]}
        )
        assert made.status_code == 201 and made.json()["token"].startswith("glv_")
        listed = await c.get("/api/v1/tokens", headers=api.auth("admin"))
        assert made.json()["token"] not in listed.text
        assert all(t not in listed.text for t in api.tokens.values())
        bad_role = await c.post(
            "/api/v1/tokens", headers=api.auth("admin"), json={"user": "x", "roles": ["Bad Role"]}
        )
        assert bad_role.status_code == 409


async def test_a_rollback_the_store_cannot_record_goes_to_the_router_first(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from golive.errors import StateError
    from golive.operations import commands
    from golive.traffic.base import Verification

    async def full(*args: object, **kwargs: object) -> None:
        raise StateError("state database error: database or disk is full")

    straight: list[str] = []

    async def to_router(store: object, record: object, verb: object, state_dir: Path) -> object:
        straight.append(str(verb))
        return Verification.VERIFIED

    monkeypatch.setattr(api.store, "add_command", full)
    monkeypatch.setattr(commands, "roll_back_unrecorded", to_router)
    async with api.client() as c:
        paused = await c.post(f"/api/v1/rollouts/{api.rid}/pause", headers=api.auth("olga"))
        assert paused.status_code == 409 and "disk is full" in paused.json()["error"]
        rolled = await c.post(f"/api/v1/rollouts/{api.rid}/rollback", headers=api.auth("olga"))
    assert rolled.status_code == 503 and rolled.json()["traffic_safe"] is True
    assert straight == ["rollback"]


async def test_a_plan_whose_listen_address_is_taken_never_gets_a_record(api: Api) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        text = (PLAN % taken.getsockname()[1]).replace("service: shop", "service: cart")
        async with api.client() as c:
            r = await c.post("/api/v1/rollouts", content=text,
                             headers={**api.auth("olga"), "content-type": "application/yaml"})  # fmt: skip
    assert r.status_code == 409 and "choose another route.listen" in r.json()["error"]
    assert await api.store.active_for_service("cart") == []


async def test_a_revoked_token_is_refused_at_once(api: Api) -> None:
    async with api.client() as c:
        assert (await c.get("/api/v1/whoami", headers=api.auth("vic"))).status_code == 200
        listed = (await c.get("/api/v1/tokens", headers=api.auth("admin"))).json()["tokens"]
        vic = next(t["id"] for t in listed if t["user"] == "vic")
        gone = await c.delete(f"/api/v1/tokens/{vic}", headers=api.auth("admin"))
        assert gone.status_code == 200
        after = await c.get("/api/v1/whoami", headers=api.auth("vic"))
        assert after.status_code == 401 and "revoked" in after.json()["error"]
        assert api.tokens["vic"] not in after.text


async def test_the_journal_is_paged_and_an_expired_token_is_refused(api: Api) -> None:
    from golive.core.state import Event

    now = time.time()
    await api.store.add_token("glv_old", "old", (), now - 100, Event("token_created", "old",
                              {"by": "test"}), expires_at=now - 1)  # fmt: skip
    async with api.client() as c:
        old = await c.get("/api/v1/whoami", headers={"authorization": "Bearer glv_old"})
        assert old.status_code == 401 and "expired" in old.json()["error"]
        url = f"/api/v1/rollouts/{api.rid}/journal"
        first = (await c.get(f"{url}?limit=1", headers=api.auth("vic"))).json()
        assert len(first["entries"]) == 1 and first["next_after"] == first["entries"][0]["seq"]
        rest = (await c.get(f"{url}?after={first['next_after']}", headers=api.auth("vic"))).json()
        assert rest["entries"][0]["seq"] > first["next_after"] and rest["next_after"] is None
        for bad in ("limit=-1", "limit=5000", "after=x"):
            assert (await c.get(f"{url}?{bad}", headers=api.auth("vic"))).status_code == 400


async def test_a_caller_looping_on_refused_requests_cannot_bury_the_journal(api: Api) -> None:
    """A viewer (or a stolen viewer token) posts rollback 200 times: ten refusals a minute per
    caller reach the journal; the next one after the minute says how many were left out; an
    operator's accepted action is journaled all the same."""
    before = len(await api.store.events(api.rid))
    async with api.client("10.9.9.9") as c:
        for _ in range(200):
            refused = await c.post(f"/api/v1/rollouts/{api.rid}/rollback", headers=api.auth("vic"))
            assert refused.status_code == 403
        ok = await c.post(f"/api/v1/rollouts/{api.rid}/pause", headers=api.auth("olga"),
                          json={"reason": "checking"})  # fmt: skip
        assert ok.status_code == 202
    added = (await api.store.events(api.rid))[before:]
    refusals = [e for e in added if e.kind == "api_request" and e.data.get("status") == 403]
    assert len(refusals) == 10
    assert any(e.data.get("verb") == "pause" and e.data.get("status") == 202 for e in added)
    api.ctx.refusals.window = 0.0  # the minute has passed
    async with api.client("10.9.9.9") as c:
        await c.post(f"/api/v1/rollouts/{api.rid}/rollback", headers=api.auth("vic"))
    last = (await api.store.events(api.rid))[-1]
    assert last.data.get("not_journaled_before") == 190, last
    assert "190 earlier refused requests by this caller were not journaled" in last.message


@pytest.mark.parametrize(
    "query",
    ["limit=%C2%B2", "limit=" + "1" * 5000, "after=%D9%A3%C2%B2", "after=" + "9" * 5000],
)
async def test_a_number_int_cannot_read_is_a_400_not_a_500(api: Api, query: str) -> None:
    """'²' is a digit to str.isdigit and not to int(); 5000 digits are over int()'s limit."""
    async with api.client() as c:
        for path in ("/api/v1/rollouts", f"/api/v1/rollouts/{api.rid}/journal"):
            got = await c.get(f"{path}?{query}", headers=api.auth("vic"))
            assert got.status_code in (200, 400), (path, got.text)
            if "limit" in query or "journal" in path:
                assert got.status_code == 400 and "whole number" in got.json()["error"]


@pytest.mark.parametrize("last", [b"\xb2", b"-1", b"99999999999999999999", b"1e3", b"\xff\xfe"])
async def test_a_last_event_id_that_is_no_sequence_number_is_a_400(api: Api, last: bytes) -> None:
    async with api.client() as c:
        got = await c.get(f"/api/v1/rollouts/{api.rid}/events",
                          headers={**api.auth("vic"), "last-event-id": last})  # type: ignore[dict-item]  # fmt: skip
        assert got.status_code == 400 and "Last-Event-ID" in got.json()["error"]
        query = await c.get(
            f"/api/v1/rollouts/{api.rid}/events?after=%C2%B2", headers=api.auth("vic")
        )
        assert query.status_code == 400


async def test_a_last_event_id_beyond_the_end_replays_the_journal(api: Api) -> None:
    """An id this journal never had (a state directory restored from a backup, another
    server's stream): the whole journal again, not silence until the numbers catch up."""
    async with api.client() as c:
        got = await c.get(f"/api/v1/rollouts/{api.rid}/events",
                          headers={**api.auth("vic"), "last-event-id": "999999999999999999"})  # fmt: skip
        assert got.status_code == 200 and "id: 1\nevent: journal" in got.text
        assert 'event: end\ndata: {"reason": "reconnect"}' in got.text


@pytest.mark.parametrize("expires", ["NaN", "Infinity", "-Infinity", "9" * 400, "0", "-5"])
async def test_a_token_lifetime_that_is_no_time_is_refused_and_the_list_still_works(
    api: Api, expires: str
) -> None:
    """NaN and Infinity pass json.loads; a NaN expiry once stored made every token listing a
    500 (JSON has no NaN); a 400-digit one overflowed float()."""
    async with api.client() as c:
        made = await c.post("/api/v1/tokens", headers={**api.auth("admin"),
                            "content-type": "application/json"},
                            content='{"user": "eve", "expires_in": ' + expires + "}")  # fmt: skip
        assert made.status_code == 400 and "expires_in" in made.json()["error"], made.text
        listed = await c.get("/api/v1/tokens", headers=api.auth("admin"))
        assert listed.status_code == 200 and "eve" not in listed.text


async def test_tokens_add_refuses_an_expiry_that_is_no_time() -> None:
    from golive.errors import StateError
    from golive.testing.memory import MemoryStore

    store = MemoryStore()
    root = Identity("ada", (), "token", admin=True)
    for bad in (float("nan"), float("inf")):
        with pytest.raises(StateError, match="expire"):
            await tokens.add(store, root, "eve", (), False, bad, time.time())


BODIES = {
    "approve": {"role": "release-manager", "note": "ok", "revision": "2.0.0"},
    "reject": {"role": "release-manager", "reason": "no"},
    "confirm": {"item": "rollback-plan", "role": "tech-lead", "note": "ok"},
    "pause": {"reason": "why"},
    "skip": {"reason": "why"},
    "abort": {"reason": "why"},
}


@pytest.mark.parametrize("verb", sorted(BODIES))
async def test_a_lone_surrogate_in_any_field_is_a_400_not_a_500(
    api: Api, verb: str, caplog: pytest.LogCaptureFixture
) -> None:
    """'\\ud800' alone is valid JSON and half of a character: SQLite cannot encode it, so a
    reason, a note, or a role quoted back in a journaled refusal was a 500."""
    who = "olga" if verb in ("pause", "skip", "abort") else "rita"
    async with api.client() as c:
        for field in BODIES[verb]:
            body = json.dumps({**BODIES[verb], field: "a\ud800b"})
            got = await c.post(f"/api/v1/rollouts/{api.rid}/{verb}", content=body,
                               headers={**api.auth(who), "content-type": "application/json"})  # fmt: skip
            assert got.status_code == 400 and "half of a character" in got.json()["error"], (
                field, got.text)  # fmt: skip
        made = await c.post("/api/v1/tokens", content='{"user": "eve", "roles": ["\\udc80"]}',
                            headers={**api.auth("admin"), "content-type": "application/json"})  # fmt: skip
        assert made.status_code == 400
    assert "internal error" not in caplog.text


async def test_a_refusal_quoting_a_huge_field_is_journaled_short(api: Api) -> None:
    """A viewer's confirm of a 900 kB item is refused quoting the item; ten refusals a minute
    each wrote 900 kB into the sealed journal."""
    async with api.client() as c:
        got = await c.post(f"/api/v1/rollouts/{api.rid}/confirm", headers=api.auth("vic"),
                           json={"item": "x" * 900_000, "role": "tech-lead"})  # fmt: skip
        assert got.status_code == 409
    last = (await api.store.events(api.rid))[-1]
    assert last.kind == "api_request" and len(last.message) < 1000
    assert "characters)" in last.message


async def test_a_plan_escaping_half_a_character_is_a_422_not_a_rollout(api: Api) -> None:
    text = (
        PLAN.replace("service: shop", "service: cart").replace(
            "  - pause\n", '  - pause: {reason: "held\\udc80"}\n'
        )
        % free_port()
    )
    async with api.client() as c:
        got = await c.post("/api/v1/rollouts", content=text, headers={
            **api.auth("olga"), "content-type": "application/yaml"})  # fmt: skip
    assert got.status_code == 422, got.text
    assert "half of a character" in got.json()["issues"][0]["message"]
    assert not await api.store.active_for_service("cart")


async def test_an_open_event_stream_ends_once_its_token_is_revoked(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found against a real server: after 'DELETE /tokens/ID' the viewer's next request was
    401, but the event stream it had open kept sending journal entries (an operator's reason
    among them) for up to 15 minutes."""
    from golive.server import events

    monkeypatch.setattr(events, "RECHECK", 0.1)
    api.ctx.events_max_seconds = 20.0
    async with api.client() as c:
        listed = (await c.get("/api/v1/tokens", headers=api.auth("admin"))).json()["tokens"]
        vic = next(t["id"] for t in listed if t["user"] == "vic")
        url = f"/api/v1/rollouts/{api.rid}/events"
        started = time.monotonic()
        stream = asyncio.create_task(c.get(url, headers=api.auth("vic")))
        await asyncio.sleep(0.5)
        assert not stream.done()
        assert (
            await c.delete(f"/api/v1/tokens/{vic}", headers=api.auth("admin"))
        ).status_code == 200
        got = await asyncio.wait_for(stream, 10)
    assert got.status_code == 200
    assert got.text.endswith('event: end\ndata: {"reason": "unauthorized"}\n\n'), got.text[-300:]
    assert time.monotonic() - started < 10


async def test_a_path_cannot_write_a_line_or_an_escape_into_the_servers_log(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    """Found against a real server: a viewer's POST to /rollouts/ID%0A...%1B[2J/pause wrote
    a forged line ('... golive.server FORGED rollback by ada') and a screen-clearing escape
    into the log operators tail."""
    forged = "abcd\n2026-11-30 04:00:00,000 golive.server FORGED\x1b[2J\u202e"
    path = "abcd%0A2026-11-30%2004:00:00,000%20golive.server%20FORGED%1B[2J%E2%80%AE"
    with caplog.at_level(logging.INFO, "golive.server"):
        async with api.client() as c:
            for verb in ("pause", "approve"):
                r = await c.post(f"/api/v1/rollouts/{path}/{verb}", headers=api.auth("vic"))
                assert r.status_code in (403, 404), r.text
    logged = [r.getMessage() for r in caplog.records]
    assert logged and all("\n" not in m and "\x1b" not in m and "\u202e" not in m for m in logged)
    assert all(forged not in m for m in logged)


async def test_naming_the_rollout_by_other_prefixes_does_not_widen_the_refusal_budget(
    api: Api,
) -> None:
    """The budget was counted per id as written in the path: the same viewer, naming the
    rollout by 20 of its prefixes, journaled 200 refusals a minute instead of 10."""
    before = len(await api.store.events(api.rid))
    names = [api.rid[:n] for n in range(len(api.rid) - 19, len(api.rid) + 1)]
    async with api.client("10.8.8.8") as c:
        for name in names:
            for _ in range(10):
                got = await c.post(f"/api/v1/rollouts/{name}/rollback", headers=api.auth("vic"))
                assert got.status_code == 403
    added = (await api.store.events(api.rid))[before:]
    assert len([e for e in added if e.kind == "api_request"]) == 10


async def test_one_caller_cannot_take_every_event_stream(api: Api) -> None:
    """A (stolen) viewer token opening streams in a loop took all 100, and every operator's
    dashboard got 429 in the middle of an incident. Each user has at most 20 (here 2)."""
    api.ctx.max_streams_per_caller = 2
    api.ctx.events_max_seconds = 3.0
    url = f"/api/v1/rollouts/{api.rid}/events"
    async with api.client() as c:
        held = [asyncio.create_task(c.get(url, headers=api.auth("vic"))) for _ in range(2)]
        await asyncio.sleep(0.3)
        third = await c.get(url, headers=api.auth("vic"))
        assert third.status_code == 429 and "vic has 2 event streams open" in third.text
        assert third.headers["retry-after"] == "5"
        api.ctx.events_max_seconds = 0.3
        other = await c.get(url, headers=api.auth("olga"))
        assert other.status_code == 200
        for task in held:
            assert (await asyncio.wait_for(task, 10)).status_code == 200
        assert api.ctx.streams == 0 and api.ctx.streams_of == {}
        again = await c.get(url, headers=api.auth("vic"))
        assert again.status_code == 200


async def test_measurements_come_in_pages(api: Api) -> None:
    """A 6-hour rollout measured every second is 21,600 rows: the API pages them."""
    for n in range(2500):
        await api.store.add_measurement(api.rid, (1000.0 + n, 10.0, Snapshot(5, 0), Snapshot(1, 0)))
    url = f"/api/v1/rollouts/{api.rid}/measurements"
    async with api.client() as c:
        first = (await c.get(url, headers=api.auth("vic"))).json()
        assert len(first["measurements"]) == 2000 and first["next_after"] == 2999.0
        rest = (await c.get(url, params={"after": first["next_after"]},
                            headers=api.auth("vic"))).json()  # fmt: skip
        assert len(rest["measurements"]) == 500 and rest["next_after"] is None
        small = (await c.get(url, params={"limit": 10}, headers=api.auth("vic"))).json()
        assert len(small["measurements"]) == 10 and small["next_after"] == 1009.0
        for bad in ("nan", "inf", "x"):
            answer = await c.get(url, params={"after": bad}, headers=api.auth("vic"))
            assert answer.status_code == 400, bad
