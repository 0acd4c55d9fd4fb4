"""Who is acting: from an API token (``GOLIVE_TOKEN``), or a local identity file.

The identity file (``GOLIVE_IDENTITY``, else ``~/.config/golive/identity.yaml``) names the user
and the roles they hold::

    user: alice
    roles: [release-manager, tech-lead]

A token is created with ``golive token add USER --role ROLE``; only its SHA-256 is stored. With
neither, the user is the login name and holds no role: they may run rollouts, not sign them off.
"""

from __future__ import annotations

import getpass
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from golive.errors import AuthorizationError, StateError
from golive.store.base import Tokens
from golive.textfile import TextFileError, read_text

ROLE = re.compile(r"^(?!(?:anyone|starter)$)[a-z0-9][a-z0-9_-]{0,62}$")  # not a permission word
# any printable name, compared as a person: no control character (a trailing newline passed
# '$'), no bidirectional override that would show the name in another order
USER = re.compile(r"[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]{1,64}")


@dataclass(frozen=True, slots=True)
class Identity:
    user: str
    roles: tuple[str, ...]
    source: str  # where it came from, for messages
    admin: bool = False  # an admin token: may mint and revoke tokens

    def holds(self, role: str) -> bool:
        return role in self.roles

    @property
    def kind(self) -> str:
        """token, identity file or login name: how strongly ``user`` is known."""
        if self.source in ("token", "webhook"):
            return self.source
        return "login name" if self.source.startswith("login name") else "identity file"


def identity_file() -> Path:
    given = os.environ.get("GOLIVE_IDENTITY")
    return Path(given) if given else Path.home() / ".config" / "golive" / "identity.yaml"


def _from_file(path: Path) -> Identity:
    try:
        data = yaml.safe_load(read_text(path, 65_536))
    except TextFileError as exc:
        where = f":{exc.line}:{exc.column}" if exc.line else ""
        raise StateError(f"cannot read the identity file {path}{where}: {exc}") from None
    except yaml.YAMLError as exc:
        raise StateError(f"the identity file {path} is not valid YAML: {exc}") from None
    except RecursionError:
        raise StateError(f"the identity file {path} is nested too deeply") from None
    if not isinstance(data, dict) or not isinstance(data.get("user"), str) or not data["user"]:
        raise StateError(f"{path}: expected 'user: NAME' and 'roles: [ROLE, ...]'")
    if not USER.fullmatch(data["user"]):
        raise StateError(f"{path}: not a user name: {data['user']!r} (letters, digits, . _ @ -)")
    roles = data.get("roles") or []
    if not isinstance(roles, list) or not all(isinstance(r, str) and ROLE.match(r) for r in roles):
        raise StateError(f"{path}: roles must be a list of names like release-manager")
    return Identity(data["user"], tuple(roles), str(path))


async def from_token(store: Tokens, token: str, now: float, name: str = "GOLIVE_TOKEN") -> Identity:
    """Who ``token`` identifies (the CLI's ``GOLIVE_TOKEN``, the server's bearer token, named
    ``name`` in messages): found by its SHA-256, refused when unknown, revoked or expired."""
    found = await store.find_token(token)
    if found is None:
        raise AuthorizationError(
            f"{name} is not a known token (an admin creates one with golive token add)"
        )
    if found.revoked_at is not None:
        raise AuthorizationError(f"{name} (token {found.id}) was revoked")
    if not found.valid(now):
        raise AuthorizationError(f"{name} (token {found.id}) has expired")
    return Identity(found.user, found.roles, "token", found.admin)


async def whoami(store: Tokens, now: float | None = None) -> Identity:
    token = os.environ.get("GOLIVE_TOKEN")
    if token:
        return await from_token(store, token, time.time() if now is None else now)
    path = identity_file()
    if path.exists():
        return _from_file(path)
    login = getpass.getuser()  # $LOGNAME or $USER first: anyone's environment can set them
    if not USER.fullmatch(login):
        raise StateError(
            f"the login name {login!r} is not a user name (no control characters or "
            f"direction overrides, at most 64 characters); name yourself in {path}"
        )
    return Identity(login, (), f"login name (no {path})")
