"""The deployment report as data: built from the rollout's record, journal, measurements and
sign-offs by one pure function, so Markdown, HTML and JSON say the same thing.

Nothing here reads a file, a clock or the store: ``build`` is given what the store holds and
returns a :class:`Report`; the renderers (``markdown.py``, ``html.py``, ``json.py``) turn it
into text; ``gather.py`` reads the store and writes the files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from golive.analysis.scorecard import Scorecard
from golive.core.state import Confirmation, Phase, Signoff
from golive.plan.model import Plan, Risk
from golive.report.stages import Measurement, Point, Stage, points, stages
from golive.store.export import ChainHead
from golive.store.records import RolloutRecord, StoredEvent

EVIDENCE = ("step_completed", "trigger_fired", "rollback_started", "traffic_safe", "promoted",
            "rolled_back", "alarm", "split_alarm", "failsafe", "action_failed")  # fmt: skip
ROLLBACK = ("trigger_fired", "rollback_started", "traffic_safe", "rolled_back", "failsafe",
            "action_failed", "command")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Entry:
    """One journal entry as the timeline shows it."""

    seq: int
    at: float
    kind: str
    message: str


@dataclass(frozen=True, slots=True)
class StageReport:
    stage: Stage
    evidence: tuple[Entry, ...]  # what was decided or seen while it lasted


@dataclass(frozen=True, slots=True)
class Report:
    rollout_id: str
    service: str
    stable_version: str
    canary_version: str
    outcome: str  # the phase: promoted, rolled_back, aborted, failed (or still running)
    terminal: bool
    started: float
    ended: float  # the last journal entry
    started_by: str
    plan_path: str
    reason: str  # why it ended other than promoted ("" when promoted)
    scorecard: Scorecard | None
    risks: tuple[Risk, ...]
    signoffs: tuple[Signoff, ...]
    confirmations: tuple[Confirmation, ...]
    timeline: tuple[Entry, ...]
    stages: tuple[StageReport, ...]
    series: tuple[Point, ...]
    rollback_evidence: tuple[Entry, ...]
    head: ChainHead

    @property
    def duration(self) -> float:
        return max(0.0, self.ended - self.started)


def build(
    record: RolloutRecord,
    plan: Plan,
    events: Sequence[StoredEvent],
    measurements: Sequence[Measurement],
    signoffs: Sequence[Signoff],
    confirmations: Sequence[Confirmation],
    head: ChainHead,
) -> Report:
    """The report of one rollout from what the store holds about it."""
    timeline = tuple(Entry(e.seq, e.at, e.kind, e.message) for e in events)
    state = record.state
    ended_badly = state.phase.terminal and state.phase is not Phase.PROMOTED
    return Report(
        rollout_id=record.id,
        service=record.service,
        stable_version=plan.stable.version,
        canary_version=plan.canary.version,
        outcome=state.phase.value,
        terminal=state.phase.terminal,
        started=record.created_at,
        ended=events[-1].at if events else record.updated_at,
        started_by=state.started_by,
        plan_path=record.plan_path,
        reason=state.reason if ended_badly else "",
        scorecard=_scorecard(events),
        risks=plan.risks,
        signoffs=tuple(signoffs),
        confirmations=tuple(confirmations),
        timeline=timeline,
        stages=tuple(_stage(s, timeline) for s in stages(measurements)),
        series=tuple(points(measurements)),
        rollback_evidence=tuple(e for e in timeline if e.kind in ROLLBACK) if ended_badly else (),
        head=head,
    )


def _scorecard(events: Sequence[StoredEvent]) -> Scorecard | None:
    """The last scorecard the pre-flight recorded (None: the plan has no pre-flight step)."""
    for e in reversed(events):
        if e.kind == "scorecard":
            try:
                return Scorecard.from_json(e.data)
            except (KeyError, TypeError, ValueError):
                return None
    return None


def _stage(stage: Stage, timeline: tuple[Entry, ...]) -> StageReport:
    during = tuple(e for e in timeline if e.kind in EVIDENCE and stage.start < e.at <= stage.end)
    return StageReport(stage, during)
