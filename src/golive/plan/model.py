"""The parsed plan: frozen values the engine reads. Built only by :mod:`golive.plan.loader`."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, assert_never

from golive.analysis.judge import JudgeConfig
from golive.analysis.splitcheck import SplitCheck
from golive.analysis.triggers import Trigger
from golive.plan.checks import Check, ChecklistItem
from golive.plan.notify import Notify
from golive.plan.values import SecretRef

__all__ = ["Check", "ChecklistItem"]


class Revision(StrEnum):
    STABLE = "stable"
    CANARY = "canary"


@dataclass(frozen=True, slots=True)
class Segment:
    """Requests carrying ``header`` (optionally equal to ``value``) go to the canary.

    With ``cookie``, ``header`` names a cookie instead of a header.
    """

    header: str
    value: str | None = None
    cookie: bool = False

    def describe(self) -> str:
        what = f"cookie {self.header}" if self.cookie else f"header {self.header}"
        return what if self.value is None else f"{what}={self.value}"


@dataclass(frozen=True, slots=True)
class Split:
    """Desired or observed traffic split: percent to canary (0..100), plus a header segment."""

    canary_weight: float
    segment: Segment | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.canary_weight <= 100.0:
            raise ValueError(f"canary weight {self.canary_weight} is outside 0..100")

    @staticmethod
    def all_stable() -> Split:
        return Split(0.0)


@dataclass(frozen=True, slots=True)
class Process:
    command: tuple[str, ...]
    ready_url: str
    timeout: float
    env: tuple[tuple[str, SecretRef | str], ...] = ()  # a reference is read at start
    adopt: bool = False  # a server already answering on ready_url is used, never started/stopped


@dataclass(frozen=True, slots=True)
class RevisionSpec:
    """One revision: its version and the servers that run it (one url each)."""

    revision: Revision
    version: str
    urls: tuple[str, ...]
    process: Process | None = None

    @property
    def url(self) -> str:
        return self.urls[0]


@dataclass(frozen=True, slots=True)
class Sticky:
    """Users are assigned by a hash of this cookie (or header): as the weight grows a user only
    ever moves from stable to canary, never back and forth."""

    name: str
    cookie: bool = True


class AttachedProxy(Protocol):
    """A proxy golive did not start, as its router kind builds it from ``route.attach``."""

    @property
    def where(self) -> str:
        """What the proxy was given as (its admin socket, its configuration), for messages."""
        ...


@dataclass(frozen=True, slots=True)
class HAProxyAttach:
    """An HAProxy golive did not start: its admin socket and the servers it weights."""

    socket: str
    backend: str
    stable: tuple[str, ...]
    canary: tuple[str, ...]
    state_file: str | None = None
    maps: tuple[tuple[str, str], ...] = ()  # segment key (header:NAME, cookie:NAME) -> map file
    sticky_map: str | None = None
    canary_backend: str | None = None  # the backends its segment and sticky rules route to
    stable_backend: str | None = None
    access_log: str | None = None  # its per-request log with golive's token (latency)

    def backends(self) -> tuple[str, ...]:
        extra = (self.canary_backend, self.stable_backend)
        return (self.backend, *(b for b in extra if b is not None))

    @property
    def where(self) -> str:
        return self.socket


@dataclass(frozen=True, slots=True)
class NginxAttach:
    """An nginx golive did not start: golive owns one included file with the upstream."""

    config: str
    pid: str
    include: str
    upstream: str
    access_log: str | None = None

    @property
    def where(self) -> str:
        return self.config


@dataclass(frozen=True, slots=True)
class Route:
    """Where clients reach the service; ``instances`` lists every proxy of a fleet."""

    router: str
    host: str
    port: int
    instances: tuple[tuple[str, int], ...] = ()
    sticky: Sticky | None = None
    attach: tuple[AttachedProxy, ...] = ()  # proxies golive did not start

    def instance(self, index: int) -> tuple[str, int]:
        return self.instances[index] if index < len(self.instances) else (self.host, self.port)

    def proxy_names(self) -> list[str]:
        """One name per proxy of the route, for messages: its address, or what it was given as."""
        if self.attach:
            return [a.where for a in self.attach]
        return [f"{h}:{p}" for h, p in self.instances] or [f"{self.host}:{self.port}"]


@dataclass(frozen=True, slots=True)
class MetricsSpec:
    source: str = "router"
    interval: float = 5.0
    url: str | None = None
    queries: tuple[tuple[str, str], ...] = ()  # PromQL templates overriding the defaults


@dataclass(frozen=True, slots=True)
class Drain:
    """A revision is stopped only after nothing reached it for ``grace`` (within ``timeout``)."""

    grace: float = 30.0
    timeout: float = 120.0


@dataclass(frozen=True, slots=True)
class ApprovalGate:
    """Sign-offs an ``approve`` step waits for: one per role, bound to the step and revision."""

    name: str
    roles: tuple[str, ...]
    timeout: float | None = None
    on_timeout: str = "abort"  # or "wait"
    allow_self_approval: bool = False
    require_token: bool = False  # only identities proven by an API token may sign


@dataclass(frozen=True, slots=True)
class DeployStep:
    revision: Revision


@dataclass(frozen=True, slots=True)
class CheckStep:
    check: str


@dataclass(frozen=True, slots=True)
class ApproveStep:
    gate: str


@dataclass(frozen=True, slots=True)
class ShiftStep:
    weight: float
    segment: Segment | None = None


@dataclass(frozen=True, slots=True)
class AnalyzeStep:
    duration: float
    timeout: float


@dataclass(frozen=True, slots=True)
class PauseStep:
    duration: float | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Watch:
    """The window after a promotion (``promote: {watch: ...}``): the new version serves 100%,
    the triggers, the judge's absolute limits and ``checks`` (on the ``every`` schedule) stay
    armed, and the previous revision stays deployed, out of the route, for ``keep_previous``
    seconds, so a rollback can still send traffic back to it."""

    duration: float
    keep_previous: float
    checks: tuple[str, ...] = ()
    # (for, every): check every ``every`` seconds for the next ``for`` seconds; the last
    # entry's ``for`` is None (the rest of the window)
    every: tuple[tuple[float | None, float], ...] = ((None, 300.0),)

    def interval(self, elapsed: float) -> float:
        """Seconds between checks ``elapsed`` seconds into the window (the ``every`` schedule:
        each entry lasts its ``for``, the last one to the end)."""
        start = 0.0
        for length, every in self.every:
            if length is None or elapsed < start + length:
                return every
            start += length
        return self.every[-1][1]


@dataclass(frozen=True, slots=True)
class PromoteStep:
    retire_stable: bool = False
    watch: Watch | None = None


@dataclass(frozen=True, slots=True)
class Assertion:
    """A verify assertion: ``sql``'s first value equals ``expect`` (or meets it: ``"> 0"``)."""

    sql: str
    expect: str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class Hook:
    """A read-only mode hook: a command (argv) or an HTTP POST to ``url``."""

    command: tuple[str, ...] = ()
    url: SecretRef | str | None = None


@dataclass(frozen=True, slots=True)
class MigrateStep:
    """A database migration (:mod:`golive.migrate`). ``directory`` is absolute once loaded;
    ``downs_safe``: every up file has a down file and the lint finds none destructive."""

    name: str
    database: SecretRef | str
    engine: str  # postgres | sqlite
    directory: str = ""
    alembic: tuple[str, ...] = ()
    phase: str = "expand"  # or contract: runs after promote
    verify: tuple[Assertion, ...] = ()
    enter_read_only: Hook | None = None
    leave_read_only: Hook | None = None
    statement_timeout: float = 60.0
    lock_timeout: float = 5.0
    timeout: float = 1800.0
    scratch_restore: bool = False
    allow_destructive_rollback: bool = False
    downs_safe: bool = False


ANYONE, STARTER = "anyone", "starter"  # in ``permissions``: everyone, the rollout's starter
PERMISSIONS: dict[str, tuple[str, ...]] = {
    "pause": (ANYONE,), "abort": (ANYONE,), "rollback": (ANYONE,),
    "resume": (STARTER, "operator"), "promote": ("operator",), "skip": ("operator",),
}  # fmt: skip

Step = (
    DeployStep
    | CheckStep
    | ApproveStep
    | ShiftStep
    | AnalyzeStep
    | PauseStep
    | PromoteStep
    | MigrateStep
)
PREFLIGHT = "preflight"  # ``check: preflight`` runs the plan's pre-flight and its scorecard


def describe_step(step: Step) -> str:
    match step:
        case DeployStep(revision=r):
            return f"deploy {r}"
        case CheckStep(check=c):
            return f"check {c}"
        case ApproveStep(gate=g):
            return f"approve {g}"
        case ShiftStep(weight=w, segment=s):
            seg = f" + {s.describe()}" if s else ""
            return f"shift {w:g}%{seg}"
        case AnalyzeStep(duration=d):
            return f"analyze {d:g}s"
        case PauseStep(duration=d):
            return "pause" if d is None else f"pause {d:g}s"
        case PromoteStep():
            return "promote"
        case MigrateStep(name=n, phase=p):
            return f"migrate {n}" + (" (contract)" if p == "contract" else "")
        case _:
            assert_never(step)


@dataclass(frozen=True, slots=True)
class Risk:
    """A row of the risk register: likelihood and impact are low, medium or high."""

    risk: str
    likelihood: str
    impact: str
    mitigation: str


@dataclass(frozen=True, slots=True)
class Plan:
    service: str
    stable: RevisionSpec
    canary: RevisionSpec
    route: Route
    metrics: MetricsSpec
    judge: JudgeConfig
    steps: tuple[Step, ...]
    checks: dict[str, Check] = field(default_factory=dict)
    preflight: tuple[Check, ...] = ()
    checklist: tuple[ChecklistItem, ...] = ()
    risks: tuple[Risk, ...] = ()
    go_at: float = 9.0
    confirm_within: float | None = None  # how long the pre-flight waits for confirmations
    approvals: dict[str, ApprovalGate] = field(default_factory=dict)
    permissions: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(PERMISSIONS))
    triggers: tuple[Trigger, ...] = ()
    split_check: SplitCheck | None = field(default_factory=SplitCheck)  # None: turned off
    drain: Drain = Drain()
    notify: Notify | None = None  # where messages about the rollout go (plan/notify.py)
    source: str = ""
    digest: str = ""
    text: str = field(default="", repr=False)

    def revision(self, which: Revision) -> RevisionSpec:
        return self.stable if which is Revision.STABLE else self.canary

    @property
    def watch(self) -> Watch | None:
        """The watch window after promotion, if the plan's promote step has one (the last step
        but for contract migrations)."""
        promote = next((s for s in self.steps if isinstance(s, PromoteStep)), None)
        return promote.watch if promote is not None else None
