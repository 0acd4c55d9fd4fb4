"""What a migration job says while it runs and when it ends: its status, its journal entries
(read by the engine as they are added), whether it may have changed the database; and the two
signals the engine gives it (its entries are journalled; stop at the next safe point)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Literal

JOURNAL_WAIT = 30.0


class Stopped(Exception):
    """The engine asked the job to stop (the rollout is rolling back)."""


@dataclass
class Outcome:
    """``status``: done, failed, or held (a person must look: the message says what to run)."""

    status: Literal["done", "failed", "held"] = "done"
    message: str = ""
    events: list[tuple[str, str, dict[str, object]]] = field(default_factory=list)
    # given by the engine: set once the events up to ``mark`` are in the journal
    journaled: threading.Event | None = None
    mark: int = 0
    changed: bool = False  # the database may have changed (false: failed before, nothing to undo)
    cancel: threading.Event | None = None  # set by the engine: the rollout no longer wants it

    def stop(self) -> None:
        if self.cancel is not None:
            self.cancel.set()

    def check(self) -> None:
        """Between two safe points: stop here when the rollout no longer wants the job."""
        if self.cancel is not None and self.cancel.is_set():
            raise Stopped("stopped: the rollout is rolling back")

    def in_journal(self, limit: float = JOURNAL_WAIT) -> None:
        """Wait until what was noted so far is journalled (the backup, before any change)."""
        if self.journaled is not None:
            self.mark = len(self.events)
            deadline = time.monotonic() + limit
            while not self.journaled.wait(0.05) and time.monotonic() < deadline:
                self.check()
        self.check()

    def note(self, kind: str, message: str, **data: object) -> None:
        self.events.append((kind, message, data))
