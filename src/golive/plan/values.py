"""Scalar value types of the plan language: durations, percentages, secret references.

Pure parsing with precise messages; the loader attaches file:line:col.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Annotated

from pydantic import BeforeValidator, WithJsonSchema

from golive.plan.passwords import ADVICE, password_in

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h|d)$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PERCENT = re.compile(r"^(\d+(?:\.\d+)?)%$")

DURATION_HELP = "a duration like 500ms, 30s, 15m, 2h or 2d"
MAX_DURATION = 30 * 86400.0  # longer is a typo (9999999h), and not a number the clock can add
PERCENT_HELP = "a percentage like 0.5% or 5%"


def parse_duration(text: object) -> float:
    """Return seconds for ``500ms | 30s | 15m | 2h``; raise ValueError naming the format."""
    if isinstance(text, bool) or not isinstance(text, str):
        raise ValueError(f"expected {DURATION_HELP}, got {text!r}")
    match = _DURATION.match(text.strip()) if len(text) <= 32 else None
    if match is None:
        raise ValueError(f"expected {DURATION_HELP}, got {_short(text)}")
    seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds > MAX_DURATION:
        raise ValueError(f"{text} is longer than a plan can wait (at most 30 days)")
    return seconds


def _short(value: object) -> str:
    shown = repr(value)
    return shown if len(shown) <= 60 else f"{shown[:40]}... ({len(shown)} characters)"


def parse_percent(text: object) -> float:
    """Return a fraction (``'0.5%'`` -> 0.005); raise ValueError naming the format."""
    if isinstance(text, bool) or not isinstance(text, str):
        raise ValueError(f"expected {PERCENT_HELP}, got {text!r}")
    match = _PERCENT.match(text.strip())
    if match is None:
        raise ValueError(f"expected {PERCENT_HELP}, got {text!r}")
    value = float(match.group(1)) / 100.0
    if value > 1.0:
        raise ValueError(f"expected a percentage between 0% and 100%, got {text!r}")
    return value


Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    WithJsonSchema({"type": "string", "pattern": r"^\d+(\.\d+)?(ms|s|m|h|d)$"}),
]
Percent = Annotated[
    float,
    BeforeValidator(parse_percent),
    WithJsonSchema({"type": "string", "pattern": r"^\d+(\.\d+)?%$"}),
]


_URL = re.compile(
    r"^[A-Za-z][A-Za-z0-9+.-]*://(?:[^/?#@]*@)?(?:\[[^\]]*\]|[^/?#:]*)(?::([^/?#]*))?"
)
PORTS = (1, 65535)


def port_problem(text: str) -> str | None:
    """Why the port in a URL (``http://host:port/...``, when it gives one) or an address
    (``host:port``) is not a TCP port, or None when it is (or the text gives no port)."""
    url = _URL.match(text)
    if url is not None:
        port = url.group(1)
        if not port:
            return None
    elif ":" in text:
        port = text.rpartition(":")[2]
    else:
        return None
    low, high = PORTS
    if not port.isdigit() or not low <= int(port) <= high:
        shown = re.sub(r"//[^/@]*@", "//***@", text)  # never echo credentials
        return f"port {port} in {shown!r} is not a TCP port: a port is {low} to {high}"
    return None


def format_duration(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 120:
        return f"{seconds:g}s"
    if seconds < 7200:
        return f"{seconds / 60:g}m"
    return f"{seconds / 3600:g}h"


@dataclass(frozen=True, slots=True)
class SecretRef:
    """A reference to a secret (``env:NAME`` or ``file:/path``); the value is never held here.

    ``str()`` and ``repr()`` show the reference, never the secret, so it is safe to print.
    """

    scheme: str
    target: str

    @classmethod
    def parse(cls, text: object) -> SecretRef:
        if not isinstance(text, str) or ":" not in text:
            raise ValueError("expected a secret reference like env:NAME or file:/path")
        scheme, _, target = text.partition(":")
        if scheme not in ("env", "file") or not target:
            raise ValueError(
                "expected a secret reference like env:NAME or file:/path "
                "(secrets are never written into a plan)"
            )
        return cls(scheme, target)

    def __str__(self) -> str:
        return f"{self.scheme}:{self.target}"


def parse_secret_or_url(text: object) -> SecretRef | str:
    """A connection string: a secret reference, or a literal one without a password."""
    if not isinstance(text, str):
        raise ValueError("expected a URL or a secret reference like env:NAME")
    if text.startswith(("env:", "file:")):
        return SecretRef.parse(text)
    if (why := password_in(text)) is not None:
        raise ValueError(f"{why}; {ADVICE}")
    return text


def parse_web_url(text: object) -> SecretRef | str:
    """An http(s) URL, or a secret reference to one (when it carries a token)."""
    value = parse_secret_or_url(text)
    if isinstance(value, str) and not re.match(r"^https?://", value, re.IGNORECASE):
        raise ValueError(f"expected an http:// or https:// URL, got {value!r}")
    return value


def parse_env_value(text: object) -> SecretRef | str:
    """A value given to a child's environment: text, or a secret reference read at start."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        return str(text)
    if isinstance(text, str) and text.startswith(("env:", "file:")):
        return SecretRef.parse(text)
    if not isinstance(text, str):
        raise ValueError("expected text or a secret reference like env:NAME")
    return text


Connection = Annotated[
    SecretRef | str,
    BeforeValidator(parse_secret_or_url),
    WithJsonSchema({"type": "string"}),
]
WebUrl = Annotated[
    SecretRef | str,
    BeforeValidator(parse_web_url),
    WithJsonSchema({"type": "string", "pattern": r"^(https?://|env:|file:)"}),
]
EnvValue = Annotated[
    SecretRef | str,
    BeforeValidator(parse_env_value),
    WithJsonSchema({"type": "string"}),
]


def reveal(value: SecretRef | str) -> str:
    """The secret's value, read when needed (never logged, never stored)."""
    if isinstance(value, str):
        return value
    if value.scheme == "env":
        found = os.environ.get(value.target)
        if found is None:
            raise LookupError(f"the environment variable {value.target} is not set")
        return found
    try:
        with open(value.target, encoding="utf-8") as fh:
            return fh.read().strip()
    except OSError as exc:
        raise LookupError(f"cannot read the secret file {value.target}: {exc.strerror}") from None
