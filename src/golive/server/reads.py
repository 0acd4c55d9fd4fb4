"""What a viewer reads: rollouts (listed, filtered), one rollout as it stands, its journal page
by page and its measurements. The documents are ``operations/status.py``'s, the ones ``golive
status --json`` prints, so the CLI and the API never tell a rollout two ways."""

from __future__ import annotations

import math

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from golive.core.state import Phase, RolloutState
from golive.engine.steps import current_step
from golive.errors import StateError, TamperedError
from golive.identity import Identity
from golive.operations import status
from golive.plan.model import ApproveStep, Plan
from golive.server.app import Context
from golive.server.auth import Refused, permission
from golive.store.base import Measurement, Store
from golive.store.records import RolloutRecord

MAX_LIST = 500
MAX_MEASUREMENTS = 2000  # a page of measurements (?after=&limit=); next_after pages on
MAX_PAGE = 1000


async def find(store: Store, rollout_id: str) -> RolloutRecord:
    """The rollout named by the path (its id or a unique prefix); 404 when there is none."""
    try:
        return await store.load(rollout_id)
    except TamperedError:
        raise
    except StateError as exc:
        raise Refused(404, str(exc)) from None


def number(request: Request, name: str, default: int, most: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    # ASCII digits only ('²' is a digit to str.isdigit, not to int) and never a number so long
    # that int() refuses it
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18 or int(raw) > most:
        raise Refused(400, f"query parameter {name} must be a whole number from 0 to {most}")
    return int(raw)


async def list_rollouts(request: Request, who: Identity | None, ctx: Context) -> Response:
    q = request.query_params
    phase = q.get("phase")
    if phase is not None and phase not in {p.value for p in Phase}:
        raise Refused(400, f"phase must be one of {', '.join(p.value for p in Phase)}")
    active = q.get("active")
    if active not in (None, "true", "false"):
        raise Refused(400, "active must be true or false")
    found = await status.listing(ctx.store, number(request, "limit", 50, MAX_LIST))
    rows = [
        row
        for row in found.to_json()
        if q.get("service") in (None, row["service"])
        and phase in (None, row["phase"])
        and (active is None or (active == "true") != Phase(str(row["phase"])).terminal)
    ]
    return JSONResponse({"rollouts": rows, "unreadable": found.unreadable})


async def rollout(request: Request, who: Identity | None, ctx: Context) -> Response:
    return JSONResponse(await rollout_doc(ctx, request.path_params["id"]))


async def rollout_doc(ctx: Context, rollout_id: str) -> dict[str, object]:
    """One rollout as the API and the dashboard show it."""
    record = await find(ctx.store, rollout_id)
    st = await status.status(ctx.store, record.id)
    doc = st.to_json()
    events = doc.pop("events")
    assert isinstance(events, list)
    plan = ctx.store.load_plan(record) if not st.tampered else None
    measured = await ctx.store.measurements(record.id)
    doc["steps"] = (
        []
        if plan is None
        else [
            {"number": n, "step": text, "state": where}
            for n, (text, where) in enumerate(status.step_states(plan, record.state), 1)
        ]
    )
    doc["versions"] = (
        None if plan is None else {"stable": plan.stable.version, "canary": plan.canary.version}
    )
    doc["weights"] = {
        "desired": record.state.desired.canary_weight,
        "measured": measured[-1][1] if measured else None,
    }
    doc["waiting_for"] = status.waiting(record)
    doc["journal"] = {
        "entries": len(events),
        "last_seq": st.audit.head.seq if st.audit.head else None,
        "href": f"/api/v1/rollouts/{record.id}/journal",
    }
    doc["asks"] = None if plan is None else asks(plan, record.state, doc["signoffs"])
    doc["checklist"] = [] if plan is None else checklist(plan, record.state, doc)
    return doc


def asks(plan: Plan, state: RolloutState, signed: object) -> dict[str, object] | None:
    """The sign-offs the rollout waits for now: the gate, its roles, those signed already."""
    if state.phase.terminal:
        return None
    step = current_step(plan, state)
    if not isinstance(step, ApproveStep):
        return None
    gate = plan.approvals[step.gate]
    done = [
        s["role"] for s in (signed if isinstance(signed, list) else [])
        if s["step"] == state.step and s["revision"] == plan.canary.version
    ]  # fmt: skip
    return {"gate": gate.name, "roles": list(gate.roles), "signed": done,
            "revision": plan.canary.version}  # fmt: skip


def checklist(plan: Plan, state: RolloutState, doc: dict[str, object]) -> list[dict[str, object]]:
    """The plan's checklist items, each with its role and whether it is confirmed."""
    confirmed = doc.get("confirmations")
    said = {c["item"] for c in confirmed} if isinstance(confirmed, list) else set()
    return [
        {"item": i.id, "text": i.text, "role": i.role, "confirmed": i.id in said,
         "open": not state.phase.terminal and i.id not in said}
        for i in plan.checklist
    ]  # fmt: skip


async def journal(request: Request, who: Identity | None, ctx: Context) -> Response:
    record = await find(ctx.store, request.path_params["id"])
    after = number(request, "after", 0, 2**62)
    limit = number(request, "limit", 100, MAX_PAGE) or 100
    events = await ctx.store.events(record.id, after)
    page = events[:limit]
    return JSONResponse(
        {
            "entries": [
                {"seq": e.seq, "at": e.at, "kind": e.kind, "message": e.message, "data": e.data}
                for e in page
            ],
            "next_after": page[-1].seq if len(events) > limit else None,
        }
    )


def measurement_json(m: Measurement) -> dict[str, object]:
    at, weight, stable, canary = m
    return {"at": at, "canary_weight": weight, "stable": stable.to_json(),
            "canary": canary.to_json()}  # fmt: skip


async def measurements(request: Request, who: Identity | None, ctx: Context) -> Response:
    record = await find(ctx.store, request.path_params["id"])
    since = request.query_params.get("after", "0")
    try:
        after = float(since)
    except ValueError:
        raise Refused(400, "after must be a time in seconds since the epoch") from None
    if not math.isfinite(after):
        raise Refused(400, "after must be a time in seconds since the epoch")
    limit = number(request, "limit", MAX_MEASUREMENTS, MAX_MEASUREMENTS) or MAX_MEASUREMENTS
    rows = [m for m in await ctx.store.measurements(record.id) if m[0] > after]
    page = rows[:limit]
    return JSONResponse(
        {
            "measurements": [measurement_json(m) for m in page],
            "next_after": page[-1][0] if len(rows) > limit else None,
        }
    )


async def whoami(request: Request, who: Identity | None, ctx: Context) -> Response:
    assert who is not None
    return JSONResponse(
        {"user": who.user, "roles": list(who.roles), "permission": permission(who).value}
    )


async def health(request: Request, who: Identity | None, ctx: Context) -> Response:
    return JSONResponse({"status": "stopping" if ctx.stopping else "ok"})
