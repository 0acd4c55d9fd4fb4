"""What every check returns: passed, failed or wait, with a one-line reason."""

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
