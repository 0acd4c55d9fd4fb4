"""The registries are the one list of each family's kinds (and of the step kinds): the plan's
schema and messages, the CLI's choices and the engine's factories all come from them."""

from __future__ import annotations

import asyncio
import inspect
from pathlib import Path

import pytest

from golive.cli.main import _parser
from golive.errors import PlanError
from golive.plan.kinds import DEPLOYERS, ROUTERS, SOURCES, local_routers
from golive.plan.loader import parse_plan, plan_schema
from golive.plan.registry import Registry, RouterKind, load
from golive.plan.steps import STEPS, StepSpec
from tests.conftest import GOOD_PLAN


def issues_of(text: str) -> list[str]:
    with pytest.raises(PlanError) as exc:
        parse_plan(text, "plan.yaml")
    return [str(i) for i in exc.value.issues]


def test_an_unknown_router_lists_exactly_the_registered_ones() -> None:
    text = GOOD_PLAN.replace("router: envoy", "router: traefik")
    assert "router: traefik" in text
    (issue,) = [i for i in issues_of(text) if "route.router" in i]
    assert issue.endswith(f"unknown router 'traefik'; known: {', '.join(ROUTERS.names())}")
    assert {"envoy", "haproxy", "nginx"} <= set(ROUTERS.names())


def test_an_unknown_metric_source_lists_exactly_the_registered_ones() -> None:
    text = GOOD_PLAN.replace("metrics: {source: router", "metrics: {source: statsd")
    assert "source: statsd" in text
    (issue,) = [i for i in issues_of(text) if "metrics.source" in i]
    known = ", ".join(SOURCES.names())
    assert issue.endswith(f"unknown metric source 'statsd'; known: {known}")


def test_attach_is_offered_for_the_kinds_that_can_attach() -> None:
    text = GOOD_PLAN.replace(
        "router: envoy", "router: envoy, attach: {socket: /run/h.sock, backend: b}"
    )
    can = " and ".join(k.name for k in ROUTERS.kinds() if k.attach is not None)
    assert any(i.endswith(f"'attach' is for {can}") for i in issues_of(text))
    assert can.startswith("haproxy and nginx")


def test_demo_router_choices_come_from_the_registry() -> None:
    demo = next(
        action
        for action in _parser()._subparsers._group_actions[0].choices["demo"]._actions  # type: ignore[union-attr]
        if "--router" in action.option_strings
    )
    assert tuple(demo.choices or ()) == local_routers()
    assert demo.default == local_routers()[0]
    assert local_routers() == tuple(k.name for k in ROUTERS.kinds() if k.launch is not None)


@pytest.mark.parametrize("kind", ROUTERS.kinds(), ids=ROUTERS.names())
def test_every_router_factory_builds_a_proxy_and_its_stats(
    kind: RouterKind, tmp_path: Path
) -> None:
    text = GOOD_PLAN.replace("router: envoy", f"router: {kind.name}")
    plan = parse_plan(text, "plan.yaml")
    build = load(kind.router)
    assert callable(build)
    proxy = build(plan, tmp_path, 0)
    for method in ("observe", "apply", "verify", "reset", "attach", "start", "stop", "aclose"):
        assert inspect.iscoroutinefunction(getattr(proxy, method)), method
    asyncio.run(proxy.aclose())
    stats = load(kind.stats)
    assert callable(stats)
    source = stats(plan, tmp_path, 0)
    for method in ("sample", "in_flight", "aclose"):
        assert inspect.iscoroutinefunction(getattr(source, method)), method
    asyncio.run(source.aclose())


def test_every_source_and_deployer_factory_resolves() -> None:
    for source in SOURCES.kinds():
        assert source.factory is None or callable(load(source.factory))
    for deployer in DEPLOYERS.kinds():
        assert callable(load(deployer.factory))


def test_a_kind_is_registered_once() -> None:
    family: Registry[RouterKind] = Registry("router")
    family.register(RouterKind("x", "X", router="m:f", stats="m:g"))
    with pytest.raises(ValueError, match="registered twice"):
        family.register(RouterKind("x", "X", router="m:f", stats="m:g"))
    with pytest.raises(ValueError, match="unknown router 'y'; known: x"):
        family.get("y")


def test_the_step_schema_is_the_step_registry() -> None:
    assert tuple(StepSpec.model_fields) == tuple(STEPS)
    assert tuple(STEPS)[:7] == (
        "deploy",
        "check",
        "approve",
        "shift",
        "analyze",
        "pause",
        "promote",
    )
    text = GOOD_PLAN.replace("steps:\n", "steps:\n  - {}\n", 1)
    (issue,) = [i for i in issues_of(text) if "steps[0]" in i]
    assert issue.endswith(f"a step needs one of: {', '.join(STEPS)}")
    schema = plan_schema()["$defs"]["StepSpec"]  # type: ignore[index]
    assert sorted(schema["properties"]) == sorted(STEPS)


def test_a_bare_step_is_a_registered_bare_kind() -> None:
    bare = [k.name for k in STEPS.values() if k.bare]
    assert {"pause", "promote"} <= set(bare)
    for name in bare:
        assert StepSpec.model_validate(name).kind()[0] == name
