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

import hashlib
import html
import re
import time
from functools import cache
from pathlib import Path
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from golive.errors import AuthorizationError
from golive.identity import Identity, from_token
from golive.operations import status
from golive.server.app import Context
from golive.server.auth import Policy, Refused, allowed, client_of, permission
from golive.server.reads import rollout_doc
from golive.server.sessions import (
    COOKIE,
    Session,
    csrf_ok,
    identity_of,
    same_origin,
)

STATIC = Path(__file__).parent / "static"
TYPES = {".js": "text/javascript", ".css": "text/css", ".LICENSE": "text/plain"}
UNSHOWN = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
JOURNAL_SHOWN = 60
LOGIN_FORM_MAX = 4096


def clean(value: object) -> str:
    """Text for a page: control and direction-override characters shown as U+FFFD, escaped."""
    return html.escape(UNSHOWN.sub("\ufffd", str(value)), quote=True)


@cache
def _assets() -> dict[str, tuple[bytes, str]]:
    found = {}
    for path in STATIC.iterdir():
        if path.is_file():
            data = path.read_bytes()
            found[path.name] = (data, hashlib.sha256(data).hexdigest()[:12])
    return found


def asset(name: str) -> str:
    return f"/ui/static/{name}?v={_assets()[name][1]}"


async def static(request: Request) -> Response:
    name = request.path_params["name"]
    found = _assets().get(name)
    if found is None:
        return Response("not found", 404, media_type="text/plain")
    kind = next((t for ext, t in TYPES.items() if name.endswith(ext)), "application/octet-stream")
    return Response(
        found[0], media_type=kind,
        headers={"Cache-Control": "public, max-age=31536000, immutable"},
    )  # fmt: skip


# -- sessions ----------------------------------------------------------------------------------


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
    return HTMLResponse(_login_html(None))


async def login(request: Request) -> Response:
    ctx: Context = request.app.state.ctx
    if not same_origin(request):
        return HTMLResponse(_login_html("Cross-origin login refused."), 403)
    token = _form(await request.body()).get("token", "").strip()
    client, mono = client_of(request), time.monotonic()
    try:
        ctx.limiter.check(client, mono)
    except Refused as exc:
        return HTMLResponse(_login_html(exc.message), 429, headers=exc.headers)
    try:
        if not token:
            raise AuthorizationError("paste an API token")
        now = time.time()
        who = await from_token(ctx.store, token, now, name="this token")
        record = await ctx.store.find_token(token)
        assert record is not None
    except AuthorizationError as exc:
        ctx.limiter.failed(client, mono)
        return HTMLResponse(_login_html(str(exc)), 401)
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
        return HTMLResponse(_page("Refused", "<p>Cross-origin or forged logout refused.</p>"), 403)
    ctx.sessions.close(request.cookies[COOKIE])
    return _to_login()


# -- pages -------------------------------------------------------------------------------------


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
        f'<td><span class="phase phase-{clean(r["phase"])}">{clean(_phase(r["phase"]))}</span></td>'
        f'<td class="num">{clean(r["step"])}</td>'
        f'<td class="num">{clean(_pct(r["canary_weight"]))}</td>'
        f"<td>{clean(_versions(r['versions']))}</td><td>{clean(r['waiting_for'] or '')}</td>"
        f'<td class="mono">{clean(r["id"])}</td><td>{clean(_when(r["created_at"]))}</td></tr>'
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
    return HTMLResponse(_page("Rollouts", body, who, session, view="list"))


def _not_found(exc: Refused, who: Identity, session: Session) -> Response:
    """No such rollout: a page, not the API's JSON."""
    body = f'<h1>Not found</h1><p>{clean(exc.message)}</p><p><a href="/ui/">Rollouts</a></p>'
    return HTMLResponse(_page("Not found", body, who, session), exc.status)


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
        + _summary(doc)
        + _actions(doc, who)
        + "</div>"
        + '<section class="charts"><h2>Traffic</h2><div class="chart-grid">'
        '<figure><figcaption>Requests per second</figcaption><div id="chart-rate"></div></figure>'
        '<figure><figcaption>Error rate (%)</figcaption><div id="chart-errors"></div></figure>'
        '<figure class="wide"><figcaption>Latency (ms): p50, p95, p99</figcaption>'
        '<div id="chart-latency"></div></figure></div></section>'
        + _panels(doc, who, top=False)
        + _dialog()
    )
    title = f"{doc['service']} rollout"
    return HTMLResponse(_page(title, body, who, session, view="rollout", rid=rid))


async def panels(request: Request) -> Response:
    """The rollout page's panels alone: the script swaps them in when the journal moves."""
    ctx: Context = request.app.state.ctx
    found = await _session(request, ctx)
    if found is None:
        return Response("session ended", 401, media_type="text/plain")
    doc = await _doc(ctx, request.path_params["id"])
    if request.query_params.get("view") == "warroom":
        both = _warroom_head(doc) + _warroom_foot(doc)
        return HTMLResponse(both)
    return HTMLResponse(_panels(doc, found[0]))


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
    body = _warroom_head(doc) + f'<div class="wr-cards">{cards}</div>' + _warroom_foot(doc)
    return HTMLResponse(
        _page(f"{doc['service']} war room", body, who, session, view="warroom", rid=rid,
              wide=True)
    )  # fmt: skip


# -- rendering ---------------------------------------------------------------------------------


def _phase(phase: object) -> str:
    return str(phase).replace("_", " ")


def _pct(value: object) -> str:
    return f"{float(str(value)):g}%" if isinstance(value, int | float) else "–"


def _versions(versions: object) -> str:
    if not isinstance(versions, dict):
        return "?"
    return f"{versions.get('stable', '?')} → {versions.get('canary', '?')}"


def _when(at: object) -> str:
    if not isinstance(at, int | float):
        return ""
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(at))


def _clock(at: object) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(at)) if isinstance(at, int | float) else ""


def _state(doc: dict[str, object]) -> dict[str, object]:
    state = doc.get("state")
    return state if isinstance(state, dict) else {}


def _weights(doc: dict[str, object]) -> tuple[float, object]:
    weights = doc.get("weights")
    assert isinstance(weights, dict)
    desired = float(weights.get("desired") or 0)
    return desired, weights.get("measured")


def _warroom_head(doc: dict[str, object]) -> str:
    phase = _state(doc).get("phase", "")
    desired, _ = _weights(doc)
    waiting = doc.get("waiting_for") or ""
    return (
        f'<div data-panel="warroom-head" class="wr-head" data-desired="{desired:g}">'
        f"<h1>{clean(doc['service'])} <span>{clean(_versions(doc.get('versions')))}</span></h1>"
        f'<p class="wr-phase phase phase-{clean(phase)}" data-testid="phase">'
        f"{clean(_phase(phase))}</p>"
        f'<p class="wr-step">step {clean(doc.get("step_number"))} of '
        f"{len(doc.get('steps') or [])}"  # type: ignore[arg-type]
        + (f" · waiting for {clean(waiting)}" if waiting else "")
        + "</p></div>"
    )


def _warroom_foot(doc: dict[str, object]) -> str:
    """The steps as a strip, and the judge's verdict per metric."""
    chips = "".join(
        f'<li class="chip step-{clean(s["state"]).replace(" ", "-")}">{clean(s["step"])}</li>'
        for s in doc.get("steps") or []  # type: ignore[attr-defined]
    )
    judged = "".join(
        f'<li class="judged-{clean(m["status"]).replace(" ", "-")}"><strong>{clean(m["metric"])}: '
        f"{clean(m['status'])}</strong> {clean(m['sentence'])}</li>"
        for m in doc.get("judge") or []  # type: ignore[attr-defined]
    )
    return (
        f'<div data-panel="warroom-foot" class="wr-foot"><ol class="wr-steps">{chips}</ol>'
        f'<ul class="wr-judge">{judged}</ul></div>'
    )


def _panels(doc: dict[str, object], who: Identity, top: bool = True) -> str:
    return (
        '<div class="panels">'
        + (_summary(doc) + _actions(doc, who) if top else "")
        + _steps(doc)
        + _judge(doc)
        + _checks(doc)
        + _signoffs(doc)
        + _journal(doc)
        + "</div>"
    )


def _summary(doc: dict[str, object]) -> str:
    state = _state(doc)
    phase = state.get("phase", "")
    desired, measured = _weights(doc)
    waiting = doc.get("waiting_for") or ""
    reason = state.get("reason") or ""
    versions = doc.get("versions") if isinstance(doc.get("versions"), dict) else {}
    assert isinstance(versions, dict)
    return (
        f'<section data-panel="summary" class="summary" data-desired="{desired:g}">'
        f"<h1>{clean(doc['service'])}</h1>"
        f'<p><span class="phase phase-{clean(phase)}" data-testid="phase">{clean(_phase(phase))}'
        f"</span> step {clean(doc.get('step_number'))} of {len(doc.get('steps') or [])}"  # type: ignore[arg-type]
        + (f' · <span class="waiting">waiting for {clean(waiting)}</span>' if waiting else "")
        + "</p>"
        + (f'<p class="reason">{clean(reason)}</p>' if reason else "")
        + _window(doc)
        + '<div class="weights">'
        f'<div class="weight stable"><span class="label">stable '
        f"{clean(versions.get('stable', ''))}</span>"
        f'<span class="big" data-testid="stable-weight">{100 - desired:g}%</span></div>'
        f'<div class="weight canary"><span class="label">canary '
        f"{clean(versions.get('canary', ''))}</span>"
        f'<span class="big" data-testid="canary-weight">{desired:g}%</span></div>'
        f'<div class="weight measured"><span class="label">measured canary share</span>'
        f'<span class="big" data-live="measured">{clean(_pct(measured))}</span></div>'
        "</div>"
        f'<p class="mono small">rollout {clean(doc["id"])}</p></section>'
    )


def _window(doc: dict[str, object]) -> str:
    """The watch window after promotion, and when the previous revision is retired."""
    watch = doc.get("watch")
    if not isinstance(watch, dict):
        return ""
    return f'<p class="watch" data-testid="watch">{clean(watch.get("sentence", ""))}</p>'


def _button(action: str, label: str, kind: str = "", **data: object) -> str:
    attrs = "".join(f' data-{k}="{clean(v)}"' for k, v in data.items())
    return (
        f'<button type="button" class="btn {kind}" data-action="{action}"{attrs}>'
        f"{clean(label)}</button>"
    )


def _actions(doc: dict[str, object], who: Identity) -> str:
    """The buttons this person may press now; none for a viewer."""
    buttons = []
    asks = doc.get("asks")
    if isinstance(asks, dict):
        signed = set(asks.get("signed") or [])
        for role in asks.get("roles") or []:
            if who.holds(role) and role not in signed:
                buttons.append(_button("approve", f"Approve as {role}", "go", role=role,
                                       revision=asks.get("revision")))  # fmt: skip
                buttons.append(_button("reject", f"Reject as {role}", "danger", role=role,
                                       confirm="reject"))  # fmt: skip
    for item in doc.get("checklist") or []:  # type: ignore[attr-defined]
        role = item.get("role")
        if item.get("open") and role and who.holds(role):
            buttons.append(_button("confirm", f"Confirm: {item['text']}", "go",
                                   item=item["item"], role=role))  # fmt: skip
    phase = _state(doc).get("phase", "")
    if allowed(who, Policy.OPERATOR) and phase in ("progressing", "paused"):
        if phase == "progressing":
            buttons.append(_button("pause", "Pause"))
        else:
            buttons.append(_button("resume", "Resume"))
        buttons.append(_button("abort", "Abort", "danger", confirm="abort"))
        buttons.append(_button("rollback", "Roll back", "danger", confirm="rollback"))
    if not buttons:
        return '<section data-panel="actions" class="actions" hidden></section>'
    return (
        '<section data-panel="actions" class="actions"><h2>Actions</h2>'
        f'<div class="buttons">{"".join(buttons)}</div>'
        '<p class="action-result" role="status" data-live="action-result"></p></section>'
    )


def _steps(doc: dict[str, object]) -> str:
    items = "".join(
        f'<li class="step step-{clean(s["state"]).replace(" ", "-")}">'
        f'<span class="n">{clean(s["number"])}</span><span class="what">{clean(s["step"])}</span>'
        f'<span class="where">{clean(s["state"])}</span></li>'
        for s in doc.get("steps") or []  # type: ignore[attr-defined]
    )
    return f'<section data-panel="steps" class="steps"><h2>Steps</h2><ol>{items}</ol></section>'


def _judge(doc: dict[str, object]) -> str:
    judged = doc.get("judge") or []
    rows = "".join(
        f'<tr class="judged-{clean(m["status"]).replace(" ", "-")}"><td>{clean(m["metric"])}</td>'
        f'<td><span class="verdict">{clean(m["status"])}</span></td>'
        f"<td>{clean(m['sentence'])}</td></tr>"
        for m in judged  # type: ignore[attr-defined]
    )
    inner = (
        f"<table><thead><tr><th>Metric</th><th>Verdict</th><th>Why</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
        if rows
        else '<p class="muted">Nothing judged yet.</p>'
    )
    return f'<section data-panel="judge" class="judge"><h2>The judge</h2>{inner}</section>'


def _checks(doc: dict[str, object]) -> str:
    card = doc.get("scorecard")
    parts = []
    if isinstance(card, dict):
        parts.append(
            f'<p class="readiness readiness-{clean(card.get("readiness"))}">'
            f"{clean(card.get('readiness'))} · {float(str(card.get('overall', 0))):.2f}/10 "
            f"(go at {clean(card.get('go_at'))})</p>"
        )
        rows = "".join(
            f'<tr class="outcome-{clean(i.get("outcome"))}"><td>{clean(i.get("name"))}</td>'
            f"<td>{clean(i.get('category'))}</td><td>{clean(i.get('outcome'))}</td>"
            f"<td>{clean(i.get('value'))} {clean(i.get('reason'))}</td></tr>"
            for i in card.get("items") or []
        )
        parts.append(
            "<table><thead><tr><th>Check</th><th>Category</th><th>Outcome</th><th>Detail</th>"
            f"</tr></thead><tbody>{rows}</tbody></table>"
        )
        parts += [f'<p class="blocker">{clean(b)}</p>' for b in card.get("blockers") or []]
    for item in doc.get("checklist") or []:  # type: ignore[attr-defined]
        mark = "confirmed" if item["confirmed"] else "to confirm"
        parts.append(
            f'<p class="checklist">{clean(item["text"])} ({clean(item["role"] or "any role")}): '
            f"{mark}</p>"
        )
    inner = "".join(parts) or '<p class="muted">No scorecard yet.</p>'
    title = "<h2>Checks and scorecard</h2>"
    return f'<section data-panel="checks" class="checks">{title}{inner}</section>'


def _signoffs(doc: dict[str, object]) -> str:
    items = "".join(
        f"<li>{clean(s['gate'])}: <strong>{'approved' if s['approve'] else 'rejected'}</strong>"
        f" by {clean(s['by'])} as {clean(s['role'])} (step {clean(s['step'] + 1)})"
        + (f" – {clean(s['note'])}" if s["note"] else "")
        + "</li>"
        for s in doc.get("signoffs") or []  # type: ignore[attr-defined]
    )
    asks = doc.get("asks")
    waiting = ""
    if isinstance(asks, dict):
        missing = [r for r in asks["roles"] if r not in asks["signed"]]
        waiting = (
            f'<p class="waiting">Gate {clean(asks["gate"])} waits for: '
            f"{clean(', '.join(missing))}</p>"
        )
    inner = waiting + (f"<ul>{items}</ul>" if items else '<p class="muted">No sign-offs.</p>')
    return f'<section data-panel="signoffs" class="signoffs"><h2>Sign-offs</h2>{inner}</section>'


def _journal(doc: dict[str, object]) -> str:
    entries = doc.get("_journal") or []
    items = "".join(
        f'<li><time>{clean(_clock(e["at"]))}</time> <span class="kind">{clean(e["kind"])}</span> '
        f"{clean(e['message'])}</li>"
        for e in reversed(entries[-JOURNAL_SHOWN:])  # type: ignore[index]
    )
    return (
        f'<section data-panel="journal" class="journal"><h2>Journal</h2><ol>{items}</ol></section>'
    )


def _dialog() -> str:
    return (
        '<dialog id="confirm-dialog"><form method="dialog">'
        '<h2 data-live="dialog-title">Are you sure?</h2>'
        '<label for="dialog-reason">Reason (written into the journal)</label>'
        '<textarea id="dialog-reason" required maxlength="500" rows="3"></textarea>'
        '<div class="buttons"><button type="submit" value="cancel" class="btn" formnovalidate>'
        "Cancel</button>"
        '<button type="submit" value="ok" class="btn danger" data-live="dialog-ok">'
        "Confirm</button></div></form></dialog>"
    )


def _login_html(error: str | None) -> str:
    problem = f'<p class="error" role="alert">{clean(error)}</p>' if error else ""
    body = (
        '<div class="login"><h1>golive</h1><p>Paste your API token to log in. The browser keeps '
        "a session cookie only; the token is not stored in it.</p>"
        f'{problem}<form method="post" action="/ui/login">'
        '<label for="token">API token</label>'
        '<input id="token" name="token" type="password" autocomplete="off" required autofocus>'
        '<button type="submit" class="btn go">Log in</button></form></div>'
    )
    return _page("Log in", body)


def _page(
    title: str, body: str, who: Identity | None = None, session: Session | None = None,
    view: str = "", rid: str = "", wide: bool = False,
) -> str:  # fmt: skip
    header = ""
    if who is not None and session is not None:
        roles = ", ".join(who.roles) or "no roles"
        header = (
            '<header class="top"><a class="brand" href="/ui/">golive</a>'
            + (
                '<span class="conn" data-live="connection" role="status">connecting…</span>'
                if view in ("rollout", "warroom")
                else ""
            )
            + f'<span class="who">{clean(who.user)} <span class="muted">'
            f"({clean(permission(who).value)}; {clean(roles)})</span></span>"
            '<form method="post" action="/ui/logout" class="logout">'
            f'<input type="hidden" name="csrf" value="{clean(session.csrf)}">'
            '<button type="submit" class="btn small">Log out</button></form></header>'
        )
    csrf = f'<meta name="csrf-token" content="{clean(session.csrf)}">' if session else ""
    scripts = (
        f'<script defer src="{asset("uPlot-1.6.32.iife.min.js")}"></script>'
        f'<script defer src="{asset("dashboard.js")}"></script>'
        if view
        else ""
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{clean(title)} · golive</title>{csrf}<link rel="icon" href="data:,">'
        f'<link rel="stylesheet" href="{asset("uPlot-1.6.32.min.css")}">'
        f'<link rel="stylesheet" href="{asset("dashboard.css")}">{scripts}</head>'
        f'<body data-view="{clean(view)}" data-rollout="{clean(rid)}"'
        f"{' class=warroom' if wide else ''}>{header}<main>{body}</main></body></html>"
    )


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
