"""The kinds of step a plan's ``steps:`` list holds: one registration each.

A step kind is its spec (the value under its key: ``shift: {weight: 5}``, or a shorthand such
as ``shift: 5``), how that value becomes the plan's step (:mod:`golive.plan.model`) and the
rules it must meet among the other steps. :data:`StepSpec`, a mapping with exactly one of these
keys, is built from the registry, so the schema, the message that lists the kinds, the loader
and the rules cannot disagree. The engine runs each kind with its own function
(:func:`golive.engine.steps.progress`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field, create_model, model_validator

from golive.errors import PlanIssue
from golive.plan import migrations
from golive.plan import model as m
from golive.plan.promote import PromoteSpec as PromoteSpec
from golive.plan.promote import promote_rules, promote_step
from golive.plan.registry import Issue
from golive.plan.strict import STRICT, Name
from golive.plan.values import Duration

if TYPE_CHECKING:
    from golive.plan.spec import PlanSpec


class SegmentSpec(BaseModel):
    model_config = STRICT
    header: Annotated[str, Field(pattern=r"^[A-Za-z0-9-]+$")] | None = None
    cookie: Annotated[str, Field(pattern=r"^[A-Za-z0-9_]+$")] | None = None
    value: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:@-]+$")] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> SegmentSpec:
        if (self.header is None) == (self.cookie is None):
            raise ValueError("a segment names exactly one of 'header' or 'cookie'")
        return self


def _weight(value: object) -> object:
    """A canary weight: 5, 0.5 or '5%' (as every other percentage is written); never a bool."""
    if isinstance(value, bool):
        raise ValueError(f"expected a weight like 5 or 5%, got {value!r}")
    if isinstance(value, str) and value.strip().endswith("%"):
        try:
            return float(value.strip()[:-1])
        except ValueError:
            raise ValueError(f"expected a weight like 5 or 5%, got {value!r}") from None
    return value


class ShiftSpec(BaseModel):
    model_config = STRICT
    weight: Annotated[float, BeforeValidator(_weight), Field(ge=0, le=100, allow_inf_nan=False)]
    segment: SegmentSpec | Literal["keep"] | None = None  # keep: the previous shift's segment


class AnalyzeSpec(BaseModel):
    model_config = STRICT
    for_: Annotated[Duration, Field(alias="for")]
    timeout: Duration | None = None


class PauseSpec(BaseModel):
    model_config = STRICT
    for_: Annotated[Duration | None, Field(alias="for")] = None
    reason: str = ""


def _shorthand(key: str) -> BeforeValidator:
    def expand(value: object) -> object:
        if value is None:
            return {}
        if isinstance(value, dict):
            return value
        return {key: value}

    return BeforeValidator(expand)


StepRules = Callable[["PlanSpec", int, Any, Issue], Iterator[PlanIssue]]


def _no_rules(spec: PlanSpec, i: int, value: Any, issue: Issue) -> Iterator[PlanIssue]:
    yield from ()


@dataclass(frozen=True, slots=True)
class StepKind:
    """``name``: the step's key; ``value``: the type of what follows it, ``shorthand``: the
    field a scalar value stands for (``pause: 30s`` is ``pause: {for: 30s}``); ``bare``: it may
    be written alone (``- promote``); ``build``: the plan's step from the value; ``rules``:
    what it must meet among the plan's other steps, ``(spec, index, value, issue)``."""

    name: str
    value: Any
    build: Callable[[Any], m.Step]
    shorthand: str | None = None
    bare: bool = False
    rules: StepRules = _no_rules

    def annotation(self) -> Any:
        if self.shorthand is None:
            return self.value | None
        return Annotated[self.value | None, _shorthand(self.shorthand)]


STEPS: dict[str, StepKind] = {}  # in the order the schema and the messages list them


def register(kind: StepKind) -> StepKind:
    if kind.name in STEPS:
        raise ValueError(f"step kind {kind.name!r} is registered twice")
    STEPS[kind.name] = kind
    return kind


def earlier(spec: PlanSpec, i: int, kind: str) -> list[Any]:
    """The values of the steps of ``kind`` before the ``i``-th step."""
    return [step.get(kind) for step in spec.steps[:i] if step.get(kind) is not None]


# -- the kinds -------------------------------------------------------------------------------


def _check_rules(spec: PlanSpec, i: int, name: str, issue: Issue) -> Iterator[PlanIssue]:
    if name == m.PREFLIGHT and not (spec.preflight or spec.checklist):
        yield issue(
            ("steps", i, "check"),
            "'check: preflight' runs the plan's pre-flight, but it has no 'preflight' "
            "checks and no 'checklist' items",
        )
    elif name != m.PREFLIGHT and name not in spec.checks:
        has_preflight = [m.PREFLIGHT] if spec.preflight or spec.checklist else []
        known = ", ".join([*has_preflight, *sorted(spec.checks)]) or "none defined"
        yield issue(("steps", i, "check"), f"unknown check {name!r}; known: {known}")


def _approve_rules(spec: PlanSpec, i: int, name: str, issue: Issue) -> Iterator[PlanIssue]:
    if name not in spec.approvals:
        known = ", ".join(sorted(spec.approvals)) or "none defined under approvals:"
        yield issue(("steps", i, "approve"), f"unknown approval {name!r}; known: {known}")


def segment(seg: SegmentSpec) -> m.Segment:
    if seg.cookie is not None:
        return m.Segment(seg.cookie, seg.value, cookie=True)
    assert seg.header is not None
    return m.Segment(seg.header.lower(), seg.value)


def _shift(shift: ShiftSpec) -> m.Step:
    seg = shift.segment
    return m.ShiftStep(shift.weight, segment(seg) if isinstance(seg, SegmentSpec) else None)


def _shift_rules(spec: PlanSpec, i: int, shift: ShiftSpec, issue: Issue) -> Iterator[PlanIssue]:
    before: list[ShiftSpec] = earlier(spec, i, "shift")
    last_weight = before[-1].weight if before else -1.0
    segmented = False  # a shift before this one has a segment
    for b in before:
        segmented = b.segment is not None and (segmented or b.segment != "keep")
    deployed = spec.revisions.canary.process is None or "canary" in earlier(spec, i, "deploy")
    if shift.weight <= last_weight:
        yield issue(
            ("steps", i, "shift", "weight"),
            f"weights must increase from step to step: {shift.weight:g} follows {last_weight:g}",
        )
    if shift.segment == "keep" and not segmented:
        yield issue(
            ("steps", i, "shift", "segment"),
            "'keep' keeps the segment of the shift before, and no shift before has one",
        )
    if not deployed and shift.weight > 0:
        yield issue(
            ("steps", i, "shift"),
            "traffic is shifted before the canary is deployed; add '- deploy: canary'"
            " before this step",
        )


def _analyze(a: AnalyzeSpec) -> m.Step:
    return m.AnalyzeStep(a.for_, a.timeout if a.timeout is not None else max(3 * a.for_, 60.0))


def _analyze_rules(spec: PlanSpec, i: int, a: AnalyzeSpec, issue: Issue) -> Iterator[PlanIssue]:
    if a.timeout is not None and a.timeout < a.for_:
        yield issue(("steps", i, "analyze", "timeout"), "timeout must be at least 'for'")


register(StepKind("deploy", Literal["canary", "stable"], lambda v: m.DeployStep(m.Revision(v))))
register(StepKind("check", Name, m.CheckStep, rules=_check_rules))
register(StepKind("approve", Name, m.ApproveStep, rules=_approve_rules))
register(StepKind("shift", ShiftSpec, _shift, shorthand="weight", rules=_shift_rules))
register(StepKind("analyze", AnalyzeSpec, _analyze, shorthand="for", rules=_analyze_rules))
register(
    StepKind(
        "pause", PauseSpec, lambda p: m.PauseStep(p.for_, p.reason), shorthand="for", bare=True
    )
)
register(
    StepKind(
        "promote",
        PromoteSpec,
        promote_step,
        shorthand="retire_stable",
        bare=True,
        rules=promote_rules,
    )
)

register(StepKind("migrate", migrations.MigrateSpec, migrations.build, rules=migrations.rules))

# -- the step's schema, from the registry ----------------------------------------------------


class StepBase(BaseModel):
    """One step: exactly one registered kind's key (a bare kind may be written alone)."""

    model_config = STRICT

    @model_validator(mode="before")
    @classmethod
    def _bare(cls, data: object) -> object:
        if isinstance(data, str) and data in STEPS and STEPS[data].bare:
            return {data: {}}
        if isinstance(data, dict) and not data:
            raise ValueError(f"a step needs one of: {', '.join(cls.model_fields)}")
        return data

    @model_validator(mode="after")
    def _one_kind(self) -> StepBase:
        kinds = [k for k in type(self).model_fields if getattr(self, k) is not None]
        if len(kinds) != 1:
            listed = ", ".join(kinds) if kinds else "none"
            raise ValueError(f"a step has exactly one kind, got {listed}")
        return self

    def kind(self) -> tuple[str, Any]:
        """The step's kind and its value."""
        name = next(k for k in type(self).model_fields if getattr(self, k) is not None)
        return name, getattr(self, name)

    def get(self, kind: str) -> Any:
        """The value under ``kind``, or None when the step is of another kind."""
        return getattr(self, kind, None)

    def build(self) -> m.Step:
        name, value = self.kind()
        return STEPS[name].build(value)

    def rules(self, spec: PlanSpec, i: int, issue: Issue) -> Iterator[PlanIssue]:
        name, value = self.kind()
        return STEPS[name].rules(spec, i, value, issue)


if TYPE_CHECKING:
    StepSpec = StepBase
else:
    StepSpec = create_model(
        "StepSpec",
        __base__=StepBase,
        **{k.name: (k.annotation(), None) for k in STEPS.values()},
    )
