"""Private files: what golive writes is readable by its own user only, whatever the umask.

The state directory holds the plan text, the journal and token hashes (the database), and the
proxies' configurations, pid files, sockets and logs: who runs what where. Every directory
golive creates there is 0700 (an existing one with looser bits is tightened) and every file it
writes is 0600. golive never changes its own umask: the revisions it starts inherit the user's,
and only the proxies golive runs itself get ``PROXY_UMASK`` (their logs, pid files and sockets
live in the state directory too).
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from pathlib import Path
from typing import BinaryIO

from golive.errors import StateError

DIR_MODE = 0o700
FILE_MODE = 0o600
PROXY_UMASK = 0o077  # for the proxies golive starts: what they create is theirs (ours) alone
SOCKET_PATH_MAX = 100  # sun_path holds 108 bytes with the NUL; keep a margin


def private_dir(path: Path) -> Path:
    """Create ``path`` and its missing parents 0700; tighten ``path`` if it exists looser.

    A shared directory (sticky bit, as /tmp) is refused rather than tightened.
    """
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for p in reversed(missing):
        try:
            p.mkdir(mode=DIR_MODE)
        except FileExistsError:
            pass  # created concurrently: tightened below if it is ours
        except OSError as exc:
            raise StateError(f"cannot create the directory {p}: {exc.strerror}") from exc
        _tighten(p)
    if not missing:
        _tighten(path)
    return path


def _tighten(path: Path) -> None:
    try:
        st = path.stat()
    except OSError as exc:
        raise StateError(f"cannot read the directory {path}: {exc.strerror}") from exc
    if not stat.S_ISDIR(st.st_mode):
        raise StateError(f"{path} is not a directory")
    if st.st_mode & stat.S_ISVTX:
        raise StateError(
            f"{path} is a shared directory (mode {stat.S_IMODE(st.st_mode):o}); "
            "give golive a directory of its own (--state-dir)"
        )
    if stat.S_IMODE(st.st_mode) != DIR_MODE:
        try:
            path.chmod(DIR_MODE)
        except OSError as exc:
            raise StateError(f"cannot make {path} private (chmod 700): {exc.strerror}") from exc


def _open_private(path: Path, flags: int) -> int:
    fd = os.open(path, flags | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
    try:
        if stat.S_IMODE(os.fstat(fd).st_mode) != FILE_MODE:
            os.fchmod(fd, FILE_MODE)  # written by an older golive, or an umask such as 0277
    except BaseException:
        os.close(fd)
        raise
    return fd


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` in place, 0600 (pid files, configurations read at start).

    A file a running process watches is replaced with ``write_atomically`` instead.
    """
    with os.fdopen(_open_private(path, os.O_WRONLY | os.O_TRUNC), "w") as f:
        f.write(text)


def append_private(path: Path) -> BinaryIO:
    """``path`` opened for appending, 0600: a log golive or a process it starts writes."""
    return os.fdopen(_open_private(path, os.O_WRONLY | os.O_APPEND), "ab")


def make_private(path: Path) -> None:
    """Tighten an existing file to 0600 (a database's -wal and -shm); absent is fine."""
    try:
        if stat.S_IMODE(path.stat().st_mode) != FILE_MODE:
            path.chmod(FILE_MODE)
    except FileNotFoundError:
        return


def socket_path(workdir: Path, name: str) -> Path:
    """Where ``workdir``'s unix socket ``name`` lives: ``workdir/name``, or, when that is longer
    than a socket path may be, a hashed name in ``golive-<uid>`` in the temp dir. Create its
    directory with ``socket_dir`` before binding."""
    path = workdir.absolute() / name
    if len(os.fsencode(path)) <= SOCKET_PATH_MAX:
        return path
    digest = hashlib.sha256(os.fsencode(workdir.absolute())).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"golive-{os.geteuid()}" / f"{digest}-{name}"


def socket_dir(socket: Path) -> None:
    """Make ``socket``'s directory exist, 0700 and this user's own (it may be in a shared place
    such as /tmp, where someone else could have made it first: that is refused)."""
    path = socket.parent
    try:
        path.mkdir(mode=DIR_MODE)
    except FileExistsError:
        pass
    except OSError as exc:
        raise StateError(f"cannot create the directory {path}: {exc.strerror}") from exc
    st = path.lstat()
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
        raise StateError(f"{path} is not a directory of this user's; remove it or set TMPDIR")
    if stat.S_IMODE(st.st_mode) != DIR_MODE:
        path.chmod(DIR_MODE)
