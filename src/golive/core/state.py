"""The rollout's vocabulary: its state, phases, operator commands, sign-offs and events.

Frozen and JSON-serialisable (state round-trips through the store), shared by the engine, the
store, checks, the operations layer and every front end; nothing here does I/O.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NewType, assert_never

from golive.plan.model import Revision, Segment, Split

RolloutId = NewType("RolloutId", str)


class Phase(StrEnum):
    PROGRESSING = "progressing"
    PAUSED = "paused"
    ROLLING_BACK = "rolling_back"
    PROMOTED = "promoted"
    ROLLED_BACK = "rolled_back"
    ABORTED = "aborted"
    FAILED = "failed"

    @property
    def terminal(self) -> bool:
        match self:
            case Phase.PROGRESSING | Phase.PAUSED | Phase.ROLLING_BACK:
                return False
            case Phase.PROMOTED | Phase.ROLLED_BACK | Phase.ABORTED | Phase.FAILED:
                return True
            case _:
                assert_never(self)


class CommandVerb(StrEnum):
    PAUSE = "pause"
    RESUME = "resume"
    PROMOTE = "promote"
    ABORT = "abort"
    ROLLBACK = "rollback"
    SKIP = "skip"  # complete an analysis or a pause step without its condition: who and why


class PauseKind(StrEnum):
    """Why a rollout is paused: it decides what ``resume`` does."""

    OPERATOR = "operator"  # golive pause: resume continues the same step
    TRIGGER = "trigger"  # a ``then: pause`` trigger: resume continues the same step
    SPLIT = "split"  # the measured split departed from the set one: resume continues the step
    PLAN = "plan"  # the plan's own ``pause`` step: resume completes that step
    INCONCLUSIVE = "inconclusive"  # an analysis without a verdict: resume runs it again
    FAILSAFE = "failsafe"  # the record could not be written: traffic was put back on stable
    MIGRATION = "migration"  # the database needs a person: golive migrate rollback says how


@dataclass(frozen=True, slots=True)
class Command:
    id: int
    verb: CommandVerb
    by: str = "cli"
    reason: str = ""
    source: str = ""  # how ``by`` was identified: token, an identity file, a login name
    # what the person saw when asking: the step and the pause it was asked for. A resume or skip
    # applied after the rollout moved on would pass a step nobody looked at (None: not bound)
    step: int | None = None
    paused_at: float | None = None


@dataclass(frozen=True, slots=True)
class RolloutState:
    id: RolloutId
    phase: Phase
    step: int
    step_started: float
    desired: Split
    started: float
    shifted: bool = False
    trigger_since: tuple[float | None, ...] = ()
    end_phase: Phase | None = None
    reason: str = ""
    rollback_at: float | None = None
    safe_at: float | None = None
    force_promote: bool = False
    waiting_for: str = ""
    started_by: str = ""
    notified: tuple[bool, ...] = ()  # per trigger: its notification for this episode is out
    started_by_source: str = ""  # token, identity file or login name
    pause_kind: PauseKind | None = None
    paused_at: float | None = None
    held: Split | None = None  # the split to restore when a fail-safe pause is resumed
    # revisions decide asked to retire that are not retired yet (nor given up, with a reason):
    # a rollout that ended with one pending is not finished for resume, run and down
    retiring: tuple[Revision, ...] = ()
    # migrate steps (indexes) that changed the database and are not rolled back; whether the
    # canary took traffic after one ran (it may have written rows); the rollback's chosen mode
    migrated: tuple[int, ...] = ()
    canary_wrote: bool = False
    migration_revert: str = ""  # "", down, restore, keep
    # the watch window after promotion (plan: promote: {watch: ...}): 100% was read back on the
    # new version at ``promoted_at``; it is watched until ``watch_until`` (then promoted), with
    # the plan's watch checks due at ``watch_next``; the previous revision (stable) stays
    # deployed, out of the route, until ``keep_until``
    promoted_at: float | None = None
    watch_until: float | None = None
    watch_next: float | None = None
    keep_until: float | None = None

    @property
    def watching(self) -> bool:
        """In the watch window: promoted (100% on the new version), not ended yet."""
        return self.watch_until is not None and not self.phase.terminal

    def retire_due(self, now: float) -> tuple[Revision, ...]:
        """The pending retirements whose time has come: the previous revision a watch window
        keeps only once ``keep_until`` has passed (by whichever controller looks then)."""
        if self.keep_until is None or now >= self.keep_until:
            return self.retiring
        return tuple(r for r in self.retiring if r is not Revision.STABLE)

    def idle(self, now: float) -> bool:
        """Ended, with nothing to do now: settled, or only a kept previous revision left,
        retired later (followers stop following; the runner stops driving)."""
        return self.phase.terminal and not self.retire_due(now)

    @property
    def settled(self) -> bool:
        """Ended, and nothing left to retire: no verb has anything more to do for it."""
        return self.phase.terminal and not self.retiring

    def retired(self, done: tuple[Revision, ...]) -> RolloutState:
        """This state with the retirement of ``done`` completed (or given up)."""
        if not done:
            return self
        left = tuple(r for r in self.retiring if r not in done)
        return dataclasses.replace(self, retiring=left)

    def to_json(self) -> dict[str, object]:
        data = dataclasses.asdict(self)
        data["desired"] = split_to_json(self.desired)
        data["held"] = None if self.held is None else split_to_json(self.held)
        return data

    @staticmethod
    def from_json(data: dict[str, object]) -> RolloutState:
        raw = dict(data)
        raw["desired"] = split_from_json(raw["desired"])  # type: ignore[arg-type]
        raw["phase"] = Phase(str(raw["phase"]))
        raw["end_phase"] = Phase(str(raw["end_phase"])) if raw.get("end_phase") else None
        since = raw.get("trigger_since") or []
        assert isinstance(since, list | tuple)
        raw["trigger_since"] = tuple(since)
        notified = raw.get("notified") or []
        assert isinstance(notified, list | tuple)
        raw["notified"] = tuple(notified)
        kind = raw.get("pause_kind")
        raw["pause_kind"] = PauseKind(str(kind)) if kind else None
        held = raw.get("held")
        raw["held"] = split_from_json(held) if isinstance(held, dict) else None
        retiring = raw.get("retiring") or []
        assert isinstance(retiring, list | tuple)
        raw["retiring"] = tuple(Revision(str(r)) for r in retiring)
        raw["migrated"] = tuple(int(str(i)) for i in raw.get("migrated") or [])  # type: ignore[attr-defined]
        return RolloutState(**raw)  # type: ignore[arg-type]


def split_to_json(split: Split) -> dict[str, object]:
    seg = split.segment
    return {
        "canary_weight": split.canary_weight,
        "segment": None
        if seg is None
        else {"header": seg.header, "value": seg.value, "cookie": seg.cookie},
    }


def split_from_json(data: dict[str, object]) -> Split:
    seg = data.get("segment")
    segment = (
        Segment(str(seg["header"]), seg.get("value"), bool(seg.get("cookie", False)))
        if isinstance(seg, dict)
        else None
    )
    return Split(float(str(data["canary_weight"])), segment)


@dataclass(frozen=True, slots=True)
class Signoff:
    """A person's approval or rejection, bound to the rollout's step and canary revision."""

    step: int
    revision: str
    gate: str
    role: str
    by: str
    approve: bool
    note: str = ""
    at: float = 0.0
    source: str = ""  # token or identity file: how the signer was identified


@dataclass(frozen=True, slots=True)
class Confirmation:
    """A checklist item confirmed by a person."""

    item: str
    role: str
    by: str
    note: str = ""
    at: float = 0.0


@dataclass(frozen=True, slots=True)
class Event:
    kind: str
    message: str
    data: dict[str, object] = field(default_factory=dict)
