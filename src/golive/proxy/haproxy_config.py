"""HAProxy configuration golive generates, and the runtime-API text it reads back. Pure.

One frontend on the route's address, one backend with a ``stable`` and a ``canary`` server
(``balance roundrobin``, the dynamic algorithm, so weights can change at runtime), and one
backend with only the canary for segments; a revision with several servers has one server line
each (``stable``, ``stable2``, ...), weighted so the revision's servers share its weight. A
segment is a header match driven by a map file per
header (``map_reg``): the runtime API adds or clears its entries, so neither weights nor
segments ever need a reload. ``server-state-file`` keeps weights across a reload.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from golive.errors import TransientError
from golive.plan.model import Segment, Split, Sticky

BACKEND = "golive"
CANARY_BACKEND = "golive_canary"
STABLE_BACKEND = "golive_stable"
MAX_WEIGHT = 256  # HAProxy's largest server weight
CUT_TOTAL = 10_000  # sticky users: crc32(key) mod 10000 below the cut go to the canary
# one log line per request, for latency: backend, server, status, active time in ms (%Ta)
LOG_MARK = "golive"
LOG_FORMAT = f"{LOG_MARK}=%b/%s/%ST/%Ta"


@dataclass(frozen=True, slots=True)
class Servers:
    """The backend golive weights and the names of each revision's servers in it."""

    backend: str
    stable: tuple[str, ...]
    canary: tuple[str, ...]

    @staticmethod
    def managed(n_stable: int = 1, n_canary: int = 1) -> Servers:
        def names(revision: str, n: int) -> tuple[str, ...]:
            return tuple(revision if i == 0 else f"{revision}{i + 1}" for i in range(n))

        return Servers(BACKEND, names("stable", n_stable), names("canary", n_canary))

    @property
    def total(self) -> int:
        """The grid a split is rounded to: 1/200 (0.5%) while each server's weight fits 256."""
        return min(200, MAX_WEIGHT // max(len(self.stable), len(self.canary)))

    def all(self) -> tuple[str, ...]:
        return self.stable + self.canary


MANAGED = Servers.managed()  # golive's own HAProxy: one server per revision


def cut(split: Split, servers: Servers = MANAGED) -> int:
    """The sticky cut for ``split``, on the same grid as the weights."""
    return round(quantize(split, servers).canary_weight * CUT_TOTAL / 100)


def weights(split: Split, servers: Servers = MANAGED) -> dict[str, int]:
    """Each server's weight for ``split``: a revision's servers share its weight equally.

    With c of T parts to the canary, a stable server weighs (T - c) x n_canary and a canary
    server c x n_stable, so the canary's share is exactly c / T.
    """
    total = servers.total
    c = round(split.canary_weight * total / 100)
    ns, nc = len(servers.stable), len(servers.canary)
    return {
        **{name: (total - c) * nc for name in servers.stable},
        **{name: c * ns for name in servers.canary},
    }


def quantize(split: Split, servers: Servers = MANAGED) -> Split:
    """The split HAProxy will actually serve for ``split``."""
    total = servers.total
    c = round(split.canary_weight * total / 100)
    return Split(round(c * 100 / total, 4), split.segment)


def map_key(segment: Segment) -> str:
    """The map_reg pattern for a segment: any value, or exactly its value."""
    return ".*" if segment.value is None else "^" + re.escape(segment.value) + "$"


def render(
    host: str,
    port: int,
    upstreams: Mapping[str, tuple[str, ...]],
    socket_path: str,
    state_path: str,
    maps: Mapping[str, str],
    initial: Split,
    sticky: Sticky | None = None,
    sticky_map: str = "",
) -> str:
    """The whole configuration; ``maps`` maps a segment key (see ``segment_key``) to its map."""
    servers = Servers.managed(len(upstreams["stable"]), len(upstreams["canary"]))
    initial_weights = weights(initial, servers)

    def server_lines(revision: str, weighted: bool) -> list[str]:
        names = servers.stable if revision == "stable" else servers.canary
        return [
            f"    server {name} {_address(url)}"
            + (f" weight {initial_weights[name]}" if weighted else "")
            for name, url in zip(names, upstreams[revision], strict=True)
        ]

    lines = [
        "global",
        f"    stats socket {socket_path} mode 600 level admin",
        f"    server-state-file {state_path}",
        "    maxconn 4096",
        "    noreuseport",  # the port is this HAProxy's alone: a second one fails to bind
        "",
        "defaults",
        "    mode http",
        "    timeout connect 2s",
        "    timeout client 60s",
        "    timeout server 60s",
        "    timeout http-keep-alive 60s",
        # a refused connection is retried once, on the other revision: a dead canary's share
        # is served by stable until golive writes 0% (HAProxy's default, 3 retries to the same
        # server 1 s apart, held each request about 3 s and then answered 503)
        "    retries 1",
        "    option redispatch 1",
        "    load-server-state-from-file global",
        # per-request log to stdout, a file golive owns (requests.log): latency buckets
        "    log stdout format raw local0 info",
        f'    log-format "{LOG_FORMAT}"',
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
        *server_lines("stable", True),
        *server_lines("canary", True),
        "",
        f"backend {CANARY_BACKEND}",
        *server_lines("canary", False),
        "",
        f"backend {STABLE_BACKEND}",
        *server_lines("stable", False),
        "",
    ]
    return "\n".join(lines)


def _address(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname or '127.0.0.1'}:{80 if parts.port is None else parts.port}"


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


def served(weights: Mapping[str, int], servers: Servers, segments: Sequence[Segment]) -> Split:
    """The split the servers' weights send: the canary servers' share of all the weight."""
    total = sum(weights.values())
    canary = sum(weights[name] for name in servers.canary)
    percent = 0.0 if total == 0 else canary * 100 / total
    return Split(round(percent, 4), segments[0] if segments else None)


def segment_key(segment: Segment) -> str:
    """``header:x-beta-user`` or ``cookie:beta``: one map per key."""
    return ("cookie:" if segment.cookie else "header:") + segment.header


def segment_from(key: str, pattern: str) -> Segment:
    kind, _, name = key.partition(":")
    value = None if pattern == ".*" else re.sub(r"\\(.)", r"\1", pattern[1:-1])
    return Segment(name, value, cookie=kind == "cookie")
