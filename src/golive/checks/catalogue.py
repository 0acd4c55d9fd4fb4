"""Every kind of check, by the name the plan uses, and running one check of the plan."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

from golive.checks import (
    amqp,
    command,
    dns,
    docs,
    file,
    git,
    host,
    http,
    postgres,
    prometheus,
    redis,
    secrets,
    tcp,
    tls,
)  # fmt: skip
from golive.checks.base import REASON_LIMIT, VALUE_LIMIT, Outcome, Probe, bounded, one_line
from golive.core.results import CheckResult, CheckStatus
from golive.plan.checks import Check, secret_refs
from golive.redaction import Redactor
from golive.secrets import reveal

PROBES: dict[str, Callable[[Any], Awaitable[Probe]]] = {
    "http": http.probe, "tcp": tcp.probe, "postgres": postgres.probe, "redis": redis.probe,
    "amqp": amqp.probe, "tls": tls.probe, "dns": dns.probe, "file": file.probe,
    "disk": host.disk, "memory": host.memory, "cpu": host.cpu, "git": git.probe,
    "command": command.probe, "prometheus": prometheus.probe, "secrets": secrets.probe,
    "docs": docs.probe,
}  # fmt: skip


async def attempt(
    probe: Callable[[], Awaitable[Probe]], limit: float, retries: int, pause: float = 0.5
) -> tuple[Probe, float]:
    """Run ``probe`` up to ``retries + 1`` times, each within ``limit`` seconds; a pass or a warning
    ends it. Never raises: a timeout or an error is a failed probe. Returns it and its seconds."""
    result = Probe.failed("", "not run")
    started = time.perf_counter()
    for n in range(retries + 1):
        if n:
            await asyncio.sleep(pause)
        try:
            async with asyncio.timeout(limit):
                result = await probe()
        except TimeoutError:
            result = Probe.failed("", f"no answer within {limit:g}s")
        except Exception as exc:  # a check's error is its result, never a crash
            result = Probe.failed("", one_line(exc))
        if result.outcome is not Outcome.FAIL:
            break
    if result.outcome is Outcome.FAIL and retries:
        result = Probe.failed(result.value, f"{result.reason} (after {retries + 1} attempts)")
    return result, time.perf_counter() - started


def redactor(check: Check) -> Redactor:
    """The secrets this check will read, to be removed from whatever it says."""
    resolved: list[str] = []
    for ref in secret_refs(check.options):
        with contextlib.suppress(LookupError):  # the probe says it cannot be read
            resolved.append(reveal(ref))
    return Redactor.of(resolved)


async def run_check(check: Check) -> tuple[Probe, float]:
    """Run one check of the plan within its timeout and retries; never raises. What it says
    (value and reason: the scorecard, the journal, the terminal) holds none of its secrets and
    is bounded (cut after redaction, so no cut can split a secret out of the redactor's reach)."""
    run = PROBES[check.kind]
    redact = redactor(check)
    probe, took = await attempt(lambda: run(check.options), check.timeout, check.retries)
    value = bounded(redact(probe.value), VALUE_LIMIT)
    return Probe(probe.outcome, value, bounded(redact(probe.reason), REASON_LIMIT)), took


async def step_check(check: Check) -> CheckResult:
    """A ``check:`` step: a warning passes (and says so), a failure fails the step."""
    probe, _ = await run_check(check)
    if probe.outcome is Outcome.FAIL:
        return CheckResult(CheckStatus.FAILED, probe.reason)
    warned = " (warning)" if probe.outcome is Outcome.WARN else ""
    return CheckResult(CheckStatus.PASSED, probe.reason + warned)
