"""Rules across fields of a plan: what one field's schema cannot say alone.

Each rule yields a :class:`PlanIssue` at the position of the field it is about.
"""

from __future__ import annotations

import dataclasses
import typing

from golive.analysis.judge import known_kinds, settings_of
from golive.analysis.triggers import parse_condition
from golive.errors import PlanIssue
from golive.plan import spec as s
from golive.plan.kinds import ROUTERS, SOURCES
from golive.plan.registry import Issue
from golive.plan.yamlsource import Located, Path, format_path
from golive.units import port_problem

NOT_JUDGED = "not judged"


def missing_latency(spec: s.PlanSpec) -> str | None:
    """Why the plan's metric source has no latency, or None when it has: the router's own
    statistics have it as the router kind says (:attr:`RouterKind.latency`)."""
    source, router = SOURCES.find(spec.metrics.source), ROUTERS.find(spec.route.router)
    if source is None or not source.router_stats or router is None:
        return None
    return router.latency(spec)


def latency_not_judged(spec: s.PlanSpec) -> str | None:
    """Why latency is not judged: the plan says so, or (an error then) it has no source."""
    if spec.metrics.latency == NOT_JUDGED:
        return missing_latency(spec) or "the plan says so ('latency: not judged')"
    return missing_latency(spec)


def cross_checks(spec: s.PlanSpec, located: Located, filename: str) -> typing.Iterator[PlanIssue]:
    def issue(path: Path, message: str) -> PlanIssue:
        line, col = located.position(path)
        return PlanIssue(filename, line, col, format_path(path), message)

    if ROUTERS.find(spec.route.router) is None:
        yield issue(("route", "router"), ROUTERS.unknown(spec.route.router))
    source = SOURCES.find(spec.metrics.source)
    if source is None:
        yield issue(("metrics", "source"), SOURCES.unknown(spec.metrics.source))
    if spec.judge.kind not in known_kinds():
        yield issue(
            ("judge", "kind"),
            f"unknown judge {spec.judge.kind!r}; known: {', '.join(known_kinds())}",
        )
    if source is not None and source.url_example and spec.metrics.url is None:
        yield issue(
            ("metrics",),
            f"metrics from {source.name} need its url, e.g. {source.url_example}",
        )
    if source is not None and source.rules is not None:
        yield from source.rules(spec, issue)
    why = latency_not_judged(spec)
    missing = missing_latency(spec)
    if missing and spec.metrics.latency != NOT_JUDGED:
        remedy = ROUTERS.get(spec.route.router).latency_remedy
        yield issue(
            ("metrics",),
            f"no latency source: {missing}; {remedy + ' or ' if remedy else ''}say 'latency: not "
            "judged' under metrics",
        )
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
    yield from _port_issues(spec, issue)
    yield from _judge_issues(spec, issue)
    yield from _revision_issues(spec, issue)
    yield from _preflight_issues(spec, issue)
    yield from _attach_issues(spec, issue)
    if spec.drain.grace > spec.drain.timeout:
        yield issue(("drain", "grace"), "grace must not be longer than the drain timeout")
    for i, step in enumerate(spec.steps):  # each kind's own rules (golive.plan.steps)
        yield from step.rules(spec, i, issue)


def _addresses(spec: s.PlanSpec) -> typing.Iterator[tuple[Path, str]]:
    """Every host:port and URL of the plan, with where it is."""

    def each(where: Path, value: str | list[str]) -> typing.Iterator[tuple[Path, str]]:
        if isinstance(value, str):
            yield where, value
        else:
            yield from (((*where, i), v) for i, v in enumerate(value))

    yield from each(("route", "listen"), spec.route.listen)
    for name in ("stable", "canary"):
        revision: s.RevisionSpec = getattr(spec.revisions, name)
        yield from each(("revisions", name, "url"), revision.url)
        if revision.process is not None:
            yield ("revisions", name, "process", "ready"), revision.process.ready
    if spec.metrics.url is not None:
        yield ("metrics", "url"), spec.metrics.url
    checks: list[tuple[Path, s.CheckSpec]] = [(("checks", n), c) for n, c in spec.checks.items()]
    checks += [(("preflight", i), c) for i, c in enumerate(spec.preflight)]
    for where, check in checks:
        kind, options = check.kind()
        for option in dataclasses.fields(options):
            value = getattr(options, option.name)
            if isinstance(value, str) and (
                "://" in value or (kind, option.name) == ("tls", "host")
            ):
                yield (*where, kind, option.name), value


# the plan's judge keys, by the name of the setting each becomes in the judge's config
_JUDGE_SETTING = {"max_latency": "max_latency_ms", "quantile": "latency_quantile", "for_": "hold"}


def _judge_issues(spec: s.PlanSpec, issue: Issue) -> typing.Iterator[PlanIssue]:
    """A judge setting the plan's judge kind does not read is an error, not silently ignored
    (``window: 5s`` under the sequential judge changed nothing)."""
    kind = spec.judge.kind
    if kind not in known_kinds():
        return  # said once, at judge.kind
    reads = settings_of(kind)
    found = []
    for name in spec.judge.model_fields_set - {"kind"}:
        setting = _JUDGE_SETTING.get(name, name)
        if setting in reads:
            continue
        key = "for" if name == "for_" else name
        by = [k for k in known_kinds() if setting in settings_of(k)]
        found.append(
            issue(
                ("judge", key),
                f"the {kind} judge does not read {key}"
                + (
                    f" (the {' and '.join(by)} judge does): remove it or set kind: {by[0]}"
                    if by
                    else ""
                ),
            )
        )
    yield from sorted(found, key=lambda i: (i.line, i.column))


def _port_issues(spec: s.PlanSpec, issue: Issue) -> typing.Iterator[PlanIssue]:
    for where, value in _addresses(spec):
        problem = port_problem(value)
        if problem is not None:
            yield issue(where, problem)


def _revision_issues(spec: s.PlanSpec, issue: Issue) -> typing.Iterator[PlanIssue]:
    urls: dict[str, str] = {}
    for name in ("stable", "canary"):
        revision = getattr(spec.revisions, name)
        listed = [revision.url] if isinstance(revision.url, str) else revision.url
        if revision.process is not None and len(listed) > 1:
            yield issue(
                ("revisions", name, "url"),
                "golive starts one process per revision: give one url, or run the servers "
                "yourself and drop 'process'",
            )
        for url in listed:
            other = urls.setdefault(url.rstrip("/"), name)
            if other != name:
                yield issue(("revisions", name, "url"), f"{url} is also a {other} server")


def _attach_issues(spec: s.PlanSpec, issue: Issue) -> typing.Iterator[PlanIssue]:
    attach, router = spec.route.attach, spec.route.router
    if attach is None:
        return
    kind = ROUTERS.find(router)
    if kind is None:  # the unknown router is the problem, reported with the kinds
        return
    if kind.attach is None:
        can = " and ".join(k.name for k in ROUTERS.kinds() if k.attach is not None)
        yield issue(("route", "attach"), f"golive runs its own {router}; 'attach' is for {can}")
        return
    entries = [(("route", "attach"), attach)] if isinstance(attach, s.AttachSpec) else [
        (("route", "attach", i), a) for i, a in enumerate(attach)
    ]  # fmt: skip
    for where, entry in entries:
        yield from _attach_entry(spec, router, where, entry, issue)
    if not isinstance(spec.route.listen, str):
        yield issue(("route", "listen"), "with 'attach', the proxies are the attach list; "
                    "give one listen address")  # fmt: skip


def _attach_entry(
    spec: s.PlanSpec, router: str, where: Path, entry: s.AttachSpec, issue: Issue
) -> typing.Iterator[PlanIssue]:
    kind = ROUTERS.get(router)
    assert kind.attach is not None  # checked by the caller
    required, optional = kind.attach.required, kind.attach.optional
    given = {k for k, v in entry.model_dump().items() if v is not None}
    for extra in sorted(given - set(required) - set(optional)):
        yield issue(
            (*where, extra),
            f"'{extra}' is not a {router} field; attaching to {router} takes "
            + ", ".join(required + optional),
        )
    missing = [k for k in required if k not in given]
    if missing:
        yield issue(where, f"attaching to {router} needs {', '.join(missing)}")
    yield from kind.attach.rules(spec, where, entry, issue)


def _preflight_issues(spec: s.PlanSpec, issue: Issue) -> typing.Iterator[PlanIssue]:
    if "preflight" in spec.checks:
        yield issue(
            ("checks", "preflight"),
            "'preflight' is the plan's pre-flight (the 'preflight' list); name this check "
            "otherwise",
        )
    names: set[str] = set()
    for i, check in enumerate(spec.preflight):
        if check.name is None:
            yield issue(
                ("preflight", i), "a pre-flight check needs a name (shown on the scorecard)"
            )
        elif check.name in names:
            yield issue(("preflight", i, "name"), f"two pre-flight checks are named {check.name!r}")
        else:
            names.add(check.name)
    ids: set[str] = set()
    for i, item in enumerate(spec.checklist):
        if item.id in ids:
            yield issue(("checklist", i, "id"), f"two checklist items have the id {item.id!r}")
        ids.add(item.id)
