"""The public status page of a service: where its latest release stands, for anyone.

No token is needed, so it says nothing internal: no rollout id, no person, no host, no
measured figure, no version, no reason text (a reason may quote a log line). Phases are named
by golive from the step kinds, never by the plan's own strings (gate, check or step names),
so nothing a plan author wrote reaches the public; the service name comes from the URL and is
checked against the plan's own pattern for service names, and every string is escaped anyway.
"""

from __future__ import annotations

import html
import re
import time
from dataclasses import dataclass
from typing import assert_never

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from golive.core.state import Phase, RolloutState
from golive.errors import GoliveError, TamperedError
from golive.identity import Identity
from golive.operations.status import step_states
from golive.plan.model import (
    PREFLIGHT,
    AnalyzeStep,
    ApproveStep,
    CheckStep,
    DeployStep,
    MigrateStep,
    PauseStep,
    Plan,
    PromoteStep,
    ShiftStep,
    Step,
)  # fmt: skip
from golive.server.app import Context
from golive.server.auth import Refused
from golive.store.records import RolloutRecord

SERVICE = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")  # as the plan's ``service`` (plan/spec.py)
SHOWN = {"done": "done", "current": "in progress", "paused": "in progress", "pending": "pending",
         "stopped": "stopped", "not run": "cancelled"}  # fmt: skip
RANK = ["stopped", "in progress", "cancelled", "pending", "done"]  # a phase shows its worst


@dataclass(frozen=True, slots=True)
class Page:
    service: str
    state: str  # in progress, complete, rolled back, cancelled
    started: float
    expected_end: float | None
    ended: float | None
    incident: str | None
    phases: list[tuple[str, str]]

    def to_json(self) -> dict[str, object]:
        return {
            "service": self.service, "state": self.state, "started": _iso(self.started),
            "expected_end": _iso(self.expected_end), "ended": _iso(self.ended),
            "incident": self.incident,
            "phases": [{"title": t, "state": s} for t, s in self.phases],
        }  # fmt: skip


def _title(step: Step) -> str | None:
    """The phase a step opens (None: it belongs to the phase before it)."""
    match step:
        case CheckStep(check=c):
            return "Pre-flight checks" if c == PREFLIGHT else "Checks"
        case ApproveStep():
            return "Approval"
        case DeployStep():
            return "Deployment"
        case ShiftStep(weight=w, segment=s):
            return "Soft launch" if s is not None else f"{w:g}% rollout"
        case AnalyzeStep() | PauseStep():
            return None
        case PromoteStep():
            return "100% rollout"
        case MigrateStep():
            return "Database migration"
        case _:
            assert_never(step)


def phases(plan: Plan, state: RolloutState) -> list[tuple[str, str]]:
    grouped: list[tuple[str, list[str]]] = []
    for step, (_, where) in zip(plan.steps, step_states(plan, state), strict=True):
        title = _title(step)
        if title is None and grouped:
            grouped[-1][1].append(SHOWN[where])
        else:
            grouped.append((title or "Verification", [SHOWN[where]]))
    return [(title, min(states, key=RANK.index)) for title, states in grouped]


def _remaining(plan: Plan, state: RolloutState, now: float) -> float | None:
    """Seconds the timed steps left still take; None while a person must act (a gate)."""
    left = 0.0
    for index, step in enumerate(plan.steps[state.step :], state.step):
        spent = now - state.step_started if index == state.step else 0.0
        if isinstance(step, AnalyzeStep | PauseStep) and step.duration is not None:
            left += max(0.0, step.duration - spent)
        elif isinstance(step, ApproveStep | PauseStep):
            return None
    return left


def page(service: str, record: RolloutRecord, plan: Plan, now: float) -> Page:
    state = record.state
    incident = None
    if state.phase.terminal and state.phase is not Phase.PROMOTED:
        shown = "rolled back" if state.shifted else "cancelled"
        if state.shifted:
            incident = "This release was rolled back; the previous version serves all traffic."
    elif state.phase is Phase.ROLLING_BACK:
        shown, incident = "rolling back", "A problem was found; this release is being rolled back."
    else:
        shown = "complete" if state.phase is Phase.PROMOTED else "in progress"
    left = None if state.phase.terminal else _remaining(plan, state, now)
    return Page(
        service, shown, record.created_at, None if left is None else now + left,
        record.updated_at if state.phase.terminal else None, incident, phases(plan, state),
    )  # fmt: skip


async def _latest(ctx: Context, service: str) -> Page:
    if not SERVICE.fullmatch(service):
        raise Refused(404, "no such service")
    for record in await ctx.store.recent(20, service):
        if isinstance(record, TamperedError) or record.service != service:
            continue
        try:
            plan = ctx.store.load_plan(record)
        except GoliveError:
            raise Refused(404, "no status for this service") from None
        return page(service, record, plan, time.time())
    raise Refused(404, "no status for this service")


async def as_json(request: Request, who: Identity | None, ctx: Context) -> Response:
    found = await _latest(ctx, request.path_params["service"])
    return JSONResponse(found.to_json(), headers={"Cache-Control": "no-cache"})


async def as_html(request: Request, who: Identity | None, ctx: Context) -> Response:
    found = await _latest(ctx, request.path_params["service"])
    return HTMLResponse(render(found), headers={"Cache-Control": "no-cache"})


def _iso(at: float | None) -> str | None:
    return None if at is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))


STYLE = """
:root{color-scheme:light;--ink:#1c2430;--muted:#6b7380;--line:#e3e7ee;--ok:#17803d;
--run:#1d5fd1;--bad:#c0262d}
*{box-sizing:border-box}
body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);
background:#f5f7fa;margin:0;padding:2.5rem 1rem}
main{max-width:38rem;margin:0 auto;background:#fff;border:1px solid var(--line);
border-radius:12px;padding:1.75rem 2rem;box-shadow:0 1px 3px rgba(20,30,50,.06)}
header{display:flex;align-items:center;justify-content:space-between;gap:1rem;flex-wrap:wrap}
h1{font-size:1.5rem;margin:0;overflow-wrap:anywhere}
.pill{border-radius:999px;padding:.2rem .8rem;font-weight:600;font-size:.9rem;white-space:nowrap}
.pill.in-progress{background:#e7efff;color:var(--run)}.pill.complete{background:#e4f5ea;color:var(--ok)}
.pill.rolled-back,.pill.failed{background:#fde8e9;color:var(--bad)}
.pill.cancelled{background:#eef0f3;color:var(--muted)}
.incident{background:#fde8e9;border-left:4px solid var(--bad);padding:.75rem 1rem;
margin:1.25rem 0 0;border-radius:6px;font-weight:500}
.times{display:flex;gap:2rem;flex-wrap:wrap;margin:1.25rem 0;color:var(--muted);font-size:.95rem}
.times strong{display:block;color:var(--ink);font-weight:600}
ol{list-style:none;margin:0;padding:0;border-top:1px solid var(--line)}
li{display:flex;align-items:center;gap:.75rem;padding:.6rem 0;border-bottom:1px solid var(--line)}
li .mark{width:1.5rem;height:1.5rem;border-radius:50%;display:grid;place-items:center;
font-size:.85rem;flex:none;border:2px solid var(--line);color:#fff}
li .name{flex:1}li .state{color:var(--muted);font-size:.9rem}
li.done .mark{background:var(--ok);border-color:var(--ok)}
li.in-progress .mark{border-color:var(--run);box-shadow:inset 0 0 0 4px #fff;background:var(--run)}
li.in-progress .name{font-weight:600}li.in-progress .state{color:var(--run);font-weight:600}
li.stopped .mark{background:var(--bad);border-color:var(--bad)}
li.stopped .state{color:var(--bad);font-weight:600}
li.pending .name,li.cancelled .name{color:var(--muted)}
footer{margin-top:1.25rem;color:var(--muted);font-size:.85rem}
"""
MARKS = {"done": "\u2713", "stopped": "\u2715"}


def render(p: Page) -> str:
    e = html.escape
    banner = f'<p class="incident" role="alert">{e(p.incident)}</p>' if p.incident else ""
    items = "".join(
        f'<li class="{e(s.replace(" ", "-"))}"><span class="mark" aria-hidden="true">'
        f'{MARKS.get(s, "")}</span><span class="name">{e(t)}</span>'
        f'<span class="state">{e(s)}</span></li>'
        for t, s in p.phases
    )
    times = [("Started", p.started), ("Expected end", p.expected_end), ("Ended", p.ended)]
    when = "".join(
        f'<div>{e(k)}<strong><time datetime="{e(_iso(v) or "")}">{e(_human(v))}</time>'
        "</strong></div>"
        for k, v in times
        if v is not None
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta http-equiv="refresh" content="30">'
        f"<title>{e(p.service)} status</title><style>{STYLE}</style></head><body><main>"
        f'<header><h1>{e(p.service)}</h1><span class="pill {e(p.state.replace(" ", "-"))}">'
        f"{e(p.state)}</span></header>{banner}"
        f'<div class="times">{when}</div><ol>{items}</ol>'
        "<footer>This page refreshes every 30 seconds.</footer></main></body></html>"
    )


def _human(at: float) -> str:
    return time.strftime("%d %b %Y, %H:%M UTC", time.gmtime(at))
