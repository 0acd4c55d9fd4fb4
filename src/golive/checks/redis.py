"""Redis checks: PING, then fields of INFO against values or conditions.

Messages name the target without credentials; a URL redis-py cannot read is "invalid URL".
"""

from __future__ import annotations

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from golive.checks.base import Probe, meets, one_line
from golive.plan.checks import Redis, describe_connection
from golive.secrets import reveal


async def probe(o: Redis) -> Probe:
    url = reveal(o.url)
    where = describe_connection(o.url, url)
    try:
        client = aioredis.from_url(url, socket_connect_timeout=5)
    except ValueError:  # redis-py quotes the part it could not read: often the password
        return Probe.failed("", f"Redis at {where}: invalid URL")
    try:
        await client.ping()
        info = await client.info() if o.info else {}
    except RedisError as exc:
        return Probe.failed("", f"Redis at {where} did not answer: {one_line(exc)}")
    finally:
        await client.aclose()
    for name, expected in o.info.items():
        if name not in info:
            return Probe.failed("", f"Redis INFO has no field {name}")
        if not meets(info[name], expected):
            return Probe.failed(
                f"{name}={info[name]}", f"Redis {name} is {info[name]}, expected {expected}"
            )
    shown = ", ".join(f"{k}={info[k]}" for k in o.info) or "PONG"
    return Probe.passed(shown, f"Redis answered PING ({shown})")
