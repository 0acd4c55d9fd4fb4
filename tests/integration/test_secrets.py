"""Secrets read by checks never reach a message, the journal or `golive check --json`; the
processes golive starts for the plan see only what the plan gives them."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from golive.checks.base import Outcome
from golive.checks.catalogue import run_check
from golive.core.state import Phase
from golive.deploy.process import ProcessDeployer
from golive.engine.providers import Providers
from golive.engine.runner import Runner
from golive.plan import checks as c
from golive.plan.loader import parse_plan
from golive.plan.model import Revision
from golive.plan.values import SecretRef
from golive.store.sqlite import SQLiteStore
from golive.testing import FakeClock, FakeDeployer, FakeRouter, ScriptedMetrics
from tests.conftest import GOOD_PLAN, free_port
from tests.unit.engine.test_runner import new_rollout, noop

pytestmark = pytest.mark.integration
FRAGMENTS = ("hunter2", "zzPCT", "%zz", "R1/zz")
GOLIVE = str(Path(sys.executable).parent / "golive")


@pytest.fixture
def leaky(postgres_dsn: str, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """DB_URL and CACHE_URL hold secrets the libraries cannot parse (and quote back)."""
    pg = postgres_dsn.rsplit("@", 1)[1].split("/")[0]  # 127.0.0.1:PORT
    cache = redis_url.removeprefix("redis://").split("/")[0]
    env = {
        "DB_URL": f"postgresql://golive:hunter2%zzPCT@{pg}/db",
        "CACHE_URL": f"redis://:hunter2R1/zz@{cache}/0",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return {"pg": pg, "cache": cache}


def assert_clean(text: str) -> None:
    for fragment in FRAGMENTS:
        assert fragment not in text, text


async def test_libpq_and_redis_parse_errors_name_the_target_never_the_secret(
    leaky: dict[str, str],
) -> None:
    db, _ = await run_check(c.Check("db", "postgres", c.Postgres(SecretRef("env", "DB_URL"))))
    assert (db.outcome, db.reason) == (
        Outcome.FAIL,
        f"cannot connect to PostgreSQL at postgresql://{leaky['pg']}/db (env:DB_URL): "
        "invalid connection string (after 2 attempts)",
    )
    cache, _ = await run_check(c.Check("cache", "redis", c.Redis(SecretRef("env", "CACHE_URL"))))
    assert (cache.outcome, cache.reason) == (
        Outcome.FAIL,
        f"Redis at redis://{leaky['cache']}/0 (env:CACHE_URL): invalid URL (after 2 attempts)",
    )
    assert_clean(repr([db, cache]))


async def test_a_secret_a_command_prints_is_removed_from_its_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CACHE_URL", "redis://:hunter2R1@127.0.0.1:6379/0")
    argv = ("sh", "-c", 'echo "auth $PW failed"; exit 3')
    command = c.Command(argv, env={"PW": SecretRef("env", "CACHE_URL")})
    probe, _ = await run_check(c.Check("q", "command", command))
    assert (
        probe.reason
        == "sh exited with 3, expected 0: auth redis://127.0.0.1:6379/0 failed (after 2 attempts)"
    )
    assert_clean(probe.reason)


PLAN = GOOD_PLAN.replace(
    'checks:\n  smoke: {http: {url: "http://127.0.0.1:9002/health"}}\n',
    "checks:\n  db: {postgres: {dsn: env:DB_URL}, retries: 0}\n"
    "preflight:\n"
    "  - {name: db, postgres: {dsn: env:DB_URL}, retries: 0}\n"
    "  - {name: cache, redis: {url: env:CACHE_URL}, retries: 0}\n",
).replace("  - check: smoke\n", "")


@pytest.mark.parametrize("step", ["db", "preflight"])
async def test_no_fragment_of_a_secret_reaches_the_journal(
    step: str, leaky: dict[str, str], tmp_path: Path
) -> None:
    from golive.checks.catalogue import step_check

    text = PLAN.replace("steps:\n", f"steps:\n  - check: {step}\n", 1)
    plan = parse_plan(text, "plan.yaml")
    clock, router = FakeClock(), FakeRouter(lag=1)
    metrics = ScriptedMetrics(clock, router, rps=200, stable_error=0.0, canary_error=0.0)
    providers = Providers(router, metrics, FakeDeployer(), step_check, router.start, noop)
    store = SQLiteStore(tmp_path / "g.db")
    rid = await new_rollout(store, plan, clock)
    final = await Runner(plan, store, providers, clock).run(rid)
    assert final.phase is Phase.FAILED
    events = await store.events(rid)
    journal = json.dumps([[e.kind, e.message, e.data] for e in events])
    assert "invalid connection string" in journal
    assert_clean(journal)
    assert_clean(repr(await store.load(rid)))


def test_golive_check_json_holds_no_fragment_of_a_secret(
    leaky: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "plan.yaml").write_text(PLAN)
    result = subprocess.run(
        [GOLIVE, "check", "plan.yaml", "--json"], cwd=tmp_path, capture_output=True, text=True,
        timeout=60, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    assert result.returncode == 4, result.stdout + result.stderr
    reasons = [i["reason"] for i in json.loads(result.stdout)["items"]]
    assert any("invalid URL" in r for r in reasons) and any(
        "invalid connection" in r for r in reasons
    )
    assert_clean(result.stdout + result.stderr)


# -- the environment of what golive starts -------------------------------------------------------

DUMP = "import json, os, sys; open(sys.argv[1], 'w').write(json.dumps(dict(os.environ)))"


@pytest.fixture
def controller_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOLIVE_TOKEN", "tok-hunter2")
    monkeypatch.setenv("DATABASE_URL", "postgresql://app:hunter2@127.0.0.1:5432/app")
    monkeypatch.setenv("STRIPE_KEY", "sk_hunter2")
    monkeypatch.setenv("LC_ALL", "C.UTF-8")


async def read_json(path: Path, within: float = 10.0) -> dict[str, str]:
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        if path.exists() and path.stat().st_size:
            return dict(json.loads(path.read_text()))
        await asyncio.sleep(0.05)
    raise AssertionError(f"{path} was not written within {within}s")


def assert_given_only(env: dict[str, str]) -> None:
    assert env["LOG_LEVEL"] == "info" and env["DATABASE_URL"] == os.environ["DATABASE_URL"]
    assert env["PATH"] == os.environ["PATH"] and env["LC_ALL"] == "C.UTF-8"
    assert "GOLIVE_TOKEN" not in env and "STRIPE_KEY" not in env
    assert not [k for k in env if k.startswith("GOLIVE_")]


async def test_a_canary_sees_what_the_plan_gives_it_and_not_golives_secrets(
    controller_env: None, tmp_path: Path
) -> None:
    out = tmp_path / "env.json"
    ready = f"http://127.0.0.1:{free_port()}/health"
    text = GOOD_PLAN.replace(
        'process: {command: [./app, --port, "9002"], ready: "http://127.0.0.1:9002/health"}',
        f"process: {{command: {json.dumps([sys.executable, '-c', DUMP, str(out)])}, "
        f'ready: "{ready}", env: {{LOG_LEVEL: info, DATABASE_URL: env:DATABASE_URL}}}}',
    )
    deployer = ProcessDeployer(parse_plan(text, "plan.yaml"), tmp_path / "revisions", "r-1")
    try:
        await deployer.ensure(Revision.CANARY)
        assert_given_only(await read_json(out))
    finally:
        await deployer.retire(Revision.CANARY)
        await deployer.aclose()


async def test_a_command_check_sees_what_the_plan_gives_it_and_not_golives_secrets(
    controller_env: None, tmp_path: Path
) -> None:
    out = tmp_path / "env.json"
    env = {"LOG_LEVEL": "info", "DATABASE_URL": SecretRef("env", "DATABASE_URL")}
    command = c.Command((sys.executable, "-c", DUMP, str(out)), env=env)
    probe, _ = await run_check(c.Check("env", "command", command))
    assert probe.outcome is Outcome.PASS, probe
    assert_given_only(await read_json(out))


async def test_an_http_url_with_a_token_is_read_from_a_reference_and_never_shown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    port = free_port()
    url = SecretRef("env", "HEALTH_URL")
    monkeypatch.setenv("HEALTH_URL", f"http://app:hunter2@127.0.0.1:{port}/health?key=hunter2")
    down, _ = await run_check(c.Check("h", "http", c.Http(url), retries=0))
    assert down.reason == f"GET http://127.0.0.1:{port}/health (env:HEALTH_URL): connection refused"
    monkeypatch.setenv("HEALTH_URL", "http://app:hunter2@127.0.0.1:hunter2x/health")
    bad, _ = await run_check(c.Check("h", "http", c.Http(url), retries=0))
    assert bad.reason == "GET http://127.0.0.1:***x/health (env:HEALTH_URL): invalid URL"
    assert_clean(down.reason + bad.reason)
