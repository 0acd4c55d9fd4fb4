"""The ledger: every rollout golive created, listed outside the database.

A rollout's head file proves its journal's end, but deleting the rollout from the database
*and* its head file left no trace at all. ``<state-dir>/heads/_ledger`` lists each rollout once
its creation commits, one line each (``id mac``), each MAC keyed and chained to the line
before, appended under a file lock: a rollout listed there but gone from the database is
reported deleted, and a line removed or edited breaks the chain. Only the last line can be cut
unseen, like a whole state directory put back to an earlier copy (docs/audit.md).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from golive.errors import TamperedError
from golive.store.records import GENESIS
from golive.store.seal import Seal

LEDGER = "_ledger"  # no rollout id starts with '_'


class Ledger:
    def __init__(self, directory: Path, seal: Seal) -> None:
        self.path, self.seal = directory / LEDGER, seal

    def add(self, rollout_id: str) -> None:
        """Append a created rollout (OSError if the file system refuses)."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            text = self.path.read_text()
            whole = text[: text.rfind("\n") + 1]  # a line a full disk cut short is dropped
            if len(whole) != len(text):
                os.ftruncate(fd, len(whole.encode()))
            lines = whole.splitlines()
            prev = lines[-1].split()[-1] if lines else GENESIS
            os.write(fd, f"{rollout_id} {self.seal.mac('ledger', prev, rollout_id)}\n".encode())
        finally:
            os.close(fd)

    def ids(self) -> list[str]:
        """Every rollout listed, the chain verified (TamperedError naming the first bad line)."""
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return []
        found, prev = [], GENESIS
        for n, line in enumerate(text[: text.rfind("\n") + 1].splitlines(), 1):
            fields = line.split()
            if len(fields) != 2 or not self.seal.check(fields[1], "ledger", prev, fields[0]):
                raise TamperedError(
                    f"the rollout ledger {self.path} does not verify at line {n} "
                    "(a line removed or edited)"
                )
            found.append(fields[0])
            prev = fields[1]
        return found
