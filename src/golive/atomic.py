"""Atomic file replacement: a reader (Envoy, a crashed run) sees old or new, never half."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomically(path: Path, text: str, durable: bool = True) -> None:
    """Write to a temp file in the same directory, fsync (unless not ``durable``: the caller
    would rather lose the write on a power loss than wait for the disk), then rename.

    The file is 0600 (``mkstemp`` creates it so), like every file golive writes.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            if durable:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
