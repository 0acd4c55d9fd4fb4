"""The servers of each revision as a proxy configuration takes them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

Upstreams = Mapping[str, str | Sequence[str]]  # "stable"/"canary" -> its server url(s)


def server_urls(upstreams: Upstreams) -> dict[str, tuple[str, ...]]:
    """Every revision's servers as a tuple of urls (a single url is a one-server revision)."""
    return {k: (v,) if isinstance(v, str) else tuple(v) for k, v in upstreams.items()}
