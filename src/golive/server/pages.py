"""The dashboard's page shell and its small formatters: every page is framed here (header with
who is logged in, the CSRF meta tag, the vendored uPlot and the dashboard's own script and
style, served from ``static/`` with a content hash in the URL), and every string a page shows
goes through :func:`clean` (escaped, control and bidirectional characters shown as U+FFFD).
"""

from __future__ import annotations

import hashlib
import html
import re
import time
from functools import cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

from golive.identity import Identity
from golive.server.auth import permission
from golive.server.sessions import Session

STATIC = Path(__file__).parent / "static"


TYPES = {".js": "text/javascript", ".css": "text/css", ".LICENSE": "text/plain"}


UNSHOWN = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


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


def phase_text(phase: object) -> str:
    return str(phase).replace("_", " ")


def pct(value: object) -> str:
    return f"{float(str(value)):g}%" if isinstance(value, int | float) else "–"


def versions_text(versions: object) -> str:
    if not isinstance(versions, dict):
        return "?"
    return f"{versions.get('stable', '?')} → {versions.get('canary', '?')}"


def when(at: object) -> str:
    if not isinstance(at, int | float):
        return ""
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(at))


def clock(at: object) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(at)) if isinstance(at, int | float) else ""


def dialog() -> str:
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


def login_html(error: str | None) -> str:
    problem = f'<p class="error" role="alert">{clean(error)}</p>' if error else ""
    body = (
        '<div class="login"><h1>golive</h1><p>Paste your API token to log in. The browser keeps '
        "a session cookie only; the token is not stored in it.</p>"
        f'{problem}<form method="post" action="/ui/login">'
        '<label for="token">API token</label>'
        '<input id="token" name="token" type="password" autocomplete="off" required autofocus>'
        '<button type="submit" class="btn go">Log in</button></form></div>'
    )
    return page("Log in", body)


def page(
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
