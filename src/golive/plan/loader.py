"""Plan file -> :class:`~golive.plan.model.Plan`, or a :class:`PlanError` that points at the line.

Three passes: safe YAML with positions (:mod:`yamlsource`), every string of it searched for a
literal password (:mod:`passwords`); strict schema validation (:mod:`spec`); then the rules
that span fields (weights increase, named checks exist, the canary is deployed before traffic
reaches it). Every problem found is reported, not only the
first, each as ``file:line:col: field.path: what was expected``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
import types
import typing
from pathlib import Path as FsPath
from typing import get_args, get_origin

import pydantic
from pydantic import BaseModel
from pydantic_core import ErrorDetails

from golive.analysis.judge import config_for
from golive.analysis.splitcheck import SplitCheck
from golive.analysis.triggers import Trigger, TriggerAction, parse_condition
from golive.errors import PlanError, PlanIssue
from golive.plan import migrations
from golive.plan import model as m
from golive.plan import spec as s
from golive.plan.checks import DEFAULT_CATEGORY, DEFAULT_TIMEOUT
from golive.plan.kinds import ROUTERS
from golive.plan.passwords import literal_passwords
from golive.plan.rules import cross_checks, latency_not_judged
from golive.plan.steps import StepSpec
from golive.plan.yamlsource import MAX_BYTES, Located, Path, format_path, read_yaml
from golive.textfile import TextFileError, decode, read_text

STDIN = "-"  # the plan path that reads the plan from standard input


def load_plan(path: str | FsPath) -> m.Plan:
    """Read and validate a plan file (``-``: standard input, named ``<stdin>``)."""
    name = str(path)
    try:
        if name == STDIN:
            name = "<stdin>"
            text = decode(_read_stdin(), MAX_BYTES)
        else:
            text = read_text(FsPath(path), MAX_BYTES)
    except TextFileError as exc:
        raise PlanError([PlanIssue(name, exc.line, exc.column, "", str(exc))]) from None
    return parse_plan(text, name)


def _read_stdin() -> bytes:
    """At most one byte more than a plan may have, from standard input (closed: an error)."""
    if sys.stdin is None:  # started with standard input closed ('<&-')
        raise TextFileError("no standard input to read the plan from (it is closed)")
    try:
        return sys.stdin.buffer.read(MAX_BYTES + 1)
    except OSError as exc:
        raise TextFileError(f"cannot read standard input: {exc.strerror or exc}") from None


def parse_plan(text: str, filename: str = "<plan>") -> m.Plan:
    located = read_yaml(text, filename)
    if not isinstance(located.data, dict):
        raise PlanError(
            [PlanIssue(filename, 1, 1, "", "a plan is a mapping (service:, steps:, ...)")]
        )
    leaks = list(literal_passwords(located, filename))
    try:
        spec = s.PlanSpec.model_validate(located.data)
    except pydantic.ValidationError as exc:
        seen = {i.field for i in leaks}
        rest = [i for i in _issues(exc, located, filename) if i.field not in seen]
        raise PlanError(leaks + rest) from None
    issues = leaks + list(cross_checks(spec, located, filename))
    if issues:
        raise PlanError(issues)
    digest = hashlib.sha256(text.encode()).hexdigest()
    plan = _build(spec, filename, digest)
    steps, issues = migrations.resolve(spec, plan.steps, located, filename)
    if issues:
        raise PlanError(issues)
    return dataclasses.replace(plan, steps=steps, text=text)


def plan_schema() -> dict[str, object]:
    schema = s.PlanSpec.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "golive plan"
    return schema


# -- error reporting -------------------------------------------------------------------------


def _allowed_at(loc: Path) -> list[str]:
    """The keys allowed at ``loc`` (a spec model's fields, or a check kind's options)."""
    current: object = s.PlanSpec
    for part in loc:
        current = _unwrap(current)
        if isinstance(part, int):
            continue
        if get_origin(current) is dict:
            current = get_args(current)[1]
        else:
            current = dict(_fields(current)).get(str(part))
    return sorted(name for name, _ in _fields(_unwrap(current)))


def _fields(tp: object) -> list[tuple[str, object]]:
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [(f.alias or n, f.annotation) for n, f in tp.model_fields.items()]
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp, include_extras=True)
        return [(f.name, hints[f.name]) for f in dataclasses.fields(tp)]
    return []


def _unwrap(tp: object) -> object:
    for _ in range(6):
        origin = get_origin(tp)
        if origin is typing.Annotated:
            tp = get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            tp = next(a for a in get_args(tp) if a is not type(None))
        elif origin is list:
            tp = get_args(tp)[0]
        else:
            break
    return tp


_BRANCHES = {"literal", "str", "int", "float", "bool", "list", "dict"}


def _clean_loc(loc: tuple[int | str, ...]) -> Path:
    # pydantic adds validator names ("function-before[...]") and union branches (a type's name)
    return tuple(
        p
        for p in loc
        if isinstance(p, int)
        or ("[" not in p and p not in _BRANCHES and not isinstance(getattr(s, p, None), type))
    )


# "not this branch's shape" at a union (a mapping or a list of them, as route.attach)
_SHAPE = {"list_type", "model_type", "dict_type", "model_attributes_type"}


def _branches(errors: list[ErrorDetails]) -> list[ErrorDetails]:
    """Drop a union branch's "input should be a valid list" (or "... instance of AttachSpec")
    when another branch of the same union says what is wrong with the value given."""

    def union(err: ErrorDetails) -> tuple[int | str, ...] | None:
        loc = err["loc"]
        return loc[:-1] if err["type"] in _SHAPE and loc and _is_branch(loc[-1]) else None

    said = {
        err["loc"][:i]
        for err in errors
        for i, part in enumerate(err["loc"])
        if _is_branch(part) and not (union(err) is not None and i == len(err["loc"]) - 1)
    }
    return [err for err in errors if union(err) is None or union(err) not in said]


def _is_branch(part: int | str) -> bool:
    return isinstance(part, str) and _clean_loc((part,)) == ()


def _issues(exc: pydantic.ValidationError, located: Located, filename: str) -> list[PlanIssue]:
    issues: list[PlanIssue] = []
    for err in _branches(exc.errors(include_url=False)):
        loc = _clean_loc(err["loc"])
        kind = err["type"]
        if kind in ("extra_forbidden", "unexpected_keyword_argument"):
            allowed = _allowed_at(loc[:-1])
            message = f"unknown field {loc[-1]!r}"
            if allowed:
                message += f"; expected one of: {', '.join(allowed)}"
            line, col = located.position(loc, key=True)
        else:
            message = _message(err)
            line, col = located.position(loc)
        issues.append(PlanIssue(filename, line, col, format_path(loc), message))
    return issues


def _message(err: typing.Mapping[str, typing.Any]) -> str:
    msg = str(err["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        msg = msg.removeprefix(prefix)
    if err["type"] in ("missing", "missing_argument"):
        return "required field is missing"
    value = err.get("input")
    if err["type"] != "value_error" and isinstance(value, str | int | float | bool):
        shown = json.dumps(value)
        if len(shown) > 80:  # a 100 KB value is not repeated back at the terminal
            shown = f"{shown[:60]}... ({len(shown)} characters)"
        msg = f"{msg[:1].lower()}{msg[1:]}, got {shown}"
    return msg[:1000]


# -- spec -> frozen plan ---------------------------------------------------------------------


def _revision(which: m.Revision, spec: s.RevisionSpec) -> m.RevisionSpec:
    process = None
    if spec.process is not None:
        p = spec.process
        env = tuple(sorted(p.env.items()))
        process = m.Process(tuple(p.command), p.ready, p.timeout, env, p.adopt)
    urls = [spec.url] if isinstance(spec.url, str) else spec.url
    return m.RevisionSpec(which, spec.version, tuple(u.rstrip("/") for u in urls), process)


def _check(name: str, spec: s.CheckSpec) -> m.Check:
    kind, options = spec.kind()
    category = spec.category or DEFAULT_CATEGORY.get(kind, "infrastructure")
    timeout = spec.timeout if spec.timeout is not None else DEFAULT_TIMEOUT.get(kind, 10.0)
    return m.Check(name, kind, options, category, spec.weight, spec.critical, timeout, spec.retries)


def _kept(specs: list[StepSpec], steps: tuple[m.Step, ...]) -> tuple[m.Step, ...]:
    """``segment: keep`` carries the previous shift's segment on (a shift without one ends it)."""
    out: list[m.Step] = []
    last: m.Segment | None = None
    for spec, step in zip(specs, steps, strict=True):
        if isinstance(step, m.ShiftStep):
            shift = spec.get("shift")
            if shift is not None and shift.segment == "keep":
                step = m.ShiftStep(step.weight, last)
            last = step.segment
        out.append(step)
    return tuple(out)


def _attach(spec: s.PlanSpec) -> tuple[m.AttachedProxy, ...]:
    """The proxies golive attaches to, as the router kind builds them (the rules have checked
    that the kind attaches and that each entry has its fields)."""
    given = spec.route.attach
    entries = [] if given is None else [given] if isinstance(given, s.AttachSpec) else given
    attach = ROUTERS.get(spec.route.router).attach
    assert attach is not None or not entries
    return tuple(attach.build(a) for a in entries) if attach else ()


def _sticky(sticky: s.StickySpec | None) -> m.Sticky | None:
    if sticky is None:
        return None
    if sticky.cookie is not None:
        return m.Sticky(sticky.cookie)
    assert sticky.header is not None
    return m.Sticky(sticky.header.lower(), cookie=False)


def _split_check(spec: s.SplitCheckSpec | None) -> SplitCheck | None:
    if spec is None:
        return None
    return SplitCheck(spec.tolerance, TriggerAction(spec.then), TriggerAction(spec.over))


def _build(spec: s.PlanSpec, filename: str, digest: str) -> m.Plan:
    listens = [spec.route.listen] if isinstance(spec.route.listen, str) else spec.route.listen
    instances = tuple((h, int(p)) for h, _, p in (x.rpartition(":") for x in listens))
    host, port = instances[0]
    j = spec.judge
    no_latency = latency_not_judged(spec)
    judge = config_for(
        j.kind,
        metrics=("error_rate",) if no_latency else ("error_rate", "latency"),
        notes=(f"latency not judged: {no_latency}",) if no_latency else (),
        false_rollback_rate=j.false_rollback_rate,
        false_promotion_rate=j.false_promotion_rate,
        min_exposure=j.min_exposure,
        interval=j.interval,
        style=j.style,
        failure_limit=j.failure_limit,
        consecutive_error_limit=j.consecutive_error_limit,
        error_tolerance=j.error_tolerance,
        latency_tolerance=j.latency_tolerance,
        max_error_rate=j.max_error_rate,
        max_latency_ms=None if j.max_latency is None else j.max_latency * 1000.0,
        max_error_ratio=j.max_error_ratio,
        max_latency_ratio=j.max_latency_ratio,
        latency_quantile=j.quantile,
        min_requests=j.min_requests,
        window=j.window,
        hold=j.for_,
    )
    triggers = tuple(
        Trigger(
            t.when.strip(),
            *parse_condition(t.when),
            hold=t.for_,
            window=t.window,
            min_requests=t.min_requests,
            action=TriggerAction(t.then),
        )
        for t in spec.triggers
    )
    checks = {name: _check(name, c) for name, c in spec.checks.items()}
    preflight = tuple(_check(c.name or f"check {i + 1}", c) for i, c in enumerate(spec.preflight))
    checklist = tuple(
        m.ChecklistItem(i.id, i.text, i.role, i.category, i.weight, i.critical)
        for i in spec.checklist
    )
    approvals = {
        name: m.ApprovalGate(
            name, tuple(a.roles), a.timeout, a.on_timeout, a.allow_self_approval, a.require_token
        )
        for name, a in spec.approvals.items()
    }
    return m.Plan(
        service=spec.service,
        stable=_revision(m.Revision.STABLE, spec.revisions.stable),
        canary=_revision(m.Revision.CANARY, spec.revisions.canary),
        route=m.Route(
            spec.route.router, host, port, instances, _sticky(spec.route.sticky), _attach(spec)
        ),
        metrics=m.MetricsSpec(
            spec.metrics.source,
            spec.metrics.interval,
            spec.metrics.url,
            tuple(sorted((spec.metrics.queries or {}).items())),
        ),
        judge=judge,
        drain=m.Drain(spec.drain.grace, spec.drain.timeout),
        steps=_kept(spec.steps, tuple(step.build() for step in spec.steps)),
        checks=checks,
        preflight=preflight,
        checklist=checklist,
        risks=tuple(m.Risk(r.risk, r.likelihood, r.impact, r.mitigation) for r in spec.risks),
        go_at=spec.scorecard.go_at,
        confirm_within=spec.scorecard.confirm_within,
        approvals=approvals,
        permissions={verb: tuple(who) for verb, who in spec.permissions.model_dump().items()},
        triggers=triggers,
        split_check=_split_check(spec.split_check),
        notify=None if spec.notify is None else spec.notify.build(),
        source=filename,
        digest=digest,
    )
