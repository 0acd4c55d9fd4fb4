"""What a check step and a revision's health report to the engine."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class CheckStatus(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    WAIT = "wait"


@dataclass(frozen=True, slots=True)
class CheckResult:
    status: CheckStatus
    message: str


class Health(StrEnum):
    READY = "ready"
    STARTING = "starting"
    ABSENT = "absent"
    FAILED = "failed"
    OCCUPIED = "occupied"  # its port already answers, and not from a process of this rollout


class MigrationStatus(StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    HELD = "held"  # a person must look (an interrupted migration, the lock held elsewhere)


@dataclass(frozen=True, slots=True)
class MigrationReport:
    status: MigrationStatus
    message: str = ""
    changed: bool = True  # false: it stopped before the database changed (nothing to undo)
