"""What checks return, and how every check is run: a timeout per attempt, retries, one line.

A probe answers pass, warn or fail with the value it measured and a one-line reason. A check
step turns that into a :class:`CheckResult` (passed / failed / wait) for the engine.
"""

from __future__ import annotations

import functools
import operator
import os
import re
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum


class Outcome(StrEnum):
    PASS = "pass"  # noqa: S105 (an outcome, not a password)
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True, slots=True)
class Probe:
    outcome: Outcome
    value: str  # what was measured ("200 in 35ms", "41 days left"), "" when nothing was
    reason: str  # one line, for a person

    @staticmethod
    def passed(value: str, reason: str) -> Probe:
        return Probe(Outcome.PASS, value, reason)

    @staticmethod
    def warned(value: str, reason: str) -> Probe:
        return Probe(Outcome.WARN, value, reason)

    @staticmethod
    def failed(value: str, reason: str) -> Probe:
        return Probe(Outcome.FAIL, value, reason)


VALUE_LIMIT = 200  # characters of a check's value: "200 in 35ms", a query's first value
REASON_LIMIT = 500  # characters of a check's reason


def bounded(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, saying how much was left out: what a check reports
    quotes what a server or a command sent (a JSON value, a query result), which can be
    megabytes, and goes into the scorecard, the journal and every view of the rollout."""
    if len(text) <= limit:
        return text
    keep = limit - 40  # room for the note below, whatever the count
    return f"{text[:keep]}... ({len(text) - keep} more characters)"


def _errno(exc: BaseException, depth: int = 0) -> int | None:
    """The first OS error number in ``exc``, its causes, or the group it wraps."""
    if depth > 8:
        return None
    if isinstance(exc, OSError) and exc.errno is not None:
        return exc.errno
    inner = list(exc.exceptions) if isinstance(exc, BaseExceptionGroup) else []
    for nxt in [*inner, exc.__cause__, exc.__context__]:
        if nxt is not None and (found := _errno(nxt, depth + 1)) is not None:
            return found
    return None


def one_line(exc: BaseException) -> str:
    """An error as one short line, in words (``connection refused``, not errno tuples)."""
    errno = _errno(exc)
    if errno is not None:
        return os.strerror(errno).lower()
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


_OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le, ">=": operator.ge, "==": operator.eq, "!=": operator.ne,
    "<": operator.lt, ">": operator.gt,
}  # fmt: skip
_CONDITION = re.compile(r"^\s*(<=|>=|==|!=|<|>)\s*(-?\d+(?:\.\d+)?)\s*$")


def meets(value: object, expected: object) -> bool:
    """``expected`` is a condition (``"< 500"``, ``">= 1"``) or a value to equal (as text)."""
    if isinstance(expected, str) and (match := _CONDITION.match(expected)):
        try:
            number = float(str(value))
        except ValueError:
            return False
        return _OPS[match.group(1)](number, float(match.group(2)))
    if isinstance(expected, bool) or isinstance(value, bool):
        return str(value).lower() == str(expected).lower()
    if isinstance(expected, int | float) and not isinstance(expected, bool):
        try:
            return float(str(value)) == float(expected)
        except ValueError:
            return False
    return str(value) == str(expected)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}ms"


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The system's trust store, loaded once (loading it costs tens of milliseconds)."""
    return ssl.create_default_context()
