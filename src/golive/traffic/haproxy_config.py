"""HAProxy configuration golive generates, and the runtime-API text it reads back. Pure.

One frontend on the route's address, one backend with a ``stable`` and a ``canary`` server
(``balance roundrobin``, the dynamic algorithm, so weights can change at runtime), and one
backend with only the canary for segments. A segment is a header match driven by a map file per
header (``map_reg``): the runtime API adds or clears its entries, so neither weights nor
segments ever need a reload. ``server-state-file`` keeps weights across a reload.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

from golive.errors import TransientError
from golive.plan.model import Segment, Split, Sticky

BACKEND = "golive"
CANARY_BACKEND = "golive_canary"
STABLE_BACKEND = "golive_stable"
WEIGHT_TOTAL = 200  # HAProxy weights are 0-256 per server: a 0.5% resolution
CUT_TOTAL = 10_000  # sticky users: crc32(key) mod 10000 below the cut go to the canary


def cut(split: Split) -> int:
    """The sticky cut for ``split``, on the same 0.5% grid as the weights."""
    return round(quantize(split).canary_weight * CUT_TOTAL / 100)


def weights(split: Split) -> tuple[int, int]:
    """(stable, canary) server weights for ``split``, quantized to 1/200."""
    canary = round(split.canary_weight * WEIGHT_TOTAL / 100)
    return WEIGHT_TOTAL - canary, canary


def quantize(split: Split) -> Split:
    """The split HAProxy will actually serve for ``split``."""
    _, canary = weights(split)
    return Split(canary * 100 / WEIGHT_TOTAL, split.segment)


def map_key(segment: Segment) -> str:
    """The map_reg pattern for a segment: any value, or exactly its value."""
    return ".*" if segment.value is None else "^" + re.escape(segment.value) + "$"


def render(
    host: str,
    port: int,
    upstreams: Mapping[str, str],
    socket_path: str,
    state_path: str,
    maps: Mapping[str, str],
    initial: Split,
    sticky: Sticky | None = None,
    sticky_map: str = "",
) -> str:
    """The whole configuration; ``maps`` maps a segment key (see ``segment_key``) to its map."""
    stable_w, canary_w = weights(initial)
    lines = [
        "global",
        f"    stats socket {socket_path} mode 600 level admin",
        f"    server-state-file {state_path}",
        "    maxconn 4096",
        "",
        "defaults",
        "    mode http",
        "    timeout connect 2s",
        "    timeout client 60s",
        "    timeout server 60s",
        "    timeout http-keep-alive 60s",
        "    load-server-state-from-file global",
        "",
        "frontend golive_in",
        f"    bind {host}:{port}",
    ]
    for key, path in sorted(maps.items()):
        kind, _, name = key.partition(":")
        fetch = f"req.cook({name})" if kind == "cookie" else f"req.hdr({name})"
        lines.append(f"    use_backend {CANARY_BACKEND} if {{ {fetch},map_reg({path}) -m found }}")
    if sticky is not None:  # users by a hash of their key against a cut set at runtime
        fetch = f"req.cook({sticky.name})" if sticky.cookie else f"req.hdr({sticky.name})"
        lines += [
            f"    http-request set-var(txn.golive_bucket) {fetch},crc32,mod({CUT_TOTAL})"
            f" if {{ {fetch} -m found }}",
            f"    http-request set-var(txn.golive_cut) str(cut),map_str_int({sticky_map},0)",
            f"    use_backend {CANARY_BACKEND} if {{ var(txn.golive_bucket) -m found }}"
            " { var(txn.golive_bucket),sub(txn.golive_cut) lt 0 }",
            f"    use_backend {STABLE_BACKEND} if {{ var(txn.golive_bucket) -m found }}",
        ]
    lines += [
        f"    default_backend {BACKEND}",
        "",
        f"backend {BACKEND}",
        "    balance roundrobin",
        f"    server stable {_address(upstreams['stable'])} weight {stable_w}",
        f"    server canary {_address(upstreams['canary'])} weight {canary_w}",
        "",
        f"backend {CANARY_BACKEND}",
        f"    server canary {_address(upstreams['canary'])}",
        "",
        f"backend {STABLE_BACKEND}",
        f"    server stable {_address(upstreams['stable'])}",
        "",
    ]
    return "\n".join(lines)


def _address(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname or '127.0.0.1'}:{parts.port or 80}"


def parse_weight(answer: str) -> int:
    """``get weight be/srv`` answers ``"2 (initial 0)"``."""
    match = re.match(r"\s*(\d+)", answer)
    if match is None:
        raise TransientError(f"HAProxy answered {answer.strip()!r} to get weight")
    return int(match.group(1))


def parse_map(answer: str) -> list[str]:
    """``show map FILE`` lines are ``<id> <key> <value>``; return the keys."""
    keys = []
    for line in answer.splitlines():
        parts = line.split()
        if len(parts) >= 2:
            keys.append(parts[1])
    return keys


def served(stable_w: int, canary_w: int, segments: Sequence[Segment]) -> Split:
    total = stable_w + canary_w
    percent = 0.0 if total == 0 else canary_w * 100 / total
    return Split(round(percent, 4), segments[0] if segments else None)


def segment_key(segment: Segment) -> str:
    """``header:x-beta-user`` or ``cookie:beta``: one map per key."""
    return ("cookie:" if segment.cookie else "header:") + segment.header


def segment_from(key: str, pattern: str) -> Segment:
    kind, _, name = key.partition(":")
    value = None if pattern == ".*" else re.sub(r"\\(.)", r"\1", pattern[1:-1])
    return Segment(name, value, cookie=kind == "cookie")
