"""API tokens: the first admin token (once), then minting, listing and revoking by an admin.

Only a token's SHA-256 is stored; the token itself is printed once. Every change goes into the
token log (hash-chained like a rollout's journal) in the same transaction, naming who did it.
Anyone who can write the state database could still insert a row by hand: ``golive audit``
is what proves the record (see docs/approvals.md, trust model).
"""

from __future__ import annotations

import math
import re
import secrets

from golive.core.state import Event
from golive.errors import AuthorizationError, StateError
from golive.identity import ROLE, Identity
from golive.store.base import Tokens
from golive.store.tokens import TokenRecord, token_hash

USER_NAME = re.compile(r"[A-Za-z0-9._@-]{1,64}")


def _new() -> str:
    return "glv_" + secrets.token_urlsafe(32)


def _admin(who: Identity, what: str) -> None:
    if not (who.admin and who.kind == "token"):
        raise AuthorizationError(
            f"{what} needs an admin token in GOLIVE_TOKEN ({who.user} is identified by "
            f"{who.source}); the first admin token comes from 'golive token init NAME'"
        )


async def bootstrap(store: Tokens, user: str, now: float) -> str:
    """The first admin token: allowed once, while no admin token exists."""
    _valid_user(user)
    token = _new()
    tid = token_hash(token)[:12]
    event = Event(
        "token_created",
        f"admin token {tid} for {user} created (the first one: golive token init)",
        {"id": tid, "user": user, "roles": [], "admin": True, "by": "init"},
    )
    if not await store.bootstrap_token(token, user, now, event):
        raise AuthorizationError(
            "an admin token already exists; an admin mints more with 'golive token add'"
        )
    return token


async def add(
    store: Tokens, who: Identity, user: str, roles: tuple[str, ...], admin: bool,
    expires_at: float | None, now: float,
) -> str:  # fmt: skip
    _admin(who, "creating a token")
    _valid_user(user)
    bad = [r for r in roles if not ROLE.match(r)]
    if bad:
        raise StateError(
            f"not a role name: {', '.join(bad)} (lowercase, digits, '-' and '_'; not 'anyone' "
            "or 'starter', which name who may use a verb)"
        )
    if expires_at is not None and not (math.isfinite(expires_at) and expires_at > now):
        raise StateError("a token must expire in the future, at a time (not NaN or infinity)")
    token = _new()
    tid = token_hash(token)[:12]
    kind = "admin token" if admin else "token"
    event = Event(
        "token_created",
        f"{kind} {tid} for {user} ({', '.join(roles) or 'no role'}) created by {who.user}",
        {"id": tid, "user": user, "roles": list(roles), "admin": admin, "by": who.user,
         "expires_at": expires_at},
    )  # fmt: skip
    await store.add_token(token, user, roles, now, event, admin, expires_at)
    return token


async def listing(store: Tokens, who: Identity) -> list[TokenRecord]:
    _admin(who, "listing tokens")
    return await store.tokens()


async def revoke(store: Tokens, who: Identity, token_id: str, now: float) -> TokenRecord:
    _admin(who, "revoking a token")
    if not re.fullmatch(r"[0-9a-f]{4,64}", token_id):
        raise StateError(f"not a token id: {token_id!r} ('golive token list' shows them)")
    event = Event(
        "token_revoked", f"token {token_id} revoked by {who.user}", {"id": token_id, "by": who.user}
    )
    return await store.revoke_token(token_id, now, event)


def _valid_user(user: str) -> None:
    if not USER_NAME.fullmatch(user):
        raise StateError(f"not a user name: {user!r} (letters, digits, '.', '_', '@', '-')")
