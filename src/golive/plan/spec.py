"""The plan file's schema, at the boundary: pydantic models that validate strictly.

Every model forbids unknown keys. The loader turns a validated spec into the frozen values of
:mod:`golive.plan.model`; nothing past the loader sees these classes. ``golive plan schema``
emits this schema as JSON Schema for editors.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    field_validator,
    model_validator,
)

from golive.analysis.triggers import parse_condition
from golive.plan import checks as c
from golive.plan.notify import NotifySpec
from golive.plan.steps import AnalyzeSpec as AnalyzeSpec
from golive.plan.steps import PauseSpec as PauseSpec
from golive.plan.steps import PromoteSpec as PromoteSpec
from golive.plan.steps import SegmentSpec as SegmentSpec
from golive.plan.steps import ShiftSpec as ShiftSpec
from golive.plan.steps import StepSpec
from golive.plan.strict import STRICT, Name
from golive.plan.values import Duration, EnvValue, Percent


class Strict(BaseModel):
    model_config = STRICT


def _text(value: object) -> object:
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


class ProcessSpec(Strict):
    command: Annotated[list[str], Field(min_length=1)]
    ready: Annotated[str, Field(pattern=r"^https?://")]
    timeout: Duration = 30.0
    env: dict[str, EnvValue] = {}
    adopt: bool = False  # a server already answering on `ready` is used as is, never stopped


def _version(value: object) -> object:
    value = _text(value)
    if isinstance(value, str) and not 0 < len(value) <= 128:
        raise ValueError(f"a version is 1 to 128 characters, got {len(value)}")
    return value


def _url(value: object) -> object:
    if isinstance(value, str) and not re.fullmatch(r"http://[^/:\s]+:\d{1,5}/?", value):
        raise ValueError(
            f"expected a server address like http://127.0.0.1:9001 (http, a host and a port, "
            f"no path), got {value[:80]!r}"
        )
    return value


Url = Annotated[str, BeforeValidator(_url)]


def _urls(value: object) -> object:
    """One server address, or a list of them: each checked with a sentence, not a regex."""
    for one in value if isinstance(value, list) else [value]:
        _url(one)
    return value


class RevisionSpec(Strict):
    version: Annotated[str, BeforeValidator(_version)]
    url: Annotated[
        str | Annotated[list[str], Field(min_length=1, max_length=64)], BeforeValidator(_urls)
    ]
    process: ProcessSpec | None = None


class RevisionsSpec(Strict):
    stable: RevisionSpec
    canary: RevisionSpec


Listen = Annotated[str, Field(pattern=r"^[^:\s]+:\d{1,5}$")]


class StickySpec(Strict):
    cookie: Annotated[str, Field(pattern=r"^[A-Za-z0-9_]+$")] | None = None
    header: Annotated[str, Field(pattern=r"^[A-Za-z0-9-]+$")] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> StickySpec:
        if (self.header is None) == (self.cookie is None):
            raise ValueError("sticky names exactly one of 'cookie' or 'header'")
        return self


AbsolutePath = Annotated[str, Field(pattern=r"^/")]
ServerName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]+$")]


class AttachSpec(Strict):
    """A proxy golive did not start. HAProxy: socket, backend, stable, canary (server names),
    state_file, and for segments and sticky users maps, sticky_map, canary_backend,
    stable_backend. nginx: config, pid, include, upstream, access_log."""

    socket: AbsolutePath | None = None
    backend: ServerName | None = None
    stable: Annotated[list[ServerName], Field(min_length=1)] | None = None
    canary: Annotated[list[ServerName], Field(min_length=1)] | None = None
    state_file: AbsolutePath | None = None
    config: AbsolutePath | None = None
    pid: AbsolutePath | None = None
    include: AbsolutePath | None = None
    upstream: Annotated[str, Field(pattern=r"^[A-Za-z0-9_]+$")] | None = None
    access_log: AbsolutePath | None = None
    maps: (
        dict[Annotated[str, Field(pattern=r"^(header|cookie):[A-Za-z0-9_-]+$")], AbsolutePath]
        | None
    ) = None
    sticky_map: AbsolutePath | None = None
    canary_backend: ServerName | None = None
    stable_backend: ServerName | None = None


class RouteSpec(Strict):
    router: str = "envoy"
    listen: Listen | Annotated[list[Listen], Field(min_length=1, max_length=16)] = "127.0.0.1:8080"
    sticky: StickySpec | None = None
    attach: AttachSpec | Annotated[list[AttachSpec], Field(min_length=1, max_length=16)] | None = (
        None
    )


class MetricsSpec(Strict):
    source: str = "router"
    interval: Annotated[Duration, AfterValidator(_at_least(0.1, "100ms"))] = 5.0
    url: Annotated[str, Field(pattern=r"^https?://")] | None = None
    queries: dict[Literal["requests", "errors", "latency_buckets"], str] | None = None
    latency: Literal["not judged"] | None = None  # said explicitly when there is no source


Role = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]


class CheckSpec(Strict):
    """One check: exactly one kind (``http: {...}``, ``postgres: {...}``, ...) plus how the
    scorecard weighs it and how long it may take."""

    name: Annotated[str, Field(min_length=1, max_length=80)] | None = None
    category: Annotated[str, Field(min_length=1, max_length=40)] | None = None
    weight: Annotated[float, Field(gt=0, le=100)] = 1.0
    critical: bool = False
    timeout: Annotated[Duration, Field(gt=0, le=3600)] | None = None  # by kind: 10s, or more
    retries: Annotated[int, Field(ge=0, le=10)] = 1
    http: c.Http | None = None
    tcp: c.Tcp | None = None
    postgres: c.Postgres | None = None
    redis: c.Redis | None = None
    amqp: c.Amqp | None = None
    tls: c.Tls | None = None
    dns: c.Dns | None = None
    file: c.File | None = None
    disk: c.Disk | None = None
    memory: c.Memory | None = None
    cpu: c.Cpu | None = None
    git: c.Git | None = None
    command: c.Command | None = None
    prometheus: c.Prometheus | None = None
    secrets: c.Secrets | None = None
    docs: c.Docs | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> CheckSpec:
        kinds = [k for k in c.KINDS if getattr(self, k) is not None]
        if len(kinds) != 1:
            listed = ", ".join(kinds) if kinds else "none"
            raise ValueError(f"a check has exactly one kind of {', '.join(c.KINDS)}; got {listed}")
        return self

    def kind(self) -> tuple[str, c.Options]:
        name = next(k for k in c.KINDS if getattr(self, k) is not None)
        options: c.Options = getattr(self, name)
        return name, options


class ChecklistSpec(Strict):
    id: Name
    text: Annotated[str, Field(min_length=1, max_length=200)]
    role: Role | None = None
    category: Annotated[str, Field(min_length=1, max_length=40)] = "operations"
    weight: Annotated[float, Field(gt=0, le=100)] = 1.0
    critical: bool = False


Level = Literal["low", "medium", "high"]


class RiskSpec(Strict):
    """One row of the runbook's risk register, shown in the report."""

    risk: Annotated[str, Field(min_length=1, max_length=300)]
    likelihood: Level
    impact: Level
    mitigation: Annotated[str, Field(min_length=1, max_length=500)]


class ScorecardSpec(Strict):
    go_at: Annotated[float, Field(ge=0, le=10)] = 9.0
    confirm_within: Duration | None = None


class ApprovalSpec(Strict):
    roles: Annotated[list[Role], Field(min_length=1, max_length=20)]
    timeout: Duration | None = None
    on_timeout: Literal["abort", "wait"] = "abort"
    allow_self_approval: bool = False
    require_token: bool = False


Who = Annotated[list[Role], Field(min_length=1, max_length=20)]


class PermissionsSpec(Strict):
    """Who may steer a running rollout: role names, ``starter`` (who started it) or ``anyone``.

    The safe direction (pause, abort, roll back) is open to anyone identified by default; what
    moves traffic forward or passes a condition (resume, promote, skip) is not."""

    pause: Who = ["anyone"]
    abort: Who = ["anyone"]
    rollback: Who = ["anyone"]
    resume: Who = ["starter", "operator"]
    promote: Who = ["operator"]
    skip: Who = ["operator"]


class TriggerSpec(Strict):
    when: str
    for_: Annotated[Duration, Field(alias="for")] = 0.0
    then: Literal["rollback", "pause", "notify"] = "rollback"
    window: Duration = 30.0
    min_requests: Annotated[int, Field(ge=1)] = 20

    @field_validator("when")
    @classmethod
    def _condition(cls, value: str) -> str:
        parse_condition(value)
        return value


class JudgeSpec(Strict):
    kind: str = "sequential"
    false_rollback_rate: Annotated[Percent, Field(gt=0, le=0.5)] = 0.01
    false_promotion_rate: Annotated[Percent, Field(gt=0, le=0.5)] = 0.05
    error_tolerance: Percent = 0.05
    latency_tolerance: Percent = 0.01
    min_exposure: Duration = 60.0
    interval: Duration = 0.0
    style: Literal["golive", "argo", "flagger"] = "golive"
    failure_limit: Annotated[int, Field(ge=0)] = 0
    consecutive_error_limit: Annotated[int, Field(ge=0)] = 4
    max_error_rate: Percent | None = 0.05
    max_latency: Duration | None = None
    max_error_ratio: Annotated[float, Field(gt=1)] | None = None
    max_latency_ratio: Annotated[float, Field(gt=1)] | None = None
    quantile: Annotated[float, Field(gt=0, lt=1)] = 0.95
    min_requests: Annotated[int, Field(ge=1)] = 50
    window: Duration = 60.0
    for_: Annotated[Duration, Field(alias="for")] = 0.0


class SplitCheckSpec(Strict):
    """The measured split checked against the set one; ``split_check: false`` turns it off."""

    tolerance: Percent = 0.02
    then: Literal["pause", "rollback", "notify"] = "pause"  # the canary served less than set
    over: Literal["pause", "rollback", "notify"] = "rollback"  # the canary served more than set

    @field_validator("tolerance")
    @classmethod
    def _at_most_half(cls, value: float) -> float:
        if value > 0.5:
            raise ValueError(
                f"expected a tolerance of at most 50% (points of share), got {value:.0%}"
            )
        return value


def _off(value: object) -> object:
    return None if value is False or value == "off" else value


def _judge_shorthand(value: object) -> object:
    return {"kind": value} if isinstance(value, str) else value


def _at_least(low: float, shown: str) -> Callable[[float], float]:
    def check(value: float) -> float:
        if value < low:
            raise ValueError(f"at least {shown}: a shorter interval only spins the controller")
        return value

    return check


class DrainSpec(Strict):
    grace: Duration = 30.0
    timeout: Duration = 120.0


class PlanSpec(Strict):
    service: Name
    revisions: RevisionsSpec
    route: RouteSpec = RouteSpec()
    metrics: MetricsSpec = MetricsSpec()
    drain: DrainSpec = DrainSpec()
    checks: dict[Name, CheckSpec] = {}
    preflight: Annotated[list[CheckSpec], Field(max_length=200)] = []
    checklist: Annotated[list[ChecklistSpec], Field(max_length=100)] = []
    risks: Annotated[list[RiskSpec], Field(max_length=100)] = []
    scorecard: ScorecardSpec = ScorecardSpec()
    approvals: dict[Name, ApprovalSpec] = {}
    permissions: PermissionsSpec = PermissionsSpec()
    triggers: list[TriggerSpec] = []
    judge: Annotated[JudgeSpec, BeforeValidator(_judge_shorthand)] = JudgeSpec()
    split_check: Annotated[SplitCheckSpec | None, BeforeValidator(_off)] = SplitCheckSpec()
    notify: NotifySpec | None = None
    steps: Annotated[list[StepSpec], Field(min_length=1)]
