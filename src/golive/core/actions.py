"""What one pass of the reconcile loop sees and asks for: observations, actions, decisions.

``decide()`` is tested on these plain values; front ends show a :class:`PassView` after each pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from golive.analysis.judge import Verdict
from golive.analysis.snapshot import Series
from golive.analysis.splitcheck import SplitFinding
from golive.core.results import CheckResult, Health, MigrationReport
from golive.core.state import Command, Event, RolloutState, Signoff
from golive.plan.model import Revision, Split


@dataclass(frozen=True, slots=True)
class Observation:
    """Everything one pass learned about the world, gathered concurrently before deciding."""

    now: float
    split: Split | None  # read back from the router; None when it could not be read
    health: dict[Revision, Health] = field(default_factory=dict)
    check: CheckResult | None = None
    verdict: Verdict | None = None
    trigger_values: tuple[float | None, ...] = ()
    commands: tuple[Command, ...] = ()
    signoffs: tuple[Signoff, ...] = ()
    split_finding: SplitFinding | None = None  # the interval measured by this pass departs
    migration: MigrationReport | None = None  # the migrate step's (or its rollback's) job


@dataclass(frozen=True, slots=True)
class ApplySplit:
    split: Split
    urgent: bool = False  # a rollback: verify by read-back before anything else happens


@dataclass(frozen=True, slots=True)
class EnsureRevision:
    revision: Revision


@dataclass(frozen=True, slots=True)
class RetireRevision:
    revision: Revision


Action = ApplySplit | EnsureRevision | RetireRevision


@dataclass(frozen=True, slots=True)
class Decision:
    """What ``decide()`` returns: the next state, actions in safe order, events to record."""

    state: RolloutState
    actions: tuple[Action, ...] = ()
    events: tuple[Event, ...] = ()
    consumed: tuple[int, ...] = ()  # command ids handled by this pass
    again: bool = False  # run the next pass at once (a transition is in flight)


@dataclass
class PassView:
    """What the terminal view shows after each pass."""

    state: RolloutState
    observation: Observation
    decision: Decision
    stable: Series
    canary: Series
    events: list[Event]
