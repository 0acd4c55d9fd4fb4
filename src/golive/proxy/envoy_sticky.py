"""Sticky users on Envoy: a Lua filter turns the user's key into a bucket, routes match ranges.

The bucket (0-9999) is a hash of the key's value (cookie or header); buckets below the cut
(weight x 100) go to the canary. The cut only grows with the weight, so a user only ever moves
stable -> canary. Pure rendering; no I/O.
"""

from __future__ import annotations

from golive.plan.model import Sticky

BUCKET_HEADER = "x-golive-bucket"
BUCKETS = 10_000
_LUA_TYPE = "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua"


def sticky_filter(sticky: Sticky) -> dict[str, object]:
    """A Lua filter that hashes the user's key into ``x-golive-bucket`` (0..9999).

    A client's own ``x-golive-bucket`` is always replaced or removed. The key's name was
    validated by the plan (letters, digits, ``_`` or ``-``), so it is safe in a Lua pattern.
    """
    if sticky.cookie:
        fetch = (
            'local v = string.match("; " .. (h:headers():get("cookie") or ""), '
            f'";%s*{sticky.name}=([^;]*)")'
        )
    else:
        fetch = f'local v = h:headers():get("{sticky.name}")'
    code = "\n".join(
        [
            "function envoy_on_request(h)",
            f"  {fetch}",
            '  if v and v ~= "" then',
            "    local x = 0",
            "    for i = 1, #v do x = (x * 31 + string.byte(v, i)) % 4294967296 end",
            "    -- Knuth's multiplicative hash (x * 2654435761 mod 2^32), exact in doubles",
            "    x = (x * 31153 + ((x * 40503) % 65536) * 65536) % 4294967296",
            f"    local bucket = math.floor(x * {BUCKETS} / 4294967296)",
            f'    h:headers():replace("{BUCKET_HEADER}", tostring(bucket))',
            "  else",
            f'    h:headers():remove("{BUCKET_HEADER}")',
            "  end",
            "  h:clearRouteCache()  -- the route depends on the header just set",
            "end",
        ]
    )
    return {
        "name": "envoy.filters.http.lua",
        "typed_config": {"@type": _LUA_TYPE, "default_source_code": {"inline_string": code}},
    }


def sticky_routes(canary_weight: float) -> list[dict[str, object]]:
    """Users with a key: bucket below the cut to the canary, the rest to stable. The cut only
    grows with the weight, so a user only ever moves stable -> canary."""
    cut = round(canary_weight * BUCKETS / 100)
    bucket = {"name": BUCKET_HEADER}
    routes: list[dict[str, object]] = []
    if cut > 0:
        routes.append(
            {
                "name": "sticky:canary",
                "match": {
                    "prefix": "/",
                    "headers": [{**bucket, "range_match": {"start": 0, "end": cut}}],
                },
                "route": {"cluster": "canary"},
            }
        )
    routes.append(
        {
            "name": "sticky:stable",
            "match": {"prefix": "/", "headers": [{**bucket, "present_match": True}]},
            "route": {"cluster": "stable"},
        }
    )
    return routes
