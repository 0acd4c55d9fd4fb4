"""The report as one JSON document, for scripts: the same data as the other formats, strings
whole (JSON escapes them), times as Unix seconds."""

from __future__ import annotations

import json
from dataclasses import asdict

from golive.report.model import Report

VERSION = 1


def document(r: Report) -> dict[str, object]:
    return {
        "report": VERSION,
        "rollout": r.rollout_id,
        "service": r.service,
        "versions": {"stable": r.stable_version, "canary": r.canary_version},
        "outcome": r.outcome,
        "terminal": r.terminal,
        "started": r.started,
        "ended": r.ended,
        "duration_seconds": round(r.duration, 3),
        "started_by": r.started_by,
        "plan": r.plan_path,
        "reason": r.reason,
        "scorecard": r.scorecard.to_json() if r.scorecard else None,
        "risks": [asdict(x) for x in r.risks],
        "signoffs": [asdict(s) for s in r.signoffs],
        "confirmations": [asdict(c) for c in r.confirmations],
        "stages": [
            {
                "canary_weight": s.stage.weight,
                "start": s.stage.start,
                "end": s.stage.end,
                "metrics": [asdict(m) for m in s.stage.rows],
                "evidence": [asdict(e) for e in s.evidence],
            }
            for s in r.stages
        ],
        "series": [asdict(p) for p in r.series],
        "rollback_evidence": [asdict(e) for e in r.rollback_evidence],
        "timeline": [asdict(e) for e in r.timeline],
        "head": r.head.to_json(),
    }


def render(r: Report) -> str:
    return json.dumps(document(r), indent=2, ensure_ascii=False, default=str) + "\n"
