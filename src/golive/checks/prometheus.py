"""Prometheus checks: an instant query whose value meets a condition."""

from __future__ import annotations

import httpx

from golive.checks.base import Probe, meets, one_line
from golive.checks.http import client, shown
from golive.plan.checks import Prometheus
from golive.secrets import reveal


async def probe(o: Prometheus) -> Probe:
    base = reveal(o.url)
    async with client() as http:
        try:
            resp = await http.get(f"{base.rstrip('/')}/api/v1/query", params={"query": o.query})
        except (httpx.InvalidURL, ValueError):
            return Probe.failed("", f"Prometheus at {shown(o.url, base)}: invalid URL")
        except httpx.TransportError as exc:
            return Probe.failed("", f"Prometheus at {shown(o.url, base)}: {one_line(exc)}")
    body = resp.json()
    if body.get("status") != "success":
        return Probe.failed(
            "", f"Prometheus refused the query: {body.get('error', resp.text[:160])}"
        )
    results = body["data"]["result"]
    if not results:
        return Probe.failed("", f"no series for {o.query}")
    raw = results[1] if body["data"]["resultType"] == "scalar" else results[0]["value"][1]
    value = f"{float(raw):g}"
    if not meets(raw, o.condition):
        return Probe.failed(value, f"{o.query} is {value}, expected {o.condition.strip()}")
    return Probe.passed(value, f"{o.query} is {value} ({o.condition.strip()})")
