"""Standard output that outlives its reader: ``golive run plan.yaml | head -5`` must not stop
the controller half-way through a rollout (traffic left at the canary's weight, nobody driving)
because ``head`` has read enough, and ``golive status --json | head -c 100`` is no internal
error. Once the reader has gone, what golive prints is dropped and the command goes on; the
journal still holds every event (``golive status ID --watch`` follows it)."""

from __future__ import annotations

import os
import sys
from typing import Any, TextIO, cast


class Outlet:
    """A text stream whose writes and flushes survive a closed pipe (EPIPE)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.reader_gone = False

    def write(self, text: str) -> int:
        if not self.reader_gone:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._unplug()
        return len(text)

    def flush(self) -> None:
        if not self.reader_gone:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._unplug()

    def _unplug(self) -> None:
        """From now on the descriptor writes to /dev/null, so the text still buffered in the
        original stream cannot fail again when the interpreter flushes it at exit."""
        self.reader_gone = True
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, self._stream.fileno())
        finally:
            os.close(devnull)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def install() -> None:
    """Route ``print`` and every :class:`~golive.cli.terminal.Terminal` (which writes to the
    current ``sys.stdout``) through an :class:`Outlet`."""
    if not isinstance(sys.stdout, Outlet):
        sys.stdout = cast(TextIO, Outlet(sys.stdout))
