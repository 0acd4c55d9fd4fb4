"""The dashboard: server-rendered HTML pages for people, under ``/ui``.

A person logs in by pasting an API token (``sessions.py``: the browser gets an HttpOnly,
SameSite=Strict session cookie, never the token). Pages are rendered here with every string
escaped and cleaned of control and bidirectional characters (a plan's text is hostile); the
static script (``static/dashboard.js``, no inline script: the CSP forbids it) follows the
rollout's event stream, draws the charts with the vendored uPlot and swaps in fresh panels
from ``/ui/rollouts/{id}/panels``. Every button calls the very API route a token would
(``/api/v1/rollouts/{id}/approve`` ...) with the session's CSRF token, so each rule is checked
in one place and each action is journaled with who. Buttons are shown only to whom the route
would allow: sign-offs to a holder of the role asked for, the operator verbs to an operator.
"""

from __future__ import annotations

import time
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from golive.errors import AuthorizationError
from golive.identity import Identity, from_token
from golive.operations import status
from golive.server.app import Context
from golive.server.auth import Refused, client_of
from golive.server.pages import (
    clean,
    dialog,
    login_html,
    page,
    pct,
    phase_text,
    static,
    versions_text,
    when,
)
from golive.server.panels import (
    JOURNAL_SHOWN,
    actions,
    panels_html,
    summary,
    warroom_foot,
    warroom_head,
)
from golive.server.reads import rollout_doc
from golive.server.sessions import COOKIE, Session, csrf_ok, identity_of, same_origin

LOGIN_FORM_MAX = 4096


async def _session(request: Request, ctx: Context) -> tuple[Identity, Session] | None:
    sid = request.cookies.get(COOKIE)
    if not sid:
        return None
    now = time.time()
    session = ctx.sessions.get(sid, now)
    if session is None:
        return None
    who = await identity_of(ctx.store, session, now)
    if who is None:
        ctx.sessions.close(sid)
        return None
    return who, session


def _to_login() -> Response:
    response = RedirectResponse("/ui/login", 303)
    response.delete_cookie(COOKIE, path="/")
    return response


def _form(raw: bytes) -> dict[str, str]:
    if len(raw) > LOGIN_FORM_MAX:
        raise Refused(413, "form too large")
    try:
        fields = parse_qs(raw.decode(), max_num_fields=5)
    except (UnicodeDecodeError, ValueError):
        raise Refused(400, "unreadable form") from None
    return {k: v[0] for k, v in fields.items()}


async def login_page(request: Request) -> Response:
    ctx: Context = request.app.state.ctx
    if await _session(request, ctx) is not None:
        return RedirectResponse("/ui/", 303)
    return HTMLResponse(login_html(None))


async def login(request: Request) -> Response:
    ctx: Context = request.app.state.ctx
    if not same_origin(request):
        return HTMLResponse(login_html("Cross-origin login refused."), 403)
    token = _form(await request.body()).get("token", "").strip()
    client, mono = client_of(request), time.monotonic()
    try:
        ctx.limiter.check(client, mono)
    except Refused as exc:
        return HTMLResponse(login_html(exc.message), 429, headers=exc.headers)
    try:
        if not token:
            raise AuthorizationError("paste an API token")
        now = time.time()
        who = await from_token(ctx.store, token, now, name="this token")
        record = await ctx.store.find_token(token)
        assert record is not None
    except AuthorizationError as exc:
        ctx.limiter.failed(client, mono)
        return HTMLResponse(login_html(str(exc)), 401)
    sid = ctx.sessions.open(record.id, who.user, record.expires_at, now)
    response = RedirectResponse("/ui/", 303)
    response.set_cookie(
        COOKIE, sid, max_age=int(ctx.sessions.lifetime), path="/", httponly=True,
        samesite="strict", secure=request.url.scheme == "https",
    )  # fmt: skip
    return response


async def logout(request: Request) -> Response:
    ctx: Context = request.app.state.ctx
    found = await _session(request, ctx)
    if found is None:
        return _to_login()
    if not same_origin(request) or not csrf_ok(found[1], _form(await request.body()).get("csrf")):
        return HTMLResponse(page("Refused", "<p>Cross-origin or forged logout refused.</p>"), 403)
    ctx.sessions.close(request.cookies[COOKIE])
    return _to_login()


async def home(request: Request) -> Response:
    return RedirectResponse("/ui/", 303)


async def rollouts(request: Request) -> Response:
    ctx: Context = request.app.state.ctx
    found = await _session(request, ctx)
    if found is None:
        return _to_login()
    who, session = found
    listing = (await status.listing(ctx.store, 100)).to_json()
    rows = "".join(
        f'<tr><td><a href="/ui/rollouts/{clean(r["id"])}">{clean(r["service"])}</a></td>'
        f'<td><span class="phase phase-{clean(r["phase"])}">'
        f"{clean(phase_text(r['phase']))}</span></td>"
        f'<td class="num">{clean(r["step"])}</td>'
        f'<td class="num">{clean(pct(r["canary_weight"]))}</td>'
        f"<td>{clean(versions_text(r['versions']))}</td><td>{clean(r['waiting_for'] or '')}</td>"
        f'<td class="mono">{clean(r["id"])}</td><td>{clean(when(r["created_at"]))}</td></tr>'
        for r in listing
    )
    table = (
        '<table class="list"><thead><tr><th>Service</th><th>Phase</th><th>Step</th>'
        "<th>Canary</th><th>Versions</th><th>Waiting for</th><th>Id</th><th>Started</th></tr>"
        f"</thead><tbody>{rows}</tbody></table>"
        if rows
        else "<p>No rollouts yet.</p>"
    )
    body = f"<h1>Rollouts</h1>{table}"
    return HTMLResponse(page("Rollouts", body, who, session, view="list"))


def _not_found(exc: Refused, who: Identity, session: Session) -> Response:
    """No such rollout: a page, not the API's JSON."""
    body = f'<h1>Not found</h1><p>{clean(exc.message)}</p><p><a href="/ui/">Rollouts</a></p>'
    return HTMLResponse(page("Not found", body, who, session), exc.status)


async def rollout(request: Request) -> Response:
    ctx: Context = request.app.state.ctx
    found = await _session(request, ctx)
    if found is None:
        return _to_login()
    who, session = found
    try:
        doc = await _doc(ctx, request.path_params["id"])
    except Refused as exc:
        return _not_found(exc, who, session)
    rid = str(doc["id"])
    body = (
        f'<p class="crumbs"><a href="/ui/">Rollouts</a> / {clean(doc["service"])} '
        f'<a class="warroom-link" href="/ui/rollouts/{clean(rid)}/warroom">War room</a></p>'
        + '<div class="panels">'
        + summary(doc)
        + actions(doc, who)
        + "</div>"
        + '<section class="charts"><h2>Traffic</h2><div class="chart-grid">'
        '<figure><figcaption>Requests per second</figcaption><div id="chart-rate"></div></figure>'
        '<figure><figcaption>Error rate (%)</figcaption><div id="chart-errors"></div></figure>'
        '<figure class="wide"><figcaption>Latency (ms): p50, p95, p99</figcaption>'
        '<div id="chart-latency"></div></figure></div></section>'
        + panels_html(doc, who, top=False)
        + dialog()
    )
    title = f"{doc['service']} rollout"
    return HTMLResponse(page(title, body, who, session, view="rollout", rid=rid))


async def panels(request: Request) -> Response:
    """The rollout page's panels alone: the script swaps them in when the journal moves."""
    ctx: Context = request.app.state.ctx
    found = await _session(request, ctx)
    if found is None:
        return Response("session ended", 401, media_type="text/plain")
    doc = await _doc(ctx, request.path_params["id"])
    if request.query_params.get("view") == "warroom":
        both = warroom_head(doc) + warroom_foot(doc)
        return HTMLResponse(both)
    return HTMLResponse(panels_html(doc, found[0]))


async def warroom(request: Request) -> Response:
    ctx: Context = request.app.state.ctx
    found = await _session(request, ctx)
    if found is None:
        return _to_login()
    who, session = found
    try:
        doc = await _doc(ctx, request.path_params["id"])
    except Refused as exc:
        return _not_found(exc, who, session)
    rid = str(doc["id"])
    versions = doc.get("versions") or {}
    assert isinstance(versions, dict)
    cards = "".join(
        f'<section class="wr-card wr-{which}"><h2>{which} '
        f'<span class="wr-version">{clean(versions.get(which, ""))}</span></h2>'
        f'<dl class="wr-figures">'
        + "".join(
            f'<div><dt>{label}</dt><dd data-fig="{which}-{key}">–</dd></div>'
            for key, label in (
                ("weight", "Traffic"),
                ("rate", "Requests/s"),
                ("success", "Success"),
                ("p50", "p50"),
                ("p95", "p95"),
                ("p99", "p99"),
            )
        )
        + "</dl></section>"
        for which in ("stable", "canary")
    )
    body = warroom_head(doc) + f'<div class="wr-cards">{cards}</div>' + warroom_foot(doc)
    return HTMLResponse(
        page(f"{doc['service']} war room", body, who, session, view="warroom", rid=rid,
              wide=True)
    )  # fmt: skip


async def _doc(ctx: Context, rollout_id: str) -> dict[str, object]:
    """The API's document of the rollout, and the latest journal entries for the page."""
    doc = await rollout_doc(ctx, rollout_id)
    doc["_journal"] = [
        {"at": e.at, "kind": e.kind, "message": e.message}
        for e in (await ctx.store.events(str(doc["id"])))[-JOURNAL_SHOWN:]
    ]
    return doc


UI_ROUTES: list[BaseRoute] = [
    Route("/", home, methods=["GET"]),
    Route("/ui/login", login_page, methods=["GET"]),
    Route("/ui/login", login, methods=["POST"]),
    Route("/ui/logout", logout, methods=["POST"]),
    Route("/ui/", rollouts, methods=["GET"]),
    Route("/ui/rollouts/{id}", rollout, methods=["GET"]),
    Route("/ui/rollouts/{id}/panels", panels, methods=["GET"]),
    Route("/ui/rollouts/{id}/warroom", warroom, methods=["GET"]),
    Route("/ui/static/{name}", static, methods=["GET"]),
]
