"""Reading a text file someone gave golive (a plan, an identity file) without trusting it: a
regular file only (a FIFO would hang, ``/dev/zero`` never ends), at most ``limit`` bytes read
before anything is parsed, UTF-8 with the line and column of the first bad byte."""

from __future__ import annotations

import os
import stat
from pathlib import Path


class TextFileError(Exception):
    """Why the file cannot be used, and where (line and column, 1-based; 0 when not in it)."""

    def __init__(self, message: str, line: int = 0, column: int = 0) -> None:
        super().__init__(message)
        self.line, self.column = line, column


def read_text(path: Path, limit: int) -> str:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise TextFileError("no such file") from None
    except OSError as exc:
        raise TextFileError(f"cannot read: {exc.strerror}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise TextFileError("not a regular file (a pipe, a device or a directory)")
        data = os.read(fd, limit + 1)
    except OSError as exc:
        raise TextFileError(f"cannot read: {exc.strerror}") from None
    finally:
        os.close(fd)
    return decode(data, limit)


def decode(data: bytes, limit: int | None = None) -> str:
    """UTF-8 text of at most ``limit`` bytes (``data`` read with one byte more, to tell)."""
    if limit is not None and len(data) > limit:
        raise TextFileError(f"file is larger than {limit} bytes", 1, 1)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, column = position(data, exc.start)
        raise TextFileError(
            f"not UTF-8 text: byte 0x{data[exc.start]:02x} cannot start a character", line, column
        ) from None


def position(data: bytes | str, offset: int) -> tuple[int, int]:
    """The 1-based line and column of ``offset`` in ``data``."""
    newline = b"\n" if isinstance(data, bytes) else "\n"
    line = data.count(newline, 0, offset) + 1  # type: ignore[arg-type]
    start = data.rfind(newline, 0, offset) + 1  # type: ignore[arg-type]
    return line, offset - start + 1
