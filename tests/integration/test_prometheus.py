"""PrometheusSource against a real Prometheus (apt) scraping a real Envoy on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from golive.errors import TransientError
from golive.metrics.envoy import EnvoyStats
from golive.metrics.prometheus import PrometheusSource
from golive.plan.model import Revision, Split
from golive.traffic.envoy import EnvoyRouter
from tests.conftest import free_port, wait_verified

pytestmark = pytest.mark.integration


@contextlib.asynccontextmanager
async def running_prometheus(workdir: Path, target: str) -> AsyncIterator[str]:
    binary = shutil.which("prometheus")
    assert binary, "prometheus is not installed (scripts/test installs it)"
    workdir.mkdir(parents=True)
    config = workdir / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s}\n"
        "scrape_configs:\n"
        "  - job_name: envoy\n"
        "    metrics_path: /stats/prometheus\n"
        f"    static_configs: [{{targets: ['{target}']}}]\n"
    )
    port = free_port()
    proc = subprocess.Popen(
        [binary, f"--config.file={config}", f"--web.listen-address=127.0.0.1:{port}",
         f"--storage.tsdb.path={workdir / 'data'}", "--log.level=warn"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(trust_env=False) as client:
            for _ in range(200):
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"{url}/-/ready")).status_code == 200:
                        break
                await asyncio.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def test_prometheus_reads_what_envoy_counts(tmp_path: Path, envoy: EnvoyRouter) -> None:
    await envoy.apply(Split(50.0))
    await wait_verified(envoy, Split(50.0))
    async with httpx.AsyncClient(trust_env=False) as client:
        for _ in range(60):
            await client.get(f"http://127.0.0.1:{envoy.port}/")
    direct = EnvoyStats(envoy.admin_socket)
    async with running_prometheus(tmp_path / "prom", envoy.stats_address) as url:
        source = PrometheusSource(url)
        try:
            for _ in range(100):  # until Prometheus has scraped the final counters
                expected = await direct.sample(Revision.CANARY)
                got = await source.sample(Revision.CANARY)
                if got == expected and got.requests > 0:
                    break
                await asyncio.sleep(0.1)
            assert got == expected
            assert got.errors == 0  # no 5xx series exists yet: absent means zero
            assert sum(got.latency_ms_buckets.values()) > 0
            stable = await source.sample(Revision.STABLE)
            assert stable.requests + got.requests == 60
        finally:
            await source.aclose()
            await direct.aclose()


async def test_an_unreachable_prometheus_is_a_transient_error() -> None:
    source = PrometheusSource(f"http://127.0.0.1:{free_port()}")
    try:
        with pytest.raises(TransientError, match="cannot query Prometheus"):
            await source.sample(Revision.CANARY)
    finally:
        await source.aclose()


async def test_a_bad_query_is_reported_with_prometheus_own_words(
    tmp_path: Path, envoy: EnvoyRouter
) -> None:
    async with running_prometheus(tmp_path / "prom", envoy.stats_address) as url:
        source = PrometheusSource(url, {"requests": "sum(("})
        try:
            with pytest.raises(TransientError, match="bad_data"):
                await source.sample(Revision.CANARY)
        finally:
            await source.aclose()


async def test_the_prometheus_check_meets_a_condition_on_a_query(tmp_path: Path) -> None:
    from golive.checks.base import Outcome
    from golive.checks.catalogue import run_check
    from golive.plan.checks import Check, Prometheus

    async with running_prometheus(tmp_path / "prom", f"127.0.0.1:{free_port()}") as url:

        async def probe(query: str, condition: str) -> tuple[Outcome, str]:
            check = Check("p", "prometheus", Prometheus(url, query, condition), retries=0)
            result, _ = await run_check(check)
            return result.outcome, result.reason

        assert await probe("vector(0.004)", "< 0.01") == (
            Outcome.PASS,
            "vector(0.004) is 0.004 (< 0.01)",
        )
        assert await probe("scalar(vector(3))", ">= 5") == (
            Outcome.FAIL, "scalar(vector(3)) is 3, expected >= 5",
        )  # fmt: skip
        assert await probe("absent_series_xyz", "< 1") == (
            Outcome.FAIL,
            "no series for absent_series_xyz",
        )
        outcome, reason = await probe("sum(", "< 1")
        assert outcome is Outcome.FAIL and reason.startswith("Prometheus refused the query")
