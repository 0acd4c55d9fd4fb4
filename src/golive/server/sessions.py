"""Browser sessions for the dashboard: a person pastes an API token once, the browser keeps a
random session id in an HttpOnly, SameSite=Strict cookie, never the token.

The server keeps, per session (by the SHA-256 of its id, so not even a memory dump gives a
usable cookie), the id of the token it stands for, a CSRF token and an expiry: at most
``LIFETIME`` and never past the token's own expiry. Every request looks the token up again,
so a revoked or expired token ends its sessions at once. A request that changes something
with a session cookie needs the session's CSRF token in ``X-CSRF-Token`` (or a form field)
and an ``Origin`` (or ``Referer``) of this very server; a Bearer token needs neither (a
browser never sends one on its own). Sessions live in the server's memory: a restart logs
everyone out.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.requests import Request

from golive.identity import Identity
from golive.store.base import Tokens

COOKIE = "golive_session"
CSRF_HEADER = "x-csrf-token"
LIFETIME = 8 * 3600.0
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class Session:
    token_id: str
    user: str
    csrf: str
    expires: float


def _key(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


class Sessions:
    def __init__(self, lifetime: float = LIFETIME, most: int = 10_000) -> None:
        self.lifetime, self.most = lifetime, most
        self._by_key: dict[str, Session] = {}

    def open(self, token_id: str, user: str, token_expires: float | None, now: float) -> str:
        """A new session's id (the cookie's value)."""
        self._forget_expired(now)
        while len(self._by_key) >= self.most:  # bounded: the oldest go first
            del self._by_key[next(iter(self._by_key))]
        sid = secrets.token_urlsafe(32)
        expires = now + self.lifetime
        if token_expires is not None:
            expires = min(expires, token_expires)
        self._by_key[_key(sid)] = Session(token_id, user, secrets.token_urlsafe(32), expires)
        return sid

    def get(self, sid: str, now: float) -> Session | None:
        session = self._by_key.get(_key(sid))
        if session is not None and session.expires <= now:
            self.close(sid)
            return None
        return session

    def close(self, sid: str) -> None:
        self._by_key.pop(_key(sid), None)

    def _forget_expired(self, now: float) -> None:
        for key in [k for k, s in self._by_key.items() if s.expires <= now]:
            del self._by_key[key]

    def __len__(self) -> int:
        return len(self._by_key)


async def identity_of(store: Tokens, session: Session, now: float) -> Identity | None:
    """Who the session's token identifies now (None: revoked, expired or gone)."""
    for token in await store.tokens():
        if token.id == session.token_id:
            if token.revoked_at is not None or not token.valid(now):
                return None
            return Identity(token.user, token.roles, "token", token.admin)
    return None


def own_origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.headers.get('host', '')}"


def same_origin(request: Request) -> bool:
    """The request names this server as where it comes from (Origin, else Referer)."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        referer = request.headers.get("referer")
        if referer is None:
            return False
        parts = urlsplit(referer)
        origin = f"{parts.scheme}://{parts.netloc}"
    return origin == own_origin(request)


def csrf_ok(session: Session, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), session.csrf.encode())
