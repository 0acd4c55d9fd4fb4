"""Every port a plan names is a TCP port (1-65535), reported at its file:line:col."""

from __future__ import annotations

import pytest

from golive.errors import PlanError
from golive.plan.loader import parse_plan
from tests.conftest import GOOD_PLAN

LISTEN = 'route: {router: envoy, listen: "127.0.0.1:8080"}'


def issues_of(text: str) -> list[str]:
    with pytest.raises(PlanError) as info:
        parse_plan(text, "plan.yaml")
    return [str(i) for i in info.value.issues]


@pytest.mark.parametrize("port", ["0", "65536", "99999"])
def test_a_listen_port_outside_1_to_65535_is_a_plan_error_at_its_position(port: str) -> None:
    text = GOOD_PLAN.replace(LISTEN, f'route: {{router: envoy, listen: "127.0.0.1:{port}"}}')
    assert issues_of(text) == [
        f"plan.yaml:8:32: route.listen: port {port} in '127.0.0.1:{port}' is not a TCP port: "
        "a port is 1 to 65535"
    ]


def test_ports_are_checked_in_urls_ready_urls_fleets_metrics_and_check_targets() -> None:
    text = (
        GOOD_PLAN.replace('url: "http://127.0.0.1:9001"', 'url: "http://127.0.0.1:70000"')
        .replace('ready: "http://127.0.0.1:9002/health"', 'ready: "http://127.0.0.1:0/health"')
        .replace(LISTEN, 'route: {router: envoy, listen: ["127.0.0.1:8080", "127.0.0.1:65536"]}')
        .replace('{http: {url: "http://127.0.0.1:9002/health"}}', '{tls: {host: "db:99999"}}')
        .replace("source: router,", 'source: prometheus, url: "http://127.0.0.1:90000",')
    )
    issues = issues_of(text)
    assert [i.split(": port")[0] for i in issues] == [
        "plan.yaml:8:51: route.listen[1]",
        "plan.yaml:3:33: revisions.stable.url",
        "plan.yaml:7:56: revisions.canary.process.ready",
        "plan.yaml:9:36: metrics.url",
        "plan.yaml:11:23: checks.smoke.tls.host",
    ]
    assert "port 90000 in 'http://127.0.0.1:90000' is not a TCP port" in issues[3]


def test_a_url_without_a_port_and_every_port_in_range_are_accepted() -> None:
    text = GOOD_PLAN.replace(
        '{http: {url: "http://127.0.0.1:9002/health"}}',
        '{http: {url: "https://example.com/health"}}',
    ).replace(LISTEN, 'route: {router: envoy, listen: ["127.0.0.1:1", "127.0.0.1:65535"]}')
    assert parse_plan(text, "plan.yaml").route.instances == (("127.0.0.1", 1), ("127.0.0.1", 65535))
