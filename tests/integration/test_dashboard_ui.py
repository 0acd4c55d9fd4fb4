"""The dashboard's pages and sessions, tried by someone who wants to break them: forged and
cross-origin requests, stolen or stale sessions, hostile plan text, tokens leaking into pages."""

from __future__ import annotations

import re
import time

import httpx
import pytest

from golive.identity import Identity
from golive.operations import tokens
from golive.server.sessions import COOKIE, LIFETIME
from tests.integration.test_server_api import (  # the rollout: a hostile plan at its gate
    Api,
    api,  # noqa: F401 (the fixture)
)

ORIGIN = {"origin": "http://127.0.0.1"}


async def login(c: httpx.AsyncClient, api: Api, who: str) -> str:
    r = await c.post("/ui/login", data={"token": api.tokens[who]}, headers=ORIGIN)
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/ui/"
    return c.cookies[COOKIE]


async def csrf_of(c: httpx.AsyncClient) -> str:
    page = (await c.get("/ui/")).text
    found = re.search(r'<meta name="csrf-token" content="([^"]+)">', page)
    assert found is not None
    return found.group(1)


async def test_login_sets_a_strict_http_only_session_cookie_not_the_token(api: Api) -> None:
    async with api.client() as c:
        r = await c.post("/ui/login", data={"token": api.tokens["vic"]}, headers=ORIGIN)
        assert r.status_code == 303
        cookie = r.headers["set-cookie"]
        assert cookie.startswith(f"{COOKIE}=")
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
        assert f"Max-Age={int(LIFETIME)}" in cookie
        assert api.tokens["vic"] not in cookie and api.tokens["vic"] not in r.headers["location"]
        assert (await c.get("/api/v1/whoami")).json()["user"] == "vic"  # the API takes it too


async def test_login_over_https_marks_the_cookie_secure(api: Api) -> None:
    transport = httpx.ASGITransport(app=api.app, client=("10.1.2.3", 4000))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="https://dash.example") as c:
        r = await c.post("/ui/login", data={"token": api.tokens["vic"]},
                         headers={"origin": "https://dash.example"})  # fmt: skip
        assert r.status_code == 303 and "Secure" in r.headers["set-cookie"]


@pytest.mark.parametrize("headers", [{"origin": "http://evil.example"}, {}, {"origin": "null"},
                                     {"referer": "http://evil.example/x"}])  # fmt: skip
async def test_a_cross_origin_login_is_refused(api: Api, headers: dict[str, str]) -> None:
    async with api.client() as c:
        r = await c.post("/ui/login", data={"token": api.tokens["vic"]}, headers=headers)
        assert r.status_code == 403 and "set-cookie" not in r.headers


async def test_a_wrong_token_gets_the_login_page_again_and_counts_as_a_failure(api: Api) -> None:
    async with api.client() as c:
        r = await c.post("/ui/login", data={"token": "glv_guess"}, headers=ORIGIN)
        assert r.status_code == 401 and "set-cookie" not in r.headers
        assert 'name="token"' in r.text
        for _ in range(10):
            await c.post("/ui/login", data={"token": "glv_guess"}, headers=ORIGIN)
        r = await c.post("/ui/login", data={"token": api.tokens["vic"]}, headers=ORIGIN)
        assert r.status_code == 429


async def test_pages_without_a_session_send_to_the_login_page(api: Api) -> None:
    async with api.client() as c:
        for path in ("/ui/", f"/ui/rollouts/{api.rid}", f"/ui/rollouts/{api.rid}/warroom"):
            r = await c.get(path)
            assert r.status_code == 303 and r.headers["location"] == "/ui/login", path
        assert (await c.get(f"/ui/rollouts/{api.rid}/panels")).status_code == 401
        c.cookies.set(COOKIE, "forged")
        assert (await c.get("/ui/")).headers["location"] == "/ui/login"
        assert (await c.get("/api/v1/whoami")).status_code == 401


async def test_a_mutation_by_session_needs_the_csrf_token_and_the_same_origin(api: Api) -> None:
    url = f"/api/v1/rollouts/{api.rid}/approve"
    body = {"role": "release-manager"}
    async with api.client() as c:
        await login(c, api, "rita")
        csrf = await csrf_of(c)
        refused = [
            await c.post(url, json=body, headers=ORIGIN),  # no CSRF token
            await c.post(url, json=body, headers={**ORIGIN, "x-csrf-token": "wrong"}),
            await c.post(
                url, json=body, headers={"origin": "http://evil.example", "x-csrf-token": csrf}
            ),
            await c.post(url, json=body, headers={"x-csrf-token": csrf}),  # no Origin, no Referer
        ]
        assert [r.status_code for r in refused] == [403, 403, 403, 403]
        assert "CSRF" in refused[0].json()["error"]
        assert "cross-origin" in refused[2].json()["error"]
        signed = await c.post(
            url, json=body, headers={"referer": f"http://127.0.0.1/ui/rollouts/{api.rid}",
                                     "x-csrf-token": csrf},
        )  # fmt: skip
        assert signed.status_code == 200, signed.text
    notes = [e for e in await api.store.events(api.rid) if e.kind == "api_request"]
    assert [(n.data["by"], n.data["status"]) for n in notes] == [("rita", 200)]
    assert "approve by rita (token)" in notes[0].message
    assert (await api.store.signoffs(api.rid))[0].by == "rita"


async def test_a_bearer_token_still_needs_no_csrf_token(api: Api) -> None:
    async with api.client() as c:
        await login(c, api, "vic")  # a session cookie beside it changes nothing
        r = await c.post(f"/api/v1/rollouts/{api.rid}/pause", headers=api.auth("olga"),
                         json={"reason": "bearer"})  # fmt: skip
        assert r.status_code == 202


async def test_an_expired_session_and_a_revoked_token_end_the_session(api: Api) -> None:
    async with api.client() as c:
        token_id = next(t.id for t in await api.store.tokens() if t.user == "vic")
        stale = api.ctx.sessions.open(token_id, "vic", None, time.time() - LIFETIME - 1)
        c.cookies.set(COOKIE, stale)
        assert (await c.get("/ui/")).headers["location"] == "/ui/login"
        assert (await c.get("/api/v1/whoami")).status_code == 401
        capped = api.ctx.sessions.open(token_id, "vic", time.time() - 1, time.time())
        c.cookies.set(COOKIE, capped)  # never past its token's expiry
        assert (await c.get("/api/v1/whoami")).status_code == 401
        c.cookies.clear()
        await login(c, api, "vic")
        assert (await c.get("/ui/")).status_code == 200
        admin = Identity("ada", (), "token", admin=True)
        await tokens.revoke(api.store, admin, token_id, time.time())
        assert (await c.get("/ui/")).headers["location"] == "/ui/login"


async def test_logout_needs_the_csrf_token_then_ends_the_session(api: Api) -> None:
    async with api.client() as c:
        sid = await login(c, api, "vic")
        csrf = await csrf_of(c)
        forged = await c.post("/ui/logout", data={"csrf": "nope"}, headers=ORIGIN)
        assert forged.status_code == 403
        cross = await c.post("/ui/logout", data={"csrf": csrf},
                             headers={"origin": "http://evil.example"})  # fmt: skip
        assert cross.status_code == 403
        assert (await c.get("/ui/")).status_code == 200
        out = await c.post("/ui/logout", data={"csrf": csrf}, headers=ORIGIN)
        assert out.status_code == 303 and out.headers["location"] == "/ui/login"
        assert f'{COOKIE}=""' in out.headers["set-cookie"]
        c.cookies.set(COOKIE, sid)  # a copy of the old cookie is worth nothing now
        assert (await c.get("/api/v1/whoami")).status_code == 401
        assert len(api.ctx.sessions) == 0


async def _views(c: httpx.AsyncClient, api: Api) -> dict[str, httpx.Response]:
    paths = ["/ui/", f"/ui/rollouts/{api.rid}", f"/ui/rollouts/{api.rid}/warroom",
             f"/ui/rollouts/{api.rid}/panels", f"/ui/rollouts/{api.rid}/panels?view=warroom",
             "/ui/login", "/status/shop"]  # fmt: skip
    return {p: await c.get(p, follow_redirects=True) for p in paths}


async def test_hostile_plan_text_is_escaped_in_every_view(api: Api) -> None:
    async with api.client() as c:
        await login(c, api, "olga")
        views = await _views(c, api)
        for path, r in views.items():
            assert r.status_code == 200, path
            assert "<script>alert" not in r.text, path
            assert "\x1b" not in r.text and "\u202e" not in r.text, path
        page = views[f"/ui/rollouts/{api.rid}"].text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the checklist item's text


async def test_no_token_in_any_url_or_page(api: Api) -> None:
    async with api.client() as c:
        r = await c.post("/ui/login", data={"token": api.tokens["rita"]}, headers=ORIGIN,
                         follow_redirects=True)  # fmt: skip
        assert str(r.url).endswith("/ui/")
        views = await _views(c, api)
        for path, page in views.items():
            for secret in api.tokens.values():
                assert secret not in page.text and secret not in str(page.url), path
                assert secret not in page.headers.get("set-cookie", "")


async def test_scripts_come_from_files_under_a_strict_csp(api: Api) -> None:
    async with api.client() as c:
        await login(c, api, "vic")
        for path, r in (await _views(c, api)).items():
            if not path.startswith("/ui/"):
                continue
            assert r.headers["cache-control"] == "no-store", path
            csp = r.headers["content-security-policy"]
            assert "script-src 'self'" in csp and "unsafe" not in csp, path
            assert not re.search(r"<script(?![^>]*\bsrc=)", r.text), path  # no inline script
            assert not re.search(r"<[^>]+\son[a-z]+=", r.text), path  # no inline handler


@pytest.mark.parametrize(
    ("who", "shown", "hidden"),
    [
        ("vic", [], ["approve", "reject", "pause", "rollback", "abort", "confirm"]),
        ("rita", ["approve", "reject"], ["pause", "rollback", "abort", "confirm"]),
        ("olga", ["pause", "abort", "rollback"], ["approve", "reject", "confirm"]),
    ],
)
async def test_buttons_only_for_who_may_press_them(
    api: Api, who: str, shown: list[str], hidden: list[str]
) -> None:
    async with api.client() as c:
        await login(c, api, who)
        page = (await c.get(f"/ui/rollouts/{api.rid}")).text
        for action in shown:
            assert f'data-action="{action}"' in page, action
        for action in hidden:
            assert f'data-action="{action}"' not in page, action
        if not shown:
            assert "data-action=" not in page


async def test_static_files_are_cached_long_and_nothing_else_is_served(api: Api) -> None:
    async with api.client() as c:
        r = await c.get("/ui/static/uPlot-1.6.32.iife.min.js")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
        assert "immutable" in r.headers["cache-control"]
        assert (await c.get("/ui/static/uPlot.LICENSE")).text.startswith("The MIT License")
        for bad in ("/ui/static/nope.js", "/ui/static/..%2Fui.py", "/ui/static/%2e%2e"):
            assert (await c.get(bad)).status_code == 404, bad


async def test_an_unknown_rollout_is_a_page_saying_so(api: Api) -> None:
    async with api.client() as c:
        await login(c, api, "vic")
        for path in ("/ui/rollouts/<nope>", "/ui/rollouts/nope/warroom"):
            r = await c.get(path)
            assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
            assert "<nope>" not in r.text


async def test_a_checklist_item_is_confirmed_from_the_page_by_its_role(api: Api) -> None:
    admin = Identity("ada", (), "token", admin=True)
    api.tokens["tess"] = await tokens.add(
        api.store, admin, "tess", ("tech-lead",), False, None, time.time()
    )
    async with api.client() as c:
        await login(c, api, "tess")
        page = (await c.get(f"/ui/rollouts/{api.rid}")).text
        button = re.search(r'<button[^>]*data-action="confirm"[^>]*>', page)
        assert button is not None and 'data-item="rollback-plan"' in button.group(0)
        assert 'data-role="tech-lead"' in button.group(0)
        assert 'data-action="approve"' not in page
        r = await c.post(
            f"/api/v1/rollouts/{api.rid}/confirm",
            json={"item": "rollback-plan", "role": "tech-lead"},
            headers={**ORIGIN, "x-csrf-token": await csrf_of(c)},
        )
        assert r.status_code == 200, r.text
        after = (await c.get(f"/ui/rollouts/{api.rid}/panels")).text
        assert 'data-action="confirm"' not in after and ": confirmed</p>" in after


async def test_the_pages_event_stream_ends_once_the_sessions_token_is_revoked(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from golive.server import events

    monkeypatch.setattr(events, "RECHECK", 0.1)
    api.ctx.events_max_seconds = 20.0
    async with api.client() as c:
        await login(c, api, "vic")
        stream = asyncio.create_task(c.get(f"/api/v1/rollouts/{api.rid}/events"))
        await asyncio.sleep(0.5)
        assert not stream.done()
        token_id = next(t.id for t in await api.store.tokens() if t.user == "vic")
        await tokens.revoke(api.store, Identity("ada", (), "token", admin=True), token_id,
                            time.time())  # fmt: skip
        got = await asyncio.wait_for(stream, 10)
    assert got.text.endswith('event: end\ndata: {"reason": "unauthorized"}\n\n')
