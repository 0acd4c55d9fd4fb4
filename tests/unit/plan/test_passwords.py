"""A password written into the plan is a plan error at its file:line:col, in every form."""

from __future__ import annotations

import pytest

from golive.errors import PlanError
from golive.plan.loader import parse_plan
from tests.conftest import GOOD_PLAN

ADVICE = "put it in a secret reference like env:NAME or file:/path"


def with_preflight(check: str) -> str:
    return GOOD_PLAN.replace("checks:\n", f"preflight:\n  - {{name: x, {check}}}\nchecks:\n")


def issues_of(text: str) -> list[str]:
    with pytest.raises(PlanError) as info:
        parse_plan(text, "plan.yaml")
    return [str(i) for i in info.value.issues]


@pytest.mark.parametrize(
    ("check", "field", "value"),
    [
        ('redis: {url: "redis://:hunter2R1@127.0.0.1:6379"}', "redis.url", '"'),
        ('redis: {url: "rediss://default:hunter2R1@127.0.0.1:6379"}', "redis.url", '"'),
        ('postgres: {dsn: "POSTGRESQL://app:hunter2@db/app"}', "postgres.dsn", '"'),
        ('postgres: {dsn: "host=db user=app password=hunter2"}', "postgres.dsn", '"'),
        ('postgres: {dsn: "host=db password = hunter2 dbname=app"}', "postgres.dsn", '"'),
        ("postgres: {dsn: \"host=db PWD='hunter2 x' dbname=app\"}", "postgres.dsn", '"'),
        ('postgres: {dsn: "postgresql://db/app?pass=hunter2"}', "postgres.dsn", '"'),
        ('amqp: {url: "amqps://app:hunter2@mq:5671/"}', "amqp.url", '"'),
        ('http: {url: "https://app:hunter2@127.0.0.1:9002/health"}', "http.url", '"'),
        ('http: {url: "https://ghp_hunter2token@127.0.0.1:9002/health"}', "http.url", '"'),
        (
            'prometheus: {url: "http://app:hunter2@127.0.0.1:9090", query: up, condition: "> 0"}',
            "prometheus.url",
            '"',
        ),
        ('command: {argv: [./smoke, "--password=hunter2"]}', "command.argv[1]", '"--'),
        (
            "command: {argv: [./smoke], env: {PGPASSWORD: hunter2}}",
            "command.env.PGPASSWORD",
            "hunter2",
        ),
    ],
)
def test_a_literal_password_is_a_plan_error_at_its_position(
    check: str, field: str, value: str
) -> None:
    text = with_preflight(check)
    column = text.splitlines()[10].index(value) + 1  # where the value starts
    issues = issues_of(text)
    assert len(issues) == 1, issues
    assert issues[0].startswith(f"plan.yaml:11:{column}: preflight[0].{field}: ")
    assert ADVICE in issues[0]
    assert "hunter2" not in issues[0]


def test_a_revision_env_with_a_literal_secret_is_refused() -> None:
    text = GOOD_PLAN.replace(
        'ready: "http://127.0.0.1:9002/health"}',
        'ready: "http://127.0.0.1:9002/health",\n'
        '              env: {DATABASE_URL: "postgres://app:hunter2@db/app", API_TOKEN: x1}}',
    )
    issues = issues_of(text)
    assert [i.split(": ")[:2] for i in issues] == [
        ["plan.yaml:8:35", "revisions.canary.process.env.DATABASE_URL"],
        ["plan.yaml:8:79", "revisions.canary.process.env.API_TOKEN"],
    ]
    assert "API_TOKEN looks like a secret" in issues[1] and ADVICE in issues[1]


def test_references_and_urls_without_a_password_are_accepted() -> None:
    text = with_preflight('postgres: {dsn: "postgresql://app@db/app?sslmode=require"}')
    text = text.replace(
        'ready: "http://127.0.0.1:9002/health"}',
        'ready: "http://127.0.0.1:9002/health",\n'
        "              env: {DATABASE_URL: env:DATABASE_URL, API_TOKEN: file:/run/secrets/t}}",
    )
    plan = parse_plan(text, "plan.yaml")
    assert plan.canary.process is not None
    assert [(k, str(v)) for k, v in plan.canary.process.env] == [
        ("API_TOKEN", "file:/run/secrets/t"),
        ("DATABASE_URL", "env:DATABASE_URL"),
    ]
    assert parse_plan(with_preflight('http: {url: "env:HEALTH_URL"}'), "p.yaml").preflight
