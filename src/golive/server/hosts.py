"""Which ``Host`` headers the server answers: the guard against DNS rebinding.

A page on another site can make a browser resolve its own name to 127.0.0.1 and then talk to
a server listening there as if it were that site (same origin, so its scripts read the
answers). Such a request carries the other site's name in ``Host``. A server on a loopback
address therefore answers only IP literals and ``localhost`` (and the names given with
``--allow-host``); one listening where other hosts reach it answers any name unless
``--allow-host`` lists them (its tokens protect it either way).
"""

from __future__ import annotations

import ipaddress

LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain"})


def answered_hosts(loopback: bool, allowed: list[str]) -> frozenset[str] | None:
    """The names answered besides IP literals; None for any name."""
    names = frozenset(name.strip().lower().rstrip(".") for name in allowed if name.strip())
    if loopback:
        return LOCAL_NAMES | names
    return names or None


def host_allowed(names: frozenset[str] | None, header: bytes | None) -> bool:
    if names is None:
        return True
    if header is None:  # HTTP/1.0 without Host: not a browser's request
        return True
    try:
        text = header.decode("ascii").strip().lower()
    except UnicodeDecodeError:
        return False
    name = _name(text)
    if name is None:
        return False
    try:
        ipaddress.ip_address(name)
        return True  # an IP literal: not a name another site can point here
    except ValueError:
        return name.rstrip(".") in names


def _name(text: str) -> str | None:
    """The host part of a Host header (``[::1]:8470`` -> ``::1``); None when malformed."""
    if text.startswith("["):
        end = text.find("]")
        rest = text[end + 1 :] if end > 0 else ":x"
        if end < 0 or (rest and not (rest[0] == ":" and rest[1:].isdigit())):
            return None
        return text[1:end]
    name, sep, port = text.partition(":")
    if sep and not port.isdigit():
        return None
    return name or None
