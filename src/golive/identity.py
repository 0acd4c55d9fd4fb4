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
from dataclasses import dataclass
from pathlib import Path

import yaml

from golive.errors import StateError
from golive.store.sqlite import SQLiteStore

ROLE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


@dataclass(frozen=True, slots=True)
class Identity:
    user: str
    roles: tuple[str, ...]
    source: str  # where it came from, for messages

    def holds(self, role: str) -> bool:
        return role in self.roles


def identity_file() -> Path:
    given = os.environ.get("GOLIVE_IDENTITY")
    return Path(given) if given else Path.home() / ".config" / "golive" / "identity.yaml"


def _from_file(path: Path) -> Identity:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise StateError(f"cannot read the identity file {path}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("user"), str) or not data["user"]:
        raise StateError(f"{path}: expected 'user: NAME' and 'roles: [ROLE, ...]'")
    roles = data.get("roles") or []
    if not isinstance(roles, list) or not all(isinstance(r, str) and ROLE.match(r) for r in roles):
        raise StateError(f"{path}: roles must be a list of names like release-manager")
    return Identity(data["user"], tuple(roles), str(path))


async def whoami(store: SQLiteStore) -> Identity:
    token = os.environ.get("GOLIVE_TOKEN")
    if token:
        found = await store.find_token(token)
        if found is None:
            raise StateError("GOLIVE_TOKEN is not a known token (golive token add creates one)")
        return Identity(found[0], found[1], "token")
    path = identity_file()
    if path.exists():
        return _from_file(path)
    return Identity(getpass.getuser(), (), f"login name (no {path})")
