"""Who calls the API, and whether they may: bearer tokens and the three API permissions.

A token's API permission is derived from the token itself, never asked for: ``admin`` (the
token's admin flag) includes ``operator`` (a token holding the ``operator`` role), which
includes ``viewer`` (any valid token). The business roles a gate asks for (release-manager,
security, ...) are not API permissions: ``operations.signoffs`` checks them, as for the CLI.

A token is looked up by its SHA-256 (the store keeps nothing else): the secret itself is never
compared, and the digest an attacker's guess looks up cannot be steered towards a real one.
Failed authentication is counted per client address: past ``limit`` failures within
``window`` seconds, every request from that address that carries a token gets 429 until the
window has passed (a missing token is not a guess, and costs a guesser nothing).
"""

from __future__ import annotations

import math
import time
from collections import deque
from enum import StrEnum
from typing import assert_never

from starlette.requests import Request

from golive.errors import AuthorizationError
from golive.identity import Identity, from_token
from golive.server.sessions import (
    COOKIE,
    CSRF_HEADER,
    SAFE_METHODS,
    Sessions,
    csrf_ok,
    identity_of,
    same_origin,
)
from golive.store.base import Tokens

OPERATOR_ROLE = "operator"


class Policy(StrEnum):
    """What a route needs. ``signer``: any valid token; the operation then checks the business
    role the gate or checklist item asks for (403 without it)."""

    PUBLIC = "public"
    SIGNED = "signed"  # no token: the request's Standard Webhooks signature (server/webhooks.py)
    VIEWER = "viewer"
    SIGNER = "signer"
    OPERATOR = "operator"
    ADMIN = "admin"


class Refused(Exception):
    """An HTTP refusal that is not one of golive's errors: 400, 401, 413, 415, 429."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


def permission(who: Identity) -> Policy:
    if who.admin:
        return Policy.ADMIN
    return Policy.OPERATOR if who.holds(OPERATOR_ROLE) else Policy.VIEWER


def allowed(who: Identity, policy: Policy) -> bool:
    have = permission(who)
    match policy:
        case Policy.PUBLIC | Policy.SIGNED | Policy.VIEWER | Policy.SIGNER:
            return True
        case Policy.OPERATOR:
            return have in (Policy.OPERATOR, Policy.ADMIN)
        case Policy.ADMIN:
            return have is Policy.ADMIN
        case _:
            assert_never(policy)


class FailedLogins:
    """Failed authentications per client address, in a sliding window."""

    def __init__(self, limit: int = 10, window: float = 60.0, clients: int = 10_000) -> None:
        self.limit, self.window, self.clients = limit, window, clients
        self._seen: dict[str, deque[float]] = {}

    def _recent(self, client: str, now: float) -> deque[float]:
        seen = self._seen.setdefault(client, deque())
        while seen and seen[0] <= now - self.window:
            seen.popleft()
        if not seen:
            del self._seen[client]  # bounded by the addresses failing right now
            return deque()
        return seen

    def check(self, client: str, now: float) -> None:
        seen = self._recent(client, now)
        if len(seen) >= self.limit:
            wait = max(1, math.ceil(seen[0] + self.window - now))
            raise Refused(
                429,
                f"too many failed authentications from {client}; try again in {wait}s",
                {"Retry-After": str(wait)},
            )

    def failed(self, client: str, now: float) -> None:
        if client not in self._seen and len(self._seen) >= self.clients:
            for other in list(self._seen):  # many addresses failing: forget the stale ones,
                self._recent(other, now)  # then the oldest, so memory stays bounded
            while len(self._seen) >= self.clients:
                del self._seen[next(iter(self._seen))]
        self._seen.setdefault(client, deque()).append(now)


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Refused(401, "expected 'Authorization: Bearer TOKEN'", CHALLENGE)
    return token.strip()


CHALLENGE = {"WWW-Authenticate": 'Bearer realm="golive"'}


async def from_session(request: Request, store: Tokens, sessions: Sessions) -> Identity:
    """The identity behind the dashboard's session cookie; a request that changes something
    must also be same-origin and carry the session's CSRF token (403 otherwise)."""
    now = time.time()
    session = sessions.get(request.cookies[COOKIE], now)
    who = None if session is None else await identity_of(store, session, now)
    if session is None or who is None:
        raise Refused(401, "the dashboard session has expired or ended; log in again")
    if request.method not in SAFE_METHODS:
        if not same_origin(request):
            raise Refused(403, "cross-origin request refused")
        if not csrf_ok(session, request.headers.get(CSRF_HEADER)):
            raise Refused(403, "missing or wrong CSRF token (X-CSRF-Token)")
    return who


async def identify(
    request: Request, store: Tokens, limiter: FailedLogins, policy: Policy,
    sessions: Sessions | None = None,
) -> Identity | None:  # fmt: skip
    """The caller's identity (None for a public route): Refused 401/429 when it cannot be
    established. A Bearer token wins; without one, the dashboard's session cookie."""
    if policy in (Policy.PUBLIC, Policy.SIGNED):  # SIGNED: the handler checks the signature
        return None
    client, now = client_of(request), time.monotonic()
    token = bearer(request)
    if token is None and sessions is not None and COOKIE in request.cookies:
        return await from_session(request, store, sessions)
    if token is None:
        raise Refused(401, "this route needs an API token: Authorization: Bearer TOKEN", CHALLENGE)
    limiter.check(client, now)
    try:
        return await from_token(store, token, time.time(), name="the bearer token")
    except AuthorizationError as exc:
        limiter.failed(client, now)
        raise Refused(401, str(exc), CHALLENGE) from None


async def still_valid(request: Request, store: Tokens, sessions: Sessions | None) -> bool:
    """Whether the token or dashboard session a long request (an event stream) came with is
    still valid: revoking a token ends its open streams too, not only its next request."""
    now = time.time()
    token = bearer(request)
    if token is not None:
        try:
            await from_token(store, token, now)
        except AuthorizationError:
            return False
        return True
    session = None if sessions is None else sessions.get(request.cookies.get(COOKIE, ""), now)
    return session is not None and await identity_of(store, session, now) is not None


def require(who: Identity | None, policy: Policy) -> None:
    """AuthorizationError (403) when ``who`` has less than ``policy`` asks."""
    if who is not None and not allowed(who, policy):
        raise AuthorizationError(
            f"{who.user} has the {permission(who).value} permission; this needs {policy.value}"
            + (" (a token holding the operator role)" if policy is Policy.OPERATOR else "")
        )


async def authenticate(
    request: Request, store: Tokens, limiter: FailedLogins, policy: Policy,
    sessions: Sessions | None = None,
) -> Identity | None:  # fmt: skip
    who = await identify(request, store, limiter, policy, sessions)
    require(who, policy)
    return who
