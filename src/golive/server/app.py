"""The Starlette application: the route table, one JSON error handler, and the guard around it.

Every answer that is not a success is one JSON document, ``{"error": ...}`` (and ``issues`` for
an invalid plan), with the status that says what to do about it: 401 no or bad token, 403 not
allowed (AuthorizationError), 404 no such rollout, 409 not now (StateError), 422 invalid plan,
413 body over 1 MB, 415 wrong content type, 400 unreadable body, 429 too many failed logins.
Anything unexpected is a 500 with a generic message; its traceback goes to the log, never to
the client. The guard also refuses a body over the limit while it is read (a lying or missing
Content-Length gains nothing) and adds the security headers to every response.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Lifespan, Message, Receive, Scope, Send

from golive.errors import (
    AuthorizationError,
    GoliveError,
    PermanentError,
    PlanError,
    StateError,
    TransientError,
)
from golive.identity import Identity
from golive.notify import webhook
from golive.plan.yamlsource import MAX_BYTES
from golive.server.auth import FailedLogins, Refused
from golive.server.hosts import host_allowed
from golive.server.refusals import RefusalBudget
from golive.server.sessions import Sessions
from golive.store.base import Measurement, Store
from golive.store.records import StoredEvent

log = logging.getLogger("golive.server")
MAX_BODY = MAX_BYTES  # 1 MB, the most a plan may be (plan/yamlsource.py); a command is less
HTML_CSP = "default-src 'none'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"
UI_CSP = (  # the dashboard: its own scripts, styles and API only; no inline script
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
API_CSP = "default-src 'none'; frame-ancestors 'none'"


@dataclass
class Feed:
    """One rollout's journal and measurements as its event streams last read them: read at
    most twice per ``events_poll`` however many streams follow the rollout (server/events.py).
    Each stream used to read the journal, read and verify every measurement, and load the
    record itself twice a second: 100 dashboards slowed the API and the controller."""

    events: list[StoredEvent] = field(default_factory=list)
    measurements: list[Measurement] = field(default_factory=list)
    settled: bool = False
    read_at: float = -math.inf  # time.monotonic() of the last read
    followers: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


@dataclass
class Context:
    """What the handlers share: the store, where state lives, and the controller's doorbell."""

    store: Store
    state_dir: Path
    limiter: FailedLogins = field(default_factory=FailedLogins)
    sessions: Sessions = field(default_factory=Sessions)  # the dashboard's logins
    wake: Callable[[str | None], None] | None = None  # a plan or a command: act on it now
    events_max_seconds: float = 900.0  # an event stream closes after this long (client resumes)
    events_poll: float = 0.5
    keepalive: float = 15.0
    max_streams: int = 100  # event streams open at once: each polls the store
    max_streams_per_caller: int = 20  # so one (stolen) viewer token cannot take them all
    streams: int = 0
    streams_of: dict[str, int] = field(default_factory=dict)  # open streams per user
    feeds: dict[str, Feed] = field(default_factory=dict)  # rollout -> what its streams read
    stopping: bool = False  # set on SIGTERM: event streams end so the server can stop
    refusals: RefusalBudget = field(default_factory=RefusalBudget)  # refused requests journaled
    hosts: frozenset[str] | None = None  # Host headers answered (hosts.py); None: any
    webhook_key: bytes | None = None  # signs the sign-off webhook (golive serve --webhook-secret)
    webhook_ids: webhook.Seen = field(
        default_factory=webhook.Seen
    )  # ids accepted: a replay is refused


Handler = Callable[[Request, Identity | None, Context], Awaitable[Response]]


def error_body(exc: BaseException) -> tuple[int, dict[str, object], dict[str, str]]:
    """The status, JSON body and headers an exception is answered with."""
    if isinstance(exc, Refused):
        return exc.status, {"error": exc.message}, exc.headers
    if isinstance(exc, PlanError):
        issues = [
            {"line": i.line, "column": i.column, "field": i.field, "message": i.message}
            for i in exc.issues
        ]
        return 422, {"error": "invalid plan", "issues": issues}, {}
    if isinstance(exc, AuthorizationError):
        return 403, {"error": str(exc)}, {}
    if isinstance(exc, StateError | PermanentError):
        return 409, {"error": str(exc)}, {}
    if isinstance(exc, TransientError):
        return 503, {"error": str(exc)}, {}
    if isinstance(exc, GoliveError):
        return 400, {"error": str(exc)}, {}
    if isinstance(exc, HTTPException):
        return exc.status_code, {"error": str(exc.detail)}, dict(exc.headers or {})
    return 500, {"error": "internal error; the server's log has the details"}, {}


async def _handle(request: Request, exc: Exception) -> Response:
    status, body, headers = error_body(exc)
    return JSONResponse(body, status, headers)


class Guard:
    """Outermost: a body limit enforced while reading, security headers, and a JSON 500 for
    whatever escaped every handler."""

    def __init__(self, app: ASGIApp, max_body: int = MAX_BODY) -> None:
        self.app, self.max_body = app, max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False
        html = not scope["path"].startswith("/api/")
        ui = scope["path"].startswith("/ui/")
        csp = UI_CSP if ui else HTML_CSP if html else API_CSP

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                headers += [
                    (b"x-content-type-options", b"nosniff"),
                    # the dashboard: same-origin, so a browser names this origin on its forms and
                    # fetches (no-referrer makes Chromium send 'Origin: null' on a form POST)
                    (b"referrer-policy", b"same-origin" if ui else b"no-referrer"),
                    (b"x-frame-options", b"DENY"),
                    (b"content-security-policy", csp.encode()),
                ]
                if not html or (ui and not scope["path"].startswith("/ui/static/")):
                    headers.append((b"cache-control", b"no-store"))  # pages carry a CSRF token
                message = {**message, "headers": headers}
            await send(message)

        read = 0

        async def limited() -> Message:
            nonlocal read
            message = await receive()
            if message["type"] == "http.request":
                read += len(message.get("body", b""))
                if read > self.max_body:
                    raise Refused(413, f"request body over {self.max_body} bytes")
            return message

        try:
            ctx: Context = scope["app"].state.ctx
            if not host_allowed(ctx.hosts, dict(scope.get("headers", [])).get(b"host")):
                raise Refused(421, "this server does not answer to that Host header")
            length = dict(scope.get("headers", [])).get(b"content-length")
            if length is not None and (not length.isdigit() or int(length) > self.max_body):
                raise Refused(413, f"request body over {self.max_body} bytes")
            await self.app(scope, limited, send_with_headers)
        except Exception as exc:
            status, body, headers = error_body(exc)
            if status == 500:
                log.exception("internal error on %s %r", scope["method"], scope["path"])
            if not started:
                await JSONResponse(body, status, headers)(scope, receive, send_with_headers)


def build_app(ctx: Context, lifespan: Lifespan[Starlette] | None = None) -> Starlette:
    from golive.server.routes import ROUTES
    from golive.server.ui import UI_ROUTES

    app = Starlette(
        routes=[*ROUTES, *UI_ROUTES],
        exception_handlers={Refused: _handle, GoliveError: _handle, HTTPException: _handle},
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    app.add_middleware(Guard)
    return app
