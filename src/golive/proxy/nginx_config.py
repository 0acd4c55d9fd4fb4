"""nginx configuration golive generates, and the status line it reads back. Pure.

OSS nginx has no API for upstream weights, so a split is a rendered configuration: weighted
servers in one upstream (weight 0 is written as ``down``; a revision's servers share its weight;
nginx never takes a stable server out of the split on its own, and a canary server only while
stable can take its share),
a segment as a ``map`` from the header to the canary-only upstream. Attached to an nginx golive
did not start, golive writes the same blocks to one file that nginx's ``http`` block includes.
Every configuration also serves a status line on a second
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
# nginx's default, max_fails=1 fail_timeout=10s, takes a server out for 10 s after one error:
# at 0% that leaves no live server (502 "no live upstreams" for everyone), at 1% it sends
# everything to the canary. A stable server is never taken out (max_fails=0); a canary server
# is, while a stable one is in the split: its share then goes to stable, the safe direction (a
# dying canary costs one request until golive writes 0%). With the canary alone in the split
# (100%) it is never taken out either: there would be nothing left to serve.
NEVER_FAILED = "max_fails=0"
FALLS_BACK = "max_fails=1 fail_timeout=10s"
# below the idle keep-alive of common application servers (gunicorn: 2 s), so nginx never
# sends a request on a connection the server is closing
UPSTREAM_IDLE = "1s"
LOG_FORMAT = "$msec $upstream_addr $upstream_status $upstream_response_time"
ACCESS_LOG = "access.log"  # in golive's nginx directory: one line per request, LOG_FORMAT


def address(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname or '127.0.0.1'}:{80 if parts.port is None else parts.port}"


def _servers(upstreams: Mapping[str, tuple[str, ...]], split: Split) -> list[str]:
    """Weighted server lines: with c of 10,000 parts to the canary, a stable server weighs
    (10,000 - c) x n_canary and a canary server c x n_stable, so the canary's share is c."""
    c = round(split.canary_weight * WEIGHT_TOTAL / 100)
    ns, nc = len(upstreams["stable"]), len(upstreams["canary"])
    lines = []
    stable_weight = (WEIGHT_TOTAL - c) * nc
    for revision, weight in (("stable", stable_weight), ("canary", c * ns)):
        fails = FALLS_BACK if revision == "canary" and stable_weight > 0 else NEVER_FAILED
        for url in upstreams[revision]:
            state = "down" if weight == 0 else f"weight={weight} {fails}"
            lines.append(f"        server {address(url)} {state};")
    return lines


def _sticky(
    sticky: Sticky | None, canary_percent: float, name: str, var: str
) -> tuple[list[str], str]:
    """split_clients on the user's key: the canary's share of the hash range grows from 0, so a
    user only ever moves stable -> canary. Requests without the key hash their request id."""
    if sticky is None:
        return [], name
    key = f"$cookie_{sticky.name}" if sticky.cookie else "$http_" + sticky.name.replace("-", "_")
    share = (
        [f"        * {name}_canary;"]
        if canary_percent >= 100
        else ([f"        {canary_percent:.2f}% {name}_canary;"] if canary_percent > 0 else [])
        + [f"        * {name}_stable;"]
    )
    lines = [
        f"    map {key} ${var}_key {{",
        "        default $request_id;",
        f'        "~." {key};',
        "    }",
        f'    split_clients "${{{var}_key}}" ${var}_sticky {{',
        *share,
        "    }",
    ]
    return lines, f"${var}_sticky"


def _segment_map(segment: Segment | None, default: str, name: str, var: str) -> list[str]:
    if segment is None:
        return [f"    map $host ${var} {{", f"        default {default};", "    }"]
    if segment.cookie:
        header = "$cookie_" + segment.header
    else:
        header = "$http_" + segment.header.lower().replace("-", "_")
    pattern = '"~."' if segment.value is None else '"' + segment.value.replace('"', "") + '"'
    return [
        f"    map {header} ${var} {{",
        f"        default {default};",
        f"        {pattern} {name}_canary;",
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


def http_blocks(
    name: str,
    var: str,
    upstreams: Mapping[str, tuple[str, ...]],
    split: Split,
    sticky: Sticky | None,
) -> list[str]:
    """What golive adds to nginx's ``http`` block: the ``$var`` map that names the upstream a
    request goes to, and the upstreams ``name`` (weighted), ``name_stable``, ``name_canary``."""
    sticky_lines, default_backend = _sticky(sticky, split.canary_weight, name, var)

    def plain(revision: str) -> list[str]:
        return [f"        server {address(url)} {NEVER_FAILED};" for url in upstreams[revision]]

    return [
        *sticky_lines,
        *_segment_map(split.segment, default_backend, name, var),
        f"    upstream {name} {{",
        *_servers(upstreams, split),
        "        keepalive 32;",
        f"        keepalive_timeout {UPSTREAM_IDLE};",
        "    }",
        f"    upstream {name}_stable {{",
        *plain("stable"),
        "        keepalive 8;",
        f"        keepalive_timeout {UPSTREAM_IDLE};",
        "    }",
        f"    upstream {name}_canary {{",
        *plain("canary"),
        "        keepalive 8;",
        f"        keepalive_timeout {UPSTREAM_IDLE};",
        "    }",
    ]


def status_server(status_port: int, split: Split, version: int) -> list[str]:
    return [
        "    server {",
        f"        listen 127.0.0.1:{status_port};",
        "        location = /golive {",
        "            default_type text/plain;",
        f'            return 200 "{status_line(split, version)}\\n";',
        "        }",
        "    }",
    ]


def render_include(
    upstream: str,
    status_port: int,
    upstreams: Mapping[str, tuple[str, ...]],
    split: Split,
    version: int,
    sticky: Sticky | None = None,
) -> str:
    """The file golive owns inside someone else's nginx: its server blocks proxy to
    ``http://$golive_<upstream>`` (weights, segments, sticky users) or ``http://<upstream>``
    (weights only), and log with ``access_log PATH golive_<upstream>;``."""
    lines = [
        "# written by golive: every change is tested with nginx -t, then reloaded",
        f"log_format golive_{upstream} '{LOG_FORMAT}';",
        *http_blocks(upstream, f"golive_{upstream}", upstreams, split, sticky),
        *status_server(status_port, split, version),
        "",
    ]
    return "\n".join(line.removeprefix("    ") for line in lines)


def render(
    workdir: str,
    host: str,
    port: int,
    status_port: int,
    upstreams: Mapping[str, tuple[str, ...]],
    split: Split,
    version: int,
    sticky: Sticky | None = None,
) -> str:
    """The whole configuration of an nginx golive runs itself."""
    lines = [
        "worker_processes 1;",
        f"pid {workdir}/scratch/nginx.pid;",  # golive records the master in nginx.pid
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
        *http_blocks("golive", "golive_backend", upstreams, split, sticky),
        "    server {",
        f"        listen {host}:{port};",
        f"        access_log {workdir}/{ACCESS_LOG} golive;",
        "        location / {",
        "            proxy_pass http://$golive_backend;",
        "            proxy_http_version 1.1;",
        '            proxy_set_header Connection "";',
        "            proxy_set_header Host $host;",
        "            proxy_next_upstream off;",
        # nothing to disk: run as root, nginx's workers are "nobody" and may not enter the
        # 0700 state directory that holds the temp paths
        "            proxy_request_buffering off;",
        "            proxy_max_temp_file_size 0;",
        "        }",
        "    }",
        *status_server(status_port, split, version),
        "}",
        "",
    ]
    return "\n".join(lines)
