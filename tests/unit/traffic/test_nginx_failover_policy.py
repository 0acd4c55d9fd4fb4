"""nginx never takes the stable out of the split; a canary server only while stable can take
its share (see docs/providers/nginx.md)."""

from __future__ import annotations

import pytest

from golive.plan.model import Split
from golive.proxy.nginx_config import http_blocks

UPSTREAMS = {"stable": ("http://127.0.0.1:9001",), "canary": ("http://127.0.0.1:9002",)}


def weighted(split: Split) -> dict[str, str]:
    lines = http_blocks("golive", "golive_backend", UPSTREAMS, split, None)
    start = lines.index("    upstream golive {")
    servers = [ln.split() for ln in lines[start + 1 : start + 3]]
    port = {"127.0.0.1:9001": "stable", "127.0.0.1:9002": "canary"}
    return {port[s[1]]: " ".join(s[2:]).rstrip(";") for s in servers}


@pytest.mark.parametrize(
    ("weight", "stable", "canary"),
    [
        (0.0, "weight=10000 max_fails=0", "down"),
        (1.0, "weight=9900 max_fails=0", "weight=100 max_fails=1 fail_timeout=10s"),
        (100.0, "down", "weight=10000 max_fails=0"),
    ],
)
def test_only_a_canary_with_a_live_stable_beside_it_can_be_taken_out(
    weight: float, stable: str, canary: str
) -> None:
    assert weighted(Split(weight)) == {"stable": stable, "canary": canary}


def test_segment_and_sticky_upstreams_never_take_a_server_out() -> None:
    lines = http_blocks("golive", "golive_backend", UPSTREAMS, Split(5.0), None)
    plain = [ln for ln in lines if ln.strip().startswith("server") and "weight" not in ln]
    assert plain and all("max_fails=0" in ln for ln in plain)
