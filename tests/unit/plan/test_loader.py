from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from golive.analysis.mannwhitney import MannWhitneyConfig
from golive.analysis.sequential import SequentialConfig
from golive.analysis.threshold import ThresholdConfig
from golive.errors import PlanError
from golive.plan.checks import KINDS
from golive.plan.loader import load_plan, parse_plan, plan_schema
from golive.plan.model import AnalyzeStep, PromoteStep, Segment, ShiftStep
from tests.conftest import GOOD_PLAN


def issues_of(text: str) -> list[str]:
    with pytest.raises(PlanError) as info:
        parse_plan(text, "plan.yaml")
    return [str(i) for i in info.value.issues]


def test_good_plan_parses_into_frozen_values() -> None:
    plan = parse_plan(GOOD_PLAN, "plan.yaml")
    assert plan.service == "checkout"
    assert plan.steps[2] == ShiftStep(1.0, Segment("x-beta-user"))
    assert plan.steps[3] == AnalyzeStep(15.0, 60.0)
    assert isinstance(plan.steps[-1], PromoteStep)
    assert plan.triggers[0].threshold == pytest.approx(0.05)
    assert plan.triggers[0].hold == 10.0
    assert plan.judge.max_latency_ms == 500.0
    assert plan.route.port == 8080


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "interval: 1s}",
            "interval: 1s, colour: red}",
            "plan.yaml:9:41: metrics.colour: unknown field 'colour'; expected one of: interval, latency, queries, source, url",
        ),
        (
            "  - shift: 50\n",
            "  - shift: 150\n",
            "plan.yaml:20:12: steps[4].shift.weight: input should be less than or equal to 100, got 150",
        ),
        (
            "  - shift: 50\n",
            "  - shift: -5\n",
            "plan.yaml:20:12: steps[4].shift.weight: input should be greater than or equal to 0",
        ),
        (
            "  - shift: 50\n",
            "  - shift: 0.5\n",
            "plan.yaml:20:12: steps[4].shift.weight: weights must increase from step to step: 0.5 "
            "follows 1",
        ),
        (
            "analyze: 15s",
            "analyze: 5x",
            "plan.yaml:19:14: steps[3].analyze.for: expected a duration like 500ms, 30s, 15m, 2h or 2d, "
            "got '5x'",
        ),
        (
            "error_rate > 5%",
            "error_rate > 5",
            "plan.yaml:13:12: triggers[0].when: expected a percentage like 0.5% or 5%, got '5'",
        ),
        (
            "router: envoy",
            "router: caddy",
            "plan.yaml:8:17: route.router: unknown router 'caddy'; known: envoy",
        ),
        (
            "check: smoke",
            "check: smok",
            "plan.yaml:17:12: steps[1].check: unknown check 'smok'; known: smoke",
        ),
        (
            "interval: 1s",
            "interval: 10",
            "plan.yaml:9:37: metrics.interval: expected a duration like 500ms, 30s, 15m, 2h or 2d, "
            "got 10",
        ),
        (
            "kind: threshold",
            "kind: magic",
            "plan.yaml:14:15: judge.kind: unknown judge 'magic'; known: mann-whitney, sequential, threshold",
        ),
    ],
)
def test_bad_input_names_file_line_column_field_and_expectation(
    old: str, new: str, expected: str
) -> None:
    assert old in GOOD_PLAN
    assert expected in "\n".join(issues_of(GOOD_PLAN.replace(old, new, 1)))


def test_every_problem_is_reported_not_only_the_first() -> None:
    text = GOOD_PLAN.replace("shift: 50", "shift: 500").replace("interval: 1s", "interval: 1y")
    found = issues_of(text)
    assert len(found) == 2
    assert any("metrics.interval" in f for f in found)
    assert any("steps[4].shift.weight" in f for f in found)


def test_step_with_two_kinds_is_an_error() -> None:
    text = GOOD_PLAN.replace("  - promote\n", "  - {promote: {}, pause: {}}\n")
    assert any(
        "steps[6]: a step has exactly one kind, got pause, promote" in i for i in issues_of(text)
    )


def test_promote_must_be_last_and_canary_deployed_before_traffic() -> None:
    text = GOOD_PLAN.replace("  - deploy: canary\n", "").replace(
        "  - promote\n", "  - promote\n  - pause\n"
    )
    found = "\n".join(issues_of(text))
    assert "steps[1].shift: traffic is shifted before the canary is deployed" in found
    assert "steps[5].promote: promote must be the last step" in found


def test_missing_required_field() -> None:
    found = issues_of("service: checkout\nsteps: [promote]\n")
    assert found == ["plan.yaml:1:1: revisions: required field is missing"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("service: !!python/object/apply:os.system [echo hi]\n", "is not allowed in a plan"),
        ("a: &a [1, 2]\nb: {<<: *a}\n", "merge keys"),
        ("service: a\nservice: b\n", "duplicate key 'service'"),
        ("service: [unclosed\n", "invalid YAML"),
        ("", "the plan is empty"),
        ("- just\n- a list\n", "a plan is a mapping"),
    ],
)
def test_unsafe_or_malformed_yaml_is_refused(text: str, message: str) -> None:
    assert any(message in i for i in issues_of(text))


def test_alias_bomb_is_refused_quickly() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 10)}]")
    assert any("too deeply aliased" in i for i in issues_of("\n".join(lines)))


def test_oversized_file_is_refused() -> None:
    assert any("larger than" in i for i in issues_of("# x\n" * 400_000))


def test_missing_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PlanError, match="no such file"):
        load_plan(tmp_path / "nope.yaml")


def test_schema_is_json_schema_with_durations_as_strings() -> None:
    schema = plan_schema()
    assert schema["title"] == "golive plan"
    assert "steps" in schema["required"]  # type: ignore[operator]
    assert "pattern" in str(schema)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_no_text_produces_anything_but_a_plan_or_a_plan_error(text: str) -> None:
    try:
        parse_plan(text, "fuzz.yaml")
    except PlanError:
        pass


_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(
        [
            "service",
            "revisions",
            "route",
            "metrics",
            "triggers",
            "judge",
            "steps",
            "checks",
            "preflight",
            "checklist",
            "scorecard",
            "approvals",
            "split_check",
        ]
    ),
    _values,
)
def test_any_value_in_any_field_gives_a_plan_error_not_a_traceback(key: str, value: object) -> None:
    import yaml

    base = yaml.safe_load(GOOD_PLAN)
    base[key] = value
    try:
        parse_plan(yaml.safe_dump(base), "fuzz.yaml")
    except PlanError as exc:
        assert all(i.line >= 1 for i in exc.issues)


def test_judge_defaults_to_sequential_and_every_kind_is_selectable() -> None:
    import re

    bare = re.sub(r"^judge: .*\n", "", GOOD_PLAN, flags=re.M)
    plan = parse_plan(bare, "plan.yaml")
    assert plan.judge.kind == "sequential"
    assert plan.judge.false_rollback_rate == pytest.approx(0.01)
    assert plan.judge.error_tolerance == pytest.approx(0.05)
    mw = parse_plan(bare + "judge: {kind: mann-whitney, interval: 5m}\n", "plan.yaml")
    assert (mw.judge.kind, mw.judge.interval) == ("mann-whitney", 300.0)
    argo = "judge: {kind: threshold, style: argo, failure_limit: 3, interval: 1m}\n"
    assert parse_plan(bare + argo, "plan.yaml").judge.style == "argo"
    bad = issues_of(bare + "judge: {kind: sequential, false_rollback_rate: 0%}\n")
    assert "judge.false_rollback_rate" in bad[0] and "greater than 0" in bad[0]


def test_each_judge_kind_gets_a_config_with_its_own_fields_only() -> None:
    import re

    bare = re.sub(r"^judge: .*\n", "", GOOD_PLAN, flags=re.M)
    mixed = "judge: {kind: threshold, max_latency: 500ms, for: 2m}\n"
    judge = parse_plan(bare + mixed, "plan.yaml").judge
    assert isinstance(judge, ThresholdConfig)
    assert (judge.max_latency_ms, judge.hold) == (500.0, 120.0)
    assert not hasattr(judge, "false_rollback_rate")  # a plan saying it is refused (below)
    mw = parse_plan(bare + "judge: {kind: mann-whitney, quantile: 0.99}\n", "plan.yaml").judge
    assert isinstance(mw, MannWhitneyConfig) and mw.latency_quantile == 0.99
    assert not hasattr(mw, "min_requests")
    assert isinstance(parse_plan(bare, "plan.yaml").judge, SequentialConfig)


def test_golives_own_haproxy_judges_latency_from_its_request_log() -> None:
    plan = parse_plan(GOOD_PLAN.replace("router: envoy", "router: haproxy"), "plan.yaml")
    assert plan.judge.metrics == ("error_rate", "latency")
    assert plan.judge.notes == ()


def test_an_attached_haproxy_without_its_log_must_say_latency_is_not_judged() -> None:
    text = GOOD_PLAN.replace('route: {router: envoy, listen: "127.0.0.1:8080"}', HAPROXY_ATTACH)
    text = text.replace(", segment: {header: x-beta-user}", "")
    assert issues_of(text) == [
        "plan.yaml:9:10: metrics: no latency source: HAProxy's statistics have no latency "
        "histogram and the plan gives no access_log; give the HAProxy's per-request log "
        "(attach: access_log, see docs/providers/haproxy.md) or say 'latency: not judged' "
        "under metrics"
    ]
    said = text.replace("{source: router, interval: 1s}", "{source: router, interval: 1s, "
                        "latency: not judged}")  # fmt: skip
    plan = parse_plan(said, "plan.yaml")
    assert plan.judge.metrics == ("error_rate",)
    assert plan.judge.notes == (
        "latency not judged: HAProxy's statistics have no latency histogram and the plan gives "
        "no access_log",
    )
    slow = said.replace(
        '  - {when: "error_rate > 5%", for: 10s, then: rollback}\n',
        '  - {when: "error_rate > 5%", for: 10s, then: rollback}\n  - {when: "latency_p99 > 2s"}\n',
    )
    assert [i.split(": ", 1)[1] for i in issues_of(slow)] == [
        "triggers[1].when: a latency trigger needs latency from the metric source: HAProxy's "
        "statistics have no latency histogram and the plan gives no access_log"
    ]
    logged = text.replace("canary: [web3]}", "canary: [web3], access_log: /var/log/hap.log}")
    assert parse_plan(logged, "plan.yaml").judge.metrics == ("error_rate", "latency")
    typo = said.replace("latency: not judged", "latency: off")
    assert "metrics.latency" in issues_of(typo)[0]


def test_prometheus_metrics_need_a_url_and_queries_for_other_routers() -> None:
    prom = GOOD_PLAN.replace(
        "metrics: {source: router, interval: 1s}",
        'metrics: {source: prometheus, interval: 1s, url: "http://127.0.0.1:9090"}',
    )
    plan = parse_plan(prom, "plan.yaml")
    assert (plan.metrics.source, plan.metrics.url) == ("prometheus", "http://127.0.0.1:9090")
    no_url = GOOD_PLAN.replace("metrics: {source: router,", "metrics: {source: prometheus,")
    assert "need its url" in issues_of(no_url)[0]
    haproxy = prom.replace("router: envoy", "router: haproxy")
    assert "give 'queries'" in issues_of(haproxy)[0]
    custom = haproxy.replace(
        'url: "http://127.0.0.1:9090"}',
        'url: "http://127.0.0.1:9090", queries: {requests: "sum(x)", errors: "sum(y)", '
        'latency_buckets: "sum by (le) (z)"}}',
    )
    assert dict(parse_plan(custom, "plan.yaml").metrics.queries)["requests"] == "sum(x)"


def test_cookie_segments_and_one_kind_per_segment() -> None:
    text = GOOD_PLAN.replace(
        "segment: {header: x-beta-user}", "segment: {cookie: beta, value: '1'}"
    )
    plan = parse_plan(text, "plan.yaml")
    assert plan.steps[2] == ShiftStep(1.0, Segment("beta", "1", cookie=True))
    both = GOOD_PLAN.replace("segment: {header: x-beta-user}", "segment: {header: a, cookie: b}")
    assert "exactly one of 'header' or 'cookie'" in issues_of(both)[0]
    odd = GOOD_PLAN.replace(
        "segment: {header: x-beta-user}", "segment: {cookie: beta, value: 'a b'}"
    )
    assert "steps[2].shift.segment.value" in issues_of(odd)[0]


def test_sticky_users_name_one_key() -> None:
    from golive.plan.model import Sticky

    text = GOOD_PLAN.replace(
        'route: {router: envoy, listen: "127.0.0.1:8080"}',
        'route: {router: nginx, listen: "127.0.0.1:8080", sticky: {cookie: user_id}}',
    )
    assert parse_plan(text, "plan.yaml").route.sticky == Sticky("user_id")
    envoy = text.replace("router: nginx", "router: envoy")
    assert parse_plan(envoy, "plan.yaml").route.sticky == Sticky("user_id")
    both = text.replace("sticky: {cookie: user_id}", "sticky: {cookie: a, header: b}")
    assert "exactly one of 'cookie' or 'header'" in issues_of(both)[0]


def test_a_revision_may_list_several_servers_but_one_process() -> None:
    text = GOOD_PLAN.replace(
        'stable: {version: 2.0.5, url: "http://127.0.0.1:9001"}',
        'stable: {version: 2.0.5, url: ["http://127.0.0.1:9001", "http://127.0.0.1:9003/"]}',
    )
    plan = parse_plan(text, "plan.yaml")
    assert plan.stable.urls == ("http://127.0.0.1:9001", "http://127.0.0.1:9003")
    assert plan.stable.url == "http://127.0.0.1:9001"
    two = GOOD_PLAN.replace(
        'url: "http://127.0.0.1:9002"\n',
        'url: ["http://127.0.0.1:9002", "http://127.0.0.1:9004"]\n',
    )
    assert issues_of(two) == [
        "plan.yaml:6:10: revisions.canary.url: golive starts one process per revision: give one "
        "url, or run the servers yourself and drop 'process'"
    ]
    shared = GOOD_PLAN.replace('url: "http://127.0.0.1:9002"\n', 'url: "http://127.0.0.1:9001"\n')
    assert "http://127.0.0.1:9001 is also a stable server" in issues_of(shared)[0]


NOT_JUDGED = "interval: 1s, latency: not judged}"
HAPROXY_ATTACH = (
    "route: {router: haproxy, attach: {socket: /run/haproxy/admin.sock, backend: web, "
    "stable: [web1, web2], canary: [web3]}}"
)


def test_attaching_to_haproxy_names_its_socket_backend_and_servers() -> None:
    from golive.plan.model import HAProxyAttach

    text = GOOD_PLAN.replace('route: {router: envoy, listen: "127.0.0.1:8080"}', HAPROXY_ATTACH)
    text = text.replace(", segment: {header: x-beta-user}", "")
    text = text.replace("max_latency: 500ms, ", "").replace("interval: 1s}", NOT_JUDGED)
    plan = parse_plan(text, "plan.yaml")
    assert plan.route.attach == (
        HAProxyAttach("/run/haproxy/admin.sock", "web", ("web1", "web2"), ("web3",)),
    )
    with_segment = GOOD_PLAN.replace(
        'route: {router: envoy, listen: "127.0.0.1:8080"}', HAPROXY_ATTACH
    ).replace("interval: 1s}", NOT_JUDGED)
    assert issues_of(with_segment) == [
        "plan.yaml:18:33: steps[2].shift.segment: HAProxy at /run/haproxy/admin.sock has no map "
        "for header:x-beta-user: add 'maps: {header:x-beta-user: PATH}' to attach (see "
        "docs/providers/haproxy.md)",
        "plan.yaml:8:34: route.attach: segments need canary_backend: the backend your map routes to",
    ]
    mapped = with_segment.replace(
        "canary: [web3]}}",
        'canary: [web3], maps: {"header:X-Beta-User": /etc/haproxy/beta.map}, '
        "canary_backend: web_canary}}",
    )
    assert parse_plan(mapped, "plan.yaml").route.attach[0].maps == (
        ("header:x-beta-user", "/etc/haproxy/beta.map"),
    )
    partial = text.replace(", canary: [web3]", ", include: /etc/x.conf")
    assert issues_of(partial) == [
        "plan.yaml:8:113: route.attach.include: 'include' is not a haproxy field; attaching to "
        "haproxy takes socket, backend, stable, canary, state_file, maps, sticky_map, "
        "canary_backend, stable_backend, access_log",
        "plan.yaml:8:34: route.attach: attaching to haproxy needs canary",
    ]
    envoy = text.replace("router: haproxy", "router: envoy")
    assert "golive runs its own envoy" in issues_of(envoy)[0]
    # a router named in the wrong case is one problem, the unknown router: it once added
    # "golive runs its own HAProxy; 'attach' is for haproxy and nginx", a router that does not
    # exist said to be run by golive, its attach refused
    cased = text.replace("router: haproxy", "router: HAProxy")
    assert issues_of(cased) == [
        "plan.yaml:8:17: route.router: unknown router 'HAProxy'; known: envoy, haproxy, nginx"
    ]


def test_attaching_to_nginx_needs_its_access_log_for_metrics() -> None:
    from golive.plan.model import NginxAttach

    route = (
        "route: {router: nginx, attach: {config: /etc/nginx/nginx.conf, pid: /run/nginx.pid, "
        "include: /etc/nginx/golive/web.conf, upstream: web, access_log: /var/log/nginx/web.log}}"
    )
    text = GOOD_PLAN.replace('route: {router: envoy, listen: "127.0.0.1:8080"}', route)
    plan = parse_plan(text, "plan.yaml")
    assert plan.route.attach == (NginxAttach(
        "/etc/nginx/nginx.conf", "/run/nginx.pid", "/etc/nginx/golive/web.conf", "web",
        "/var/log/nginx/web.log",
    ),)  # fmt: skip
    no_log = text.replace(", access_log: /var/log/nginx/web.log", "")
    assert "'access_log PATH golive_web;'" in issues_of(no_log)[0]
    relative = text.replace("pid: /run/nginx.pid", "pid: nginx.pid")
    assert "route.attach.pid" in issues_of(relative)[0]


RUNBOOK = GOOD_PLAN.replace(
    "triggers:\n",
    """preflight:
  - {name: api, http: {url: "http://127.0.0.1:9001/health", json: {status: ok}}, critical: true}
  - {name: db, postgres: {dsn: env:DATABASE_URL, max_replication_lag: 5s}, weight: 2}
  - {name: cert, tls: {host: "api.example.test:443", min_days: 14}}
checklist:
  - {id: runbook, text: Runbook reviewed, role: tech-lead}
scorecard: {go_at: 8.5}
approvals:
  go-live: {roles: [release-manager, security], timeout: 2h, on_timeout: wait}
triggers:
""",
).replace(
    "  - deploy: canary\n", "  - check: preflight\n  - approve: go-live\n  - deploy: canary\n"
)


def test_preflight_checklist_scorecard_and_approvals_parse() -> None:
    from golive.plan.checks import Postgres, Tls
    from golive.plan.model import ApprovalGate, ApproveStep, CheckStep
    from golive.plan.values import SecretRef

    plan = parse_plan(RUNBOOK, "plan.yaml")
    assert [(c.name, c.kind, c.category, c.weight, c.critical) for c in plan.preflight] == [
        ("api", "http", "infrastructure", 1.0, True),
        ("db", "postgres", "infrastructure", 2.0, False),
        ("cert", "tls", "security", 1.0, False),
    ]
    assert plan.preflight[1].options == Postgres(
        SecretRef("env", "DATABASE_URL"), max_replication_lag=5.0
    )
    assert isinstance(plan.preflight[2].options, Tls)
    assert plan.checklist[0].role == "tech-lead" and plan.go_at == 8.5
    assert plan.approvals["go-live"] == ApprovalGate(
        "go-live", ("release-manager", "security"), 7200.0, "wait"
    )
    assert plan.steps[:2] == (CheckStep("preflight"), ApproveStep("go-live"))


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "json: {status: ok}}",
            "json: {status: ok}, colour: red}",
            "plan.yaml:13:81: preflight[0].http.colour: unknown field 'colour'; expected one of: "
            "body_contains, headers, json, max_latency, status, url",
        ),
        (
            "dsn: env:DATABASE_URL",
            "dsn: 'postgresql://app:hunter2@db/app'",
            "plan.yaml:14:32: preflight[1].postgres.dsn: this URL holds a password "
            "(user:password@); put it in a secret reference like env:NAME or file:/path",
        ),
        (
            "{name: cert, tls:",
            "{name: cert, dns: {name: x}, tls:",
            "preflight[2]: a check has exactly one kind of http, tcp, postgres",
        ),
        (
            "approve: go-live",
            "approve: go-home",
            "steps[1].approve: unknown approval 'go-home'; known: go-live",
        ),
        ("{name: db,", "{name: api,", "preflight[1].name: two pre-flight checks are named 'api'"),
        (
            'tls: {host: "api.example.test:443"',
            "tls: {hostname: x",
            "preflight[2].tls.host: required field is missing",
        ),
        (
            "then: rollback}",
            "then: page}",
            "triggers[0].then: input should be 'rollback', 'pause' or 'notify'",
        ),
    ],
)
def test_preflight_errors_name_the_field(old: str, new: str, expected: str) -> None:
    assert old in RUNBOOK
    issues = "\n".join(issues_of(RUNBOOK.replace(old, new, 1)))
    assert expected in issues
    assert "hunter2" not in issues


def test_check_preflight_needs_a_preflight() -> None:
    text = GOOD_PLAN.replace("  - deploy: canary\n", "  - check: preflight\n  - deploy: canary\n")
    assert "has no 'preflight' checks and no 'checklist' items" in issues_of(text)[0]


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(KINDS)), _values)
def test_any_value_in_any_check_kind_gives_a_plan_error_not_a_traceback(
    kind: str, value: object
) -> None:
    import yaml

    base = yaml.safe_load(GOOD_PLAN)
    base["preflight"] = [{"name": "x", kind: value}]
    try:
        parse_plan(yaml.safe_dump(base), "fuzz.yaml")
    except PlanError as exc:
        assert all(i.line >= 1 for i in exc.issues)


def test_attach_may_list_several_proxies_each_checked() -> None:
    two = (
        "route: {router: haproxy, attach: ["
        "{socket: /run/a.sock, backend: web, stable: [s1], canary: [c1]}, "
        "{socket: /run/b.sock, backend: web, stable: [s1]}]}"
    )
    text = GOOD_PLAN.replace('route: {router: envoy, listen: "127.0.0.1:8080"}', two)
    text = text.replace(", segment: {header: x-beta-user}", "").replace("max_latency: 500ms, ", "")
    text = text.replace("interval: 1s}", NOT_JUDGED)
    assert [i.split(": ", 1)[1] for i in issues_of(text)] == [
        "route.attach[1]: attaching to haproxy needs canary"
    ]
    plan = parse_plan(text.replace("stable: [s1]}]", "stable: [s1], canary: [c1]}]"), "p.yaml")
    assert plan.route.proxy_names() == ["/run/a.sock", "/run/b.sock"]


def test_a_canary_process_may_adopt_a_server_already_answering_and_a_bad_value_is_located() -> None:
    assert parse_plan(GOOD_PLAN, "plan.yaml").canary.process.adopt is False  # type: ignore[union-attr]
    adopt = GOOD_PLAN.replace(
        'ready: "http://127.0.0.1:9002/health"}',
        'ready: "http://127.0.0.1:9002/health", adopt: true}',
    )
    assert parse_plan(adopt, "plan.yaml").canary.process.adopt is True  # type: ignore[union-attr]
    issues = issues_of(adopt.replace("adopt: true", "adopt: sometimes"))
    assert issues[0].startswith("plan.yaml:7:95: revisions.canary.process.adopt: input should be")


@pytest.mark.parametrize(
    ("old", "new", "said"),
    [
        ("shift: 50", "shift: true", "steps[4].shift.weight: expected a weight like 5 or 5%"),
        ("analyze: 15s", "analyze: 99999999999999999h", "longer than a plan can wait"),
        ("interval: 1s", "interval: 0s", "metrics.interval: at least 100ms"),
        (
            "version: 2.0.5",
            "version: " + "9" * 200,
            "revisions.stable.version: a version is 1 to 128 characters, got 200",
        ),
        ('"error_rate > 5%"', '"latency_p0 > 1s"', "between latency_p1 and latency_p99.9"),
        ('url: "http://127.0.0.1:9001"', 'url: "http://127.0.0.1:9001/a b"', "expected a server"),
    ],
)
def test_values_a_person_would_not_mean_are_refused_in_words(old: str, new: str, said: str) -> None:
    """Issue #12.4: each was accepted (true as 1%, infinity, a busy loop) or said in regex."""
    assert old in GOOD_PLAN
    with pytest.raises(PlanError) as info:
        parse_plan(GOOD_PLAN.replace(old, new), "plan.yaml")
    assert said in str(info.value), str(info.value)
    assert "constrained-str" not in str(info.value) and "pattern" not in str(info.value)


def test_a_weight_is_written_as_a_number_or_a_percentage() -> None:
    plan = parse_plan(GOOD_PLAN.replace("shift: 50", "shift: 50%"), "plan.yaml")
    assert any(getattr(step, "weight", None) == 50.0 for step in plan.steps)


def test_a_later_shift_keeps_the_segment_only_when_the_plan_says_so() -> None:
    """Issue #12.11: a shift without a segment silently dropped the beta users' segment."""
    text = GOOD_PLAN.replace("shift: 50", "shift: {weight: 50, segment: keep}")
    shifts = [s for s in parse_plan(text, "plan.yaml").steps if isinstance(s, ShiftStep)]
    assert shifts[0].segment is not None and shifts[1].segment == shifts[0].segment
    dropped = [s for s in parse_plan(GOOD_PLAN, "plan.yaml").steps if isinstance(s, ShiftStep)]
    assert dropped[1].segment is None
    early = GOOD_PLAN.replace(
        "shift: {weight: 1, segment: {header: x-beta-user}}", "shift: {weight: 1, segment: keep}"
    )
    with pytest.raises(PlanError, match="no shift before has one"):
        parse_plan(early, "plan.yaml")


def test_split_check_defaults_to_pause_and_rollback_over_and_can_be_tuned_or_off() -> None:
    from golive.analysis.splitcheck import SplitCheck
    from golive.analysis.triggers import TriggerAction

    assert parse_plan(GOOD_PLAN, "plan.yaml").split_check == SplitCheck(
        0.02, TriggerAction.PAUSE, TriggerAction.ROLLBACK
    )
    tuned = parse_plan(GOOD_PLAN + "split_check: {tolerance: 5%, then: notify}\n", "plan.yaml")
    assert tuned.split_check == SplitCheck(0.05, TriggerAction.NOTIFY, TriggerAction.ROLLBACK)
    for off in ("false", "off"):
        assert parse_plan(GOOD_PLAN + f"split_check: {off}\n", "plan.yaml").split_check is None


def test_split_check_mistakes_point_at_the_line() -> None:
    found = issues_of(GOOD_PLAN + "split_check:\n  then: stop\n  tolerance: 70%\n  when: x\n")
    assert found == [
        "plan.yaml:25:14: split_check.tolerance: expected a tolerance of at most 50% "
        "(points of share), got 70%",
        "plan.yaml:24:9: split_check.then: input should be 'pause', 'rollback' or 'notify', "
        'got "stop"',
        "plan.yaml:26:3: split_check.when: unknown field 'when'; expected one of: over, then, "
        "tolerance",
    ]


def test_a_judge_setting_its_kind_does_not_read_is_an_error_where_it_is_written() -> None:
    """`judge: {window: 5s}` under the default sequential judge was accepted and changed
    nothing: a person tuning the window believed it did."""
    import re

    bare = re.sub(r"^judge: .*\n", "", GOOD_PLAN, flags=re.M)
    found = issues_of(bare + "judge:\n  min_requests: 20\n  window: 5s\n  for: 10s\n")
    at = len(bare.splitlines())
    assert found == [
        f"plan.yaml:{at + 3}:11: judge.window: the sequential judge does not read window "
        "(the threshold judge does): remove it or set kind: threshold",
        f"plan.yaml:{at + 4}:8: judge.for: the sequential judge does not read for "
        "(the threshold judge does): remove it or set kind: threshold",
    ]
    mixed = "judge: {kind: threshold, false_rollback_rate: 2%}\n"
    assert issues_of_ok(bare + mixed) == [
        f"plan.yaml:{at + 1}:47: judge.false_rollback_rate: the threshold judge does not read "
        "false_rollback_rate (the sequential judge does): remove it or set kind: sequential"
    ]
    assert not issues_of_ok(bare + "judge: {kind: threshold, window: 5s, for: 10s}\n")
    assert not issues_of_ok(bare + "judge: {kind: mann-whitney, interval: 5m, quantile: 0.9}\n")


def issues_of_ok(text: str) -> list[str]:
    try:
        parse_plan(text, "plan.yaml")
    except PlanError as exc:
        return [str(i) for i in exc.issues]
    return []


def test_a_wrong_attach_mapping_is_not_also_told_to_be_a_list() -> None:
    # route.attach is a mapping or a list of them: a mapping with a wrong field once came with
    # "route.attach: Input should be a valid list", and an empty list with "Input should be a
    # valid dictionary or instance of AttachSpec" (a class name of golive's code)
    text = GOOD_PLAN.replace(
        'route: {router: envoy, listen: "127.0.0.1:8080"}', HAPROXY_ATTACH
    ).replace("interval: 1s}", NOT_JUDGED)
    wrong = issues_of(text.replace("canary: [web3]}", "canary: [web3], bogus: 1}"))
    assert len(wrong) == 1 and "route.attach.bogus: unknown field 'bogus'" in wrong[0], wrong
    empty = issues_of(text.replace(HAPROXY_ATTACH[:-1].split("attach: ")[1], "[]"))
    assert empty == [
        "plan.yaml:8:34: route.attach: List should have at least 1 item after validation, not 0"
    ], empty


@pytest.mark.parametrize(
    ("tail", "where"),
    [
        ('  - pause: {reason: "held\\udc80"}\n', "plan.yaml:"),
        ('"\\ud800": 1\n', "plan.yaml:"),
    ],
)
def test_an_escape_of_half_a_character_is_refused_where_it_is(tail: str, where: str) -> None:
    """'\\udc80' in a double-quoted string is valid YAML and half of a character: a pause
    reason with one passed the loader (through the API too) and could never be journaled."""
    text = (
        GOOD_PLAN.replace("  - promote\n", tail + "  - promote\n")
        if "pause" in tail
        else (GOOD_PLAN + tail)
    )
    found = issues_of(text)
    assert any("half of a character" in i and where in i for i in found), found
