"""Units a plan and the analysis share: durations, percentages, TCP ports. Pure."""

from __future__ import annotations

import re

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
