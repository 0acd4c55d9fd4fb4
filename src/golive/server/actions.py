"""What an operator, an approver or an admin does through the API: submit a plan, the operator
verbs, sign-offs and confirmations, tokens. Each handler reads its body and calls the function
of ``golive.operations`` the CLI calls for the same verb: the plan's ``permissions``, the
gate's roles, separation of duties and the preconditions are checked there, once.

Whether allowed or refused, an action on a rollout is written into that rollout's journal by
the route (``routes.py``), with who asked and from which address.
"""

from __future__ import annotations

import json
import logging
import time

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from golive.core.state import CommandVerb, Event
from golive.errors import GoliveError, PlanError, PlanIssue
from golive.identity import Identity
from golive.operations import commands, rollouts, signoffs, tokens
from golive.plan.loader import parse_plan
from golive.plan.yamlsource import MAX_BYTES
from golive.server.app import Context, Handler
from golive.server.auth import Refused, client_of
from golive.server.reads import find
from golive.textfile import TextFileError, decode
from golive.traffic.base import Verification
from golive.traffic.listen import check_listen

YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml")
log = logging.getLogger("golive.server")
PLAN_NAME = "<api>"  # how a submitted plan is named in its issues and its record
MAX_OUTCOME = 500  # characters of an answer journaled with the request
MAX_EXPIRES_IN = 100 * 366 * 86400  # a century, in seconds: a token's longest lifetime


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def json_body(request: Request) -> dict[str, object]:
    """The request's JSON object (an empty body is an empty object)."""
    raw = await request.body()
    if not raw:
        return {}
    if media_type(request) != "application/json":
        raise Refused(415, "send the body as application/json")
    try:
        data = json.loads(raw)
        # a \ud800-\udfff escape alone is valid JSON and half of a character: no store, log
        # or page can write it (it made every field it reached a 500)
        json.dumps(data, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        raise Refused(400, "the body escapes half of a character (a lone surrogate)") from None
    except (ValueError, RecursionError):
        raise Refused(400, "the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise Refused(400, "the body must be a JSON object")
    return data


def text(body: dict[str, object], key: str, required: bool = False) -> str:
    value = body.get(key, "")
    if not isinstance(value, str):
        raise Refused(400, f"{key} must be a string")
    if required and not value:
        raise Refused(400, f"{key} is required")
    return value


async def submit(request: Request, who: Identity | None, ctx: Context) -> Response:
    """A plan in the body (YAML): the service's rollout of it starts, or continues."""
    assert who is not None
    if media_type(request) not in YAML_TYPES:
        raise Refused(415, f"send the plan as {YAML_TYPES[0]}")
    try:
        source = decode(await request.body(), MAX_BYTES)
    except TextFileError as exc:
        raise PlanError([PlanIssue(PLAN_NAME, exc.line, exc.column, "", str(exc))]) from None
    plan = parse_plan(source, PLAN_NAME)
    before = {r.id for r in await ctx.store.active_for_service(plan.service)}
    if not before:
        check_listen(plan, ctx.state_dir)  # a proxy that cannot listen never gets a record
    record = await rollouts.start_or_continue(ctx.store, plan, who, time.time(), lambda s: None)
    if ctx.wake is not None:
        ctx.wake(record.id)
    created = record.id not in before
    await note_request(request, ctx, who, "started" if created else "continued",
                       201 if created else 200, record.id, "submit")  # fmt: skip
    return JSONResponse(
        {"id": record.id, "service": record.service, "created": created,
         "href": f"/api/v1/rollouts/{record.id}"},
        201 if created else 200,
    )  # fmt: skip


def verb_handler(verb: CommandVerb) -> Handler:
    async def handler(request: Request, who: Identity | None, ctx: Context) -> Response:
        assert who is not None
        body = await json_body(request)
        record = await find(ctx.store, request.path_params["id"])
        reason = text(body, "reason")
        try:
            asked = await commands.request(ctx.store, record.id, verb, who, reason, time.time())
        except commands.Unrecorded as exc:
            if verb not in (CommandVerb.ROLLBACK, CommandVerb.ABORT):
                raise
            return await _unrecorded_rollback(ctx, exc, verb)
        if ctx.wake is not None:  # its runner acts now; a rollout nobody drives is taken over
            ctx.wake(record.id)
        return JSONResponse(
            {"id": record.id, "requested": verb.value, "recorded": asked.recorded}, 202
        )

    handler.__name__ = verb.value
    return handler


async def _unrecorded_rollback(
    ctx: Context, exc: commands.Unrecorded, verb: CommandVerb
) -> Response:
    """The store cannot record a rollback: traffic first, straight through the router, as
    ``golive rollback`` does; the next controller records it from the fail-safe marker."""
    verdict = await commands.roll_back_unrecorded(ctx.store, exc.record, verb, ctx.state_dir)
    safe = verdict is Verification.VERIFIED
    return JSONResponse(
        {"error": f"the store cannot record the {verb.value} ({exc}); "
         + ("100% of traffic is on stable (verified by read-back), not yet recorded"
            if safe else "traffic could NOT be verified on stable: check the router now"),
         "traffic_safe": safe},
        503,
    )  # fmt: skip


async def _sign(request: Request, who: Identity | None, ctx: Context, approve: bool) -> Response:
    assert who is not None
    body = await json_body(request)
    record = await find(ctx.store, request.path_params["id"])
    note = text(body, "note" if approve else "reason", required=not approve)
    revision = body.get("revision")
    if revision is not None and not isinstance(revision, str):
        raise Refused(400, "revision must be a string")
    done = await signoffs.sign(
        ctx.store, record.id, text(body, "role", required=True), approve, note, revision, who,
        time.time(),
    )  # fmt: skip
    if ctx.wake is not None:  # the gate's runner sees the sign-off now
        ctx.wake(record.id)
    return JSONResponse(
        {"id": record.id, "signed": done.text, "step": done.step + 1, "missing": done.missing}
    )


async def approve(request: Request, who: Identity | None, ctx: Context) -> Response:
    return await _sign(request, who, ctx, approve=True)


async def reject(request: Request, who: Identity | None, ctx: Context) -> Response:
    return await _sign(request, who, ctx, approve=False)


async def confirm(request: Request, who: Identity | None, ctx: Context) -> Response:
    assert who is not None
    body = await json_body(request)
    record = await find(ctx.store, request.path_params["id"])
    said = await signoffs.confirm(
        ctx.store, record.id, text(body, "item", required=True), text(body, "role", required=True),
        text(body, "note"), who, time.time(),
    )  # fmt: skip
    if ctx.wake is not None:
        ctx.wake(record.id)
    return JSONResponse({"id": record.id, "confirmed": said})


async def list_tokens(request: Request, who: Identity | None, ctx: Context) -> Response:
    assert who is not None
    now = time.time()
    return JSONResponse(
        {
            "tokens": [
                {"id": t.id, "user": t.user, "roles": list(t.roles), "admin": t.admin,
                 "created_at": t.created_at, "expires_at": t.expires_at,
                 "state": "revoked" if t.revoked_at else ("valid" if t.valid(now) else "expired")}
                for t in await tokens.listing(ctx.store, who)
            ]
        }
    )  # fmt: skip


async def add_token(request: Request, who: Identity | None, ctx: Context) -> Response:
    """A new token, in this response only (``Cache-Control: no-store``): it is stored hashed."""
    assert who is not None
    body = await json_body(request)
    roles = body.get("roles", [])
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise Refused(400, "roles must be a list of role names")
    expires_in = body.get("expires_in")
    if expires_in is not None and (
        not isinstance(expires_in, int | float)
        or isinstance(expires_in, bool)
        or not 0 < expires_in <= MAX_EXPIRES_IN  # NaN and Infinity (which JSON parsing lets in) too
    ):
        raise Refused(
            400, f"expires_in must be a number of seconds, above 0 and at most {MAX_EXPIRES_IN}"
        )
    admin = body.get("admin", False)
    if not isinstance(admin, bool):
        raise Refused(400, "admin must be true or false")
    now = time.time()
    expires = None if expires_in is None else now + float(expires_in)
    user = text(body, "user", required=True)
    token = await tokens.add(ctx.store, who, user, tuple(roles), admin, expires, now)
    return JSONResponse({"user": user, "roles": roles, "admin": admin, "token": token}, 201)


async def revoke_token(request: Request, who: Identity | None, ctx: Context) -> Response:
    assert who is not None
    gone = await tokens.revoke(ctx.store, who, request.path_params["token_id"], time.time())
    return JSONResponse({"id": gone.id, "user": gone.user, "revoked": True})


async def note_request(
    request: Request, ctx: Context, who: Identity | None, outcome: str, status: int,
    rollout_id: str | None = None, verb: str | None = None,
) -> None:  # fmt: skip
    """An action on a rollout, allowed or refused, in its journal: who, from where, what, the
    answer. A rollout that cannot take it (none such, tampered) has it logged only."""
    verb = verb or request.url.path.rsplit("/", 1)[-1]
    rid = rollout_id or request.path_params["id"]
    client = client_of(request)
    by = "an unknown caller" if who is None else f"{who.user} ({who.kind})"
    # the id comes from the path: %r shows a newline or an escape sequence, never writes it
    log.info("%s %r by %s from %s: %s", verb, rid, by, client, status)
    user = None if who is None else who.user
    data: dict[str, object] = {"verb": verb, "by": user, "from": client, "status": status}
    try:
        record = await ctx.store.load(rid)
    except GoliveError as exc:  # no such rollout, or its record cannot be read: logged only
        log.warning("API %s on %r not journaled: %s", verb, rid, exc)
        return
    if status >= 400:  # counted per rollout, however the path names it (id or any prefix)
        left = ctx.refusals.admit(record.id, user or client, time.monotonic())
        if left is None:
            return  # the caller's refusals of this minute are journaled already: logged only
        if left:
            data["not_journaled_before"] = left
            outcome += f" ({left} earlier refused requests by this caller were not journaled)"
    if len(outcome) > MAX_OUTCOME:  # a refusal can quote the caller's 1 MB role or item back
        outcome = f"{outcome[:MAX_OUTCOME]}... ({len(outcome)} characters)"
    event = Event("api_request", f"API {verb} by {by} from {client}: {outcome}", data)
    try:
        await ctx.store.note(record.id, event, time.time())
    except GoliveError as exc:  # its record cannot take it (tampered, a full disk): logged only
        log.warning("API %s on %r not journaled: %s", verb, rid, exc)
