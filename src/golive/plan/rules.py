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
from golive.plan.yamlsource import Located, Path, format_path
from golive.units import port_problem

ROUTERS = ("envoy", "haproxy", "nginx")
NOT_JUDGED = "not judged"


def _attach_entries(spec: s.PlanSpec) -> list[s.AttachSpec]:
    attach = spec.route.attach
    return [] if attach is None else [attach] if isinstance(attach, s.AttachSpec) else attach


def missing_latency(spec: s.PlanSpec) -> str | None:
    """Why the plan's metric source has no latency, or None when it has.

    golive's own HAProxy logs every request to a file golive reads; an attached one has
    latency only when the plan names its log (``access_log``)."""
    if spec.metrics.source != "router" or spec.route.router != "haproxy":
        return None
    if any(a.access_log is None for a in _attach_entries(spec)):
        return "HAProxy's statistics have no latency histogram and the plan gives no access_log"
    return None


def latency_not_judged(spec: s.PlanSpec) -> str | None:
    """Why latency is not judged: the plan says so, or (an error then) it has no source."""
    if spec.metrics.latency == NOT_JUDGED:
        return missing_latency(spec) or "the plan says so ('latency: not judged')"
    return missing_latency(spec)


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
    why = latency_not_judged(spec)
    if missing_latency(spec) and spec.metrics.latency != NOT_JUDGED:
        yield issue(
            ("metrics",),
            f"no latency source: {missing_latency(spec)}; give the HAProxy's per-request log "
            "(attach: access_log, see docs/providers/haproxy.md) or say 'latency: not judged' "
            "under metrics",
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
    last_weight = -1.0
    segmented = False  # a shift before this one has a segment
    deployed = spec.revisions.canary.process is None
    for i, step in enumerate(spec.steps):
        if step.deploy == "canary":
            deployed = True
        if step.check == "preflight" and not (spec.preflight or spec.checklist):
            yield issue(
                ("steps", i, "check"),
                "'check: preflight' runs the plan's pre-flight, but it has no 'preflight' "
                "checks and no 'checklist' items",
            )
        elif step.check not in (None, "preflight") and step.check not in spec.checks:
            has_preflight = ["preflight"] if spec.preflight or spec.checklist else []
            known = ", ".join([*has_preflight, *sorted(spec.checks)]) or "none defined"
            yield issue(("steps", i, "check"), f"unknown check {step.check!r}; known: {known}")
        if step.approve is not None and step.approve not in spec.approvals:
            known = ", ".join(sorted(spec.approvals)) or "none defined under approvals:"
            yield issue(
                ("steps", i, "approve"), f"unknown approval {step.approve!r}; known: {known}"
            )
        if step.shift is not None:
            if step.shift.weight <= last_weight:
                yield issue(
                    ("steps", i, "shift", "weight"),
                    f"weights must increase from step to step: {step.shift.weight:g} "
                    f"follows {last_weight:g}",
                )
            last_weight = step.shift.weight
            if step.shift.segment == "keep" and not segmented:
                yield issue(
                    ("steps", i, "shift", "segment"),
                    "'keep' keeps the segment of the shift before, and no shift before has one",
                )
            segmented = step.shift.segment is not None and (
                segmented or step.shift.segment != "keep"
            )
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


Issue = typing.Callable[[Path, str], PlanIssue]
ATTACH_FIELDS = {
    "haproxy": (
        ("socket", "backend", "stable", "canary"),
        ("state_file", "maps", "sticky_map", "canary_backend", "stable_backend", "access_log"),
    ),
    "nginx": (("config", "pid", "include", "upstream"), ("access_log",)),
}


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
    if router not in ATTACH_FIELDS:
        yield issue(("route", "attach"), f"golive runs its own {router}; 'attach' is for "
                    "haproxy and nginx")  # fmt: skip
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
    required, optional = ATTACH_FIELDS[router]
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
    if router == "haproxy":
        yield from _attached_haproxy_routing(spec, where, entry, issue)
    if router == "nginx" and spec.metrics.source == "router" and entry.access_log is None:
        yield issue(
            where,
            "metrics from nginx come from its access log: give access_log, the file your server "
            f"block writes with 'access_log PATH golive_{entry.upstream or 'UPSTREAM'};'",
        )


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


def map_key(key: str) -> str:
    """``header:X-Beta-User`` -> ``header:x-beta-user``: header names are case-insensitive and
    segments keep them lower-case; cookie names are kept as written."""
    kind, _, name = key.partition(":")
    return f"{kind}:{name.lower() if kind == 'header' else name}"


def _attached_haproxy_routing(
    spec: s.PlanSpec, where: Path, entry: s.AttachSpec, issue: Issue
) -> typing.Iterator[PlanIssue]:
    """Segments and sticky users on someone else's HAProxy need its maps and backends."""
    maps = {map_key(k) for k in entry.maps or {}}
    for i, step in enumerate(spec.steps):
        seg = step.shift.segment if step.shift else None
        if not isinstance(seg, s.SegmentSpec):  # none, or kept: the earlier one is checked
            continue
        key = f"cookie:{seg.cookie}" if seg.cookie else f"header:{(seg.header or '').lower()}"
        if key not in maps:
            yield issue(
                ("steps", i, "shift", "segment"),
                f"HAProxy at {entry.socket} has no map for {key}: add 'maps: {{{key}: PATH}}' "
                "to attach (see docs/providers/haproxy.md)",
            )
        if entry.canary_backend is None:
            yield issue(where, "segments need canary_backend: the backend your map routes to")
    if spec.route.sticky and not (
        entry.sticky_map and entry.canary_backend and entry.stable_backend
    ):
        yield issue(
            where,
            "sticky users need sticky_map, canary_backend and stable_backend from your HAProxy "
            "(see docs/providers/haproxy.md)",
        )
