"""nginx configuration golive generates, and the status line it reads back. Pure.

OSS nginx has no API for upstream weights, so a split is a rendered configuration: weighted
servers in one upstream (weight 0 is written as ``down``), a segment as a ``map`` from the
header to the canary-only upstream. Every configuration also serves a status line on a second
loopback port with the split it was rendered for; a fresh connection is answered by a worker
of the newest loaded configuration, so reading it back tells what nginx actually runs.
Retries to another upstream are off (``proxy_next_upstream off``): a canary's failure must
reach the client and the metrics, not be hidden by a retry on stable.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from golive.errors import TransientError
from golive.plan.model import Segment, Split, Sticky

WEIGHT_TOTAL = 10_000  # hundredths of a percent
LOG_FORMAT = "$msec $upstream_addr $upstream_status $upstream_response_time"


def address(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname or '127.0.0.1'}:{parts.port or 80}"


def _server(addr: str, weight: int) -> str:
    return (
        f"        server {addr} down;" if weight == 0 else f"        server {addr} weight={weight};"
    )


def _sticky(sticky: Sticky | None, canary_percent: float) -> tuple[list[str], str]:
    """split_clients on the user's key: the canary's share of the hash range grows from 0, so a
    user only ever moves stable -> canary. Requests without the key hash their request id."""
    if sticky is None:
        return [], "golive"
    var = f"$cookie_{sticky.name}" if sticky.cookie else "$http_" + sticky.name.replace("-", "_")
    share = (
        ["        * golive_canary;"]
        if canary_percent >= 100
        else ([f"        {canary_percent:.2f}% golive_canary;"] if canary_percent > 0 else [])
        + ["        * golive_stable;"]
    )
    lines = [
        f"    map {var} $golive_key {{",
        "        default $request_id;",
        f'        "~." {var};',
        "    }",
        '    split_clients "${golive_key}" $golive_sticky {',
        *share,
        "    }",
    ]
    return lines, "$golive_sticky"


def _segment_map(segment: Segment | None, default: str = "golive") -> list[str]:
    if segment is None:
        return ["    map $host $golive_backend {", f"        default {default};", "    }"]
    if segment.cookie:
        var = "$cookie_" + segment.header
    else:
        var = "$http_" + segment.header.lower().replace("-", "_")
    pattern = '"~."' if segment.value is None else '"' + segment.value.replace('"', "") + '"'
    return [
        f"    map {var} $golive_backend {{",
        f"        default {default};",
        f"        {pattern} golive_canary;",
        "    }",
    ]


def status_line(split: Split, version: int) -> str:
    seg = "-"
    if split.segment is not None:
        s = split.segment
        seg = (
            ("cookie:" if s.cookie else "") + s.header + ("" if s.value is None else "=" + s.value)
        )
    return f"version={version} canary={split.canary_weight:g} segment={seg}"


def parse_status(text: str) -> tuple[int, Split]:
    match = re.fullmatch(r"version=(\d+) canary=([\d.]+) segment=(\S+)", text.strip())
    if match is None:
        raise TransientError(f"nginx status answered {text.strip()[:80]!r}")
    seg_text = match.group(3)
    segment = None
    if seg_text != "-":
        cookie = seg_text.startswith("cookie:")
        header, _, value = seg_text.removeprefix("cookie:").partition("=")
        segment = Segment(header, value or None, cookie=cookie)
    return int(match.group(1)), Split(float(match.group(2)), segment)


def render(
    workdir: str,
    host: str,
    port: int,
    status_port: int,
    upstreams: Mapping[str, str],
    split: Split,
    version: int,
    sticky: Sticky | None = None,
) -> str:
    sticky_lines, default_backend = _sticky(sticky, split.canary_weight)
    canary = round(split.canary_weight * WEIGHT_TOTAL / 100)
    stable = WEIGHT_TOTAL - canary
    lines = [
        "worker_processes 1;",
        f"pid {workdir}/nginx.pid;",
        f"error_log {workdir}/error.log warn;",
        "worker_shutdown_timeout 30s;",
        "events { worker_connections 1024; }",
        "http {",
        "    access_log off;",
        f"    client_body_temp_path {workdir}/scratch/body;",
        f"    proxy_temp_path {workdir}/scratch/proxy;",
        f"    fastcgi_temp_path {workdir}/scratch/fastcgi;",
        f"    uwsgi_temp_path {workdir}/scratch/uwsgi;",
        f"    scgi_temp_path {workdir}/scratch/scgi;",
        f"    log_format golive '{LOG_FORMAT}';",
        *sticky_lines,
        *_segment_map(split.segment, default_backend),
        "    upstream golive {",
        _server(address(upstreams["stable"]), stable),
        _server(address(upstreams["canary"]), canary),
        "        keepalive 32;",
        "    }",
        "    upstream golive_stable {",
        f"        server {address(upstreams['stable'])};",
        "        keepalive 8;",
        "    }",
        "    upstream golive_canary {",
        f"        server {address(upstreams['canary'])};",
        "        keepalive 8;",
        "    }",
        "    server {",
        f"        listen {host}:{port};",
        f"        access_log {workdir}/access.log golive;",
        "        location / {",
        "            proxy_pass http://$golive_backend;",
        "            proxy_http_version 1.1;",
        '            proxy_set_header Connection "";',
        "            proxy_set_header Host $host;",
        "            proxy_next_upstream off;",
        "        }",
        "    }",
        "    server {",
        f"        listen 127.0.0.1:{status_port};",
        "        location = /golive {",
        "            default_type text/plain;",
        f'            return 200 "{status_line(split, version)}\\n";',
        "        }",
        "    }",
        "}",
        "",
    ]
    return "\n".join(lines)
