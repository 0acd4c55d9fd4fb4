"""HTTP checks: status, body text, JSON values by path, a latency budget, security headers.

A URL that carries a token comes from a secret reference; messages then name it without its
userinfo and query. Only the first :data:`BODY_LIMIT` bytes of a body are read (an endless or
huge answer cannot fill memory); ``body_contains`` and ``json`` look at those.
"""

from __future__ import annotations

import json
import re
import time

import httpx

from golive.checks.base import Probe, meets, ms, one_line, tls_context
from golive.plan.checks import Http, describe_connection
from golive.plan.values import SecretRef
from golive.secrets import reveal

BODY_LIMIT = 1_048_576
_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def json_path(document: object, path: str) -> object:
    """``status``, ``checks.db.status``, ``items[0].name`` (a leading ``$.`` is allowed)."""
    current = document
    for name, index in _STEP.findall(path.removeprefix("$").lstrip(".")):
        if index:
            if not isinstance(current, list) or int(index) >= len(current):
                raise KeyError(path)
            current = current[int(index)]
        else:
            if not isinstance(current, dict) or name not in current:
                raise KeyError(path)
            current = current[name]
    return current


def client() -> httpx.AsyncClient:
    """A client for one check: no proxy from the environment; the check's timeout bounds it."""
    return httpx.AsyncClient(trust_env=False, timeout=600, verify=tls_context())


def shown(value: SecretRef | str, url: str) -> str:
    """The URL for messages: as the plan wrote it, or, read from a reference, without its
    credentials and query."""
    return value if isinstance(value, str) else describe_connection(value, url)


async def get(http: httpx.AsyncClient, url: str) -> tuple[httpx.Response, bytes]:
    """The response and at most :data:`BODY_LIMIT` bytes of its body."""
    body = bytearray()
    async with http.stream("GET", url) as resp:
        async for chunk in resp.aiter_bytes():  # decoded (gzip), chunk by chunk
            body += chunk[: BODY_LIMIT - len(body)]
            if len(body) >= BODY_LIMIT:
                break
    return resp, bytes(body)


def body_json(resp: httpx.Response, body: bytes) -> object:
    """The body as JSON; :class:`ValueError` saying why it is not."""
    try:
        return json.loads(body.decode(resp.encoding or "utf-8", errors="replace"))
    except json.JSONDecodeError:
        raise ValueError("the body is not JSON") from None
    except RecursionError:
        raise ValueError("the body is JSON nested too deeply to read") from None


async def probe(o: Http) -> Probe:
    target = reveal(o.url)
    url = shown(o.url, target)
    async with client() as http:
        started = time.perf_counter()
        try:
            resp, body = await get(http, target)
        except (httpx.InvalidURL, ValueError):  # httpx quotes the part it could not read
            return Probe.failed("", f"GET {url}: invalid URL")
        except httpx.TransportError as exc:
            return Probe.failed("", f"GET {url}: {one_line(exc)}")
        took = time.perf_counter() - started
    value = f"{resp.status_code} in {ms(took)}"
    if resp.status_code != o.status:
        return Probe.failed(value, f"GET {url} answered {resp.status_code}, expected {o.status}")
    text = body.decode(resp.encoding or "utf-8", errors="replace")
    if o.body_contains is not None and o.body_contains not in text:
        return Probe.failed(value, f"GET {url}: the body does not contain {o.body_contains!r}")
    if o.json:
        try:
            document = body_json(resp, body)
        except ValueError as exc:
            return Probe.failed(value, f"GET {url}: {exc}")
        for path, expected in o.json.items():
            try:
                found = json_path(document, path)
            except KeyError:
                return Probe.failed(value, f"GET {url}: no {path} in the JSON body")
            if not meets(found, expected):
                return Probe.failed(value, f"GET {url}: {path} is {found!r}, expected {expected!r}")
    missing = [h for h in o.headers if h not in resp.headers]
    if missing:
        return Probe.failed(value, f"GET {url}: missing response headers: {', '.join(missing)}")
    if o.max_latency is not None and took > o.max_latency:
        return Probe.warned(
            value, f"GET {url} answered in {ms(took)}, over the {ms(o.max_latency)} budget"
        )
    return Probe.passed(value, f"GET {url} answered {resp.status_code} in {ms(took)}")
