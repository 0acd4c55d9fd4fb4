"""Seal: the secret key that makes golive's record prove itself, and the MACs made with it.

A hash chain anyone can recompute proves nothing against someone who can write the database:
they edit a row and recompute every hash after it. With a key kept *outside* the database
(``<state-dir>/keys/journal.key``, or wherever ``GOLIVE_KEY_FILE`` points, e.g. a root-owned
file), an edit can only be hidden by someone who can also read that key. The key file is
created 0600 in a 0700 directory on first use, and a key file others may read is refused: a
key everyone can read seals nothing.

``mac`` is HMAC-SHA256 over a canonical JSON encoding of its parts, so ``mac("a", 1)`` is stable
across runs, hosts and Python versions; ``check`` compares in constant time.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import os
import secrets
import stat
import tempfile
from hashlib import sha256
from pathlib import Path

from golive.errors import StateError

KEY_ENV = "GOLIVE_KEY_FILE"
KEY_BYTES = 32


def key_path(state_dir: Path) -> Path:
    """Where the key lives: ``$GOLIVE_KEY_FILE``, else ``<state-dir>/keys/journal.key``."""
    override = os.environ.get(KEY_ENV)
    return Path(override) if override else state_dir / "keys" / "journal.key"


def canonical(parts: tuple[object, ...]) -> bytes:
    return json.dumps(
        list(parts), sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str
    ).encode()


class Seal:
    """A MAC key; ``Seal.load(state_dir)`` is the only way golive itself makes one."""

    __slots__ = ("_key", "path")

    def __init__(self, key: bytes, path: Path | None = None) -> None:
        if len(key) < KEY_BYTES:
            raise StateError(f"a journal key needs at least {KEY_BYTES} bytes, not {len(key)}")
        self._key = key
        self.path = path

    @classmethod
    def load(cls, state_dir: Path) -> Seal:
        """The key of this state directory, created (0600, in a 0700 directory) on first use."""
        path = key_path(state_dir)
        try:
            if not path.exists() and not path.is_symlink():
                _create(path)
            return cls(_read(path), path)
        except OSError as exc:
            raise StateError(
                f"cannot use the journal key {path}: {exc.strerror or exc}; "
                f"point {KEY_ENV} at a key file golive may read"
            ) from exc

    def mac(self, *parts: object) -> str:
        return hmac.new(self._key, canonical(parts), sha256).hexdigest()

    @property
    def key_id(self) -> str:
        """A public name for the key (16 hex digits of a hash of it): an export names the key
        its MACs were made with, never the key itself."""
        return sha256(b"golive key id\0" + self._key).hexdigest()[:16]

    def check(self, mac: str, *parts: object) -> bool:
        return hmac.compare_digest(mac.encode(), self.mac(*parts).encode())

    def __repr__(self) -> str:  # never show the key
        return f"Seal({self.path})"


def _create(path: Path) -> None:
    """Write a fresh key without a window where another process sees half of it."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # 0600
    try:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(KEY_BYTES) + "\n")
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(FileExistsError):  # another process made it first: use theirs
            os.link(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _read(path: Path) -> bytes:
    info = path.stat()
    if not stat.S_ISREG(info.st_mode):
        raise StateError(f"the journal key {path} is not a regular file")
    if info.st_mode & 0o077:
        raise StateError(
            f"the journal key {path} may be read by others (mode {stat.S_IMODE(info.st_mode):04o}):"
            f" anyone who reads it can forge the record; 'chmod 600 {path}'"
        )
    text = path.read_text().strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise StateError(f"the journal key {path} is not hex ({2 * KEY_BYTES} digits)") from None
    if len(key) < KEY_BYTES:
        raise StateError(f"the journal key {path} is too short: {2 * KEY_BYTES} hex digits or more")
    return key
