"""Rules across fields of a plan: what one field's schema cannot say alone.

Each rule yields a :class:`PlanIssue` at the position of the field it is about.
"""

from __future__ import annotations

import typing

from golive.analysis.judge import known_kinds
from golive.analysis.triggers import parse_condition
from golive.errors import PlanIssue
from golive.plan import spec as s
from golive.plan.yamlsource import Located, Path, format_path

ROUTERS = ("envoy", "haproxy", "nginx")
NO_LATENCY = {"haproxy": "HAProxy's statistics have no latency histogram"}


def missing_latency(spec: s.PlanSpec) -> str | None:
    """Why the plan's metric source has no latency, or None when it has."""
    return NO_LATENCY.get(spec.route.router) if spec.metrics.source == "router" else None


METRIC_SOURCES = ("router", "prometheus")


def cross_checks(spec: s.PlanSpec, located: Located, filename: str) -> typing.Iterator[PlanIssue]:
    def issue(path: Path, message: str) -> PlanIssue:
        line, col = located.position(path)
        return PlanIssue(filename, line, col, format_path(path), message)

    if spec.route.router not in ROUTERS:
        yield issue(
            ("route", "router"),
            f"unknown router {spec.route.router!r}; known: {', '.join(ROUTERS)}",
        )
    if spec.metrics.source not in METRIC_SOURCES:
        yield issue(
            ("metrics", "source"),
            f"unknown metric source {spec.metrics.source!r}; known: {', '.join(METRIC_SOURCES)}",
        )
    if spec.judge.kind not in known_kinds():
        yield issue(
            ("judge", "kind"),
            f"unknown judge {spec.judge.kind!r}; known: {', '.join(known_kinds())}",
        )
    if spec.metrics.source == "prometheus" and spec.metrics.url is None:
        yield issue(
            ("metrics",), "metrics from prometheus need its url, e.g. http://127.0.0.1:9090"
        )
    if (
        spec.metrics.source == "prometheus"
        and spec.route.router != "envoy"
        and not spec.metrics.queries
    ):
        yield issue(
            ("metrics",),
            "the default Prometheus queries read golive's Envoy; give 'queries' "
            "(requests, errors, latency_buckets) for this router's exporter",
        )
    why = missing_latency(spec)
    for i, t in enumerate(spec.triggers):
        if why and parse_condition(t.when)[0].startswith("latency"):
            yield issue(
                ("triggers", i, "when"),
                f"a latency trigger needs latency from the metric source: {why}",
            )
    if not isinstance(spec.route.listen, str) and len(set(spec.route.listen)) != len(
        spec.route.listen
    ):
        yield issue(("route", "listen"), "each proxy of a fleet needs its own address")
    if spec.drain.grace > spec.drain.timeout:
        yield issue(("drain", "grace"), "grace must not be longer than the drain timeout")
    last_weight = -1.0
    deployed = spec.revisions.canary.process is None
    for i, step in enumerate(spec.steps):
        if step.deploy == "canary":
            deployed = True
        if step.check is not None and step.check not in spec.checks:
            known = ", ".join(sorted(spec.checks)) or "none defined under checks:"
            yield issue(("steps", i, "check"), f"unknown check {step.check!r}; known: {known}")
        if step.shift is not None:
            if step.shift.weight <= last_weight:
                yield issue(
                    ("steps", i, "shift", "weight"),
                    f"weights must increase from step to step: {step.shift.weight:g} "
                    f"follows {last_weight:g}",
                )
            last_weight = step.shift.weight
            if not deployed and step.shift.weight > 0:
                yield issue(
                    ("steps", i, "shift"),
                    "traffic is shifted before the canary is deployed; add '- deploy: canary'"
                    " before this step",
                )
        if step.promote is not None and i != len(spec.steps) - 1:
            yield issue(("steps", i, "promote"), "promote must be the last step")
        if (
            step.analyze is not None
            and step.analyze.timeout is not None
            and step.analyze.timeout < step.analyze.for_
        ):
            yield issue(("steps", i, "analyze", "timeout"), "timeout must be at least 'for'")
