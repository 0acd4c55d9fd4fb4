"""HTTP checks: status code, optional body text, bounded by a timeout and a number of attempts."""

from __future__ import annotations

import asyncio

import httpx

from golive.checks.base import CheckResult, CheckStatus
from golive.plan.model import HttpCheck


async def run_http_check(check: HttpCheck, pause: float = 0.5) -> CheckResult:
    """Run ``check`` up to ``attempts`` times; pass on the first success."""
    last = "not run"
    async with httpx.AsyncClient(timeout=check.timeout, trust_env=False) as client:
        for attempt in range(check.attempts):
            if attempt:
                await asyncio.sleep(pause)
            try:
                resp = await client.get(check.url)
            except httpx.HTTPError as exc:
                last = f"GET {check.url}: {type(exc).__name__} {exc}".strip()
                continue
            if resp.status_code != check.status:
                last = f"GET {check.url} answered {resp.status_code}, expected {check.status}"
                continue
            if check.body_contains is not None and check.body_contains not in resp.text:
                last = f"GET {check.url}: body does not contain {check.body_contains!r}"
                continue
            ms = resp.elapsed.total_seconds() * 1000
            return CheckResult(
                CheckStatus.PASSED, f"GET {check.url} answered {resp.status_code} in {ms:.0f}ms"
            )
    return CheckResult(CheckStatus.FAILED, f"{last} (after {check.attempts} attempts)")
