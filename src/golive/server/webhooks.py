"""Sign-offs by signed webhook (chat-ops buttons, CI): ``POST /api/v1/webhooks/signoff``.

The request is signed as golive signs its own webhooks (Standard Webhooks, golive/notify/
webhook.py) with the secret ``golive serve --webhook-secret env:NAME`` names. A missing or bad
signature, a timestamp more than 5 minutes old or ahead, or an id seen before (a replay) is
refused with 401 and recorded: in the journal of the rollout the body names, else in the
server's log; failures count against the caller's address as failed logins do (429 past the
limit, and nothing more is written). A valid request goes through the rules the CLI's sign-off
goes through (operations/signoffs.py), as the body's ``user`` identified by ``webhook``: the
roles that user holds are those of their valid API tokens.

Body: ``{"rollout": ID, "action": "approve" | "reject" | "confirm", "user": NAME,
"role": ROLE, "note": TEXT, "reason": TEXT (reject), "item": ID (confirm), "revision": V,
"gate": NAME (the gate a button was made for: refused at any other)}``. Accepted ids are kept
in ``<state-dir>/webhook-ids`` for the window, so a replay after a restart is refused too.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from pathlib import Path

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from golive.engine.decide import current_step
from golive.errors import StateError
from golive.files import append_private, write_private
from golive.identity import USER, Identity
from golive.notify import webhook
from golive.operations import signoffs
from golive.plan.model import ApproveStep
from golive.server.actions import note_request, text
from golive.server.app import Context, error_body
from golive.server.auth import Refused, client_of

log = logging.getLogger("golive.server")
MAX_WEBHOOK_BODY = 65_536


class SeenFile(webhook.Seen):
    """The accepted ids, also appended to a private file in the state directory: a replay
    after a restart of the server is refused too."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        now, seen = time.time(), []
        with contextlib.suppress(OSError, UnicodeDecodeError):
            for line in path.read_text().splitlines()[-self.most :]:
                msg_id, _, at = line.rpartition("\t")
                with contextlib.suppress(ValueError):
                    seen.append((msg_id, float(at)))
        self.load(seen, now)
        with contextlib.suppress(OSError):  # only the ids still within the window are kept
            write_private(path, "".join(f"{i}\t{a}\n" for i, a in self._ids.items()))

    def first(self, msg_id: str, now: float) -> bool:
        if not super().first(msg_id, now):
            return False
        with contextlib.suppress(OSError), append_private(self.path) as fh:
            fh.write(f"{msg_id}\t{now}\n".encode())
        return True


def _named(raw: bytes) -> str | None:
    """The rollout an unverified body names (only to record the refusal where it belongs)."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    rid = data.get("rollout") if isinstance(data, dict) else None
    return rid if isinstance(rid, str) and 0 < len(rid) <= 128 else None


async def _refuse(request: Request, ctx: Context, raw: bytes, why: str) -> Refused:
    client = client_of(request)
    ctx.limiter.failed(client, time.monotonic())
    rid = _named(raw)
    if rid is None:
        log.warning("signed webhook from %s refused: %s", client, why)
    else:
        await note_request(request, ctx, None, f"refused (401): {why}", 401, rid, "webhook")
    return Refused(401, f"signed webhook refused: {why}")


async def signoff(request: Request, who: Identity | None, ctx: Context) -> Response:
    ctx.limiter.check(client_of(request), time.monotonic())
    raw = await request.body()
    if len(raw) > MAX_WEBHOOK_BODY:
        raise Refused(413, f"a webhook body is at most {MAX_WEBHOOK_BODY} bytes")
    if ctx.webhook_key is None:
        raise await _refuse(request, ctx, raw, "this server takes no signed webhooks "
                            "(golive serve --webhook-secret env:NAME)")  # fmt: skip
    now = time.time()
    try:
        msg_id, _ = webhook.verify(ctx.webhook_key, request.headers, raw, now)
    except webhook.BadSignature as exc:
        raise await _refuse(request, ctx, raw, str(exc)) from None
    if not ctx.webhook_ids.first(msg_id, now):
        raise await _refuse(request, ctx, raw, f"webhook-id {msg_id[:64]} was used already")
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise Refused(400, "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise Refused(400, "the body must be a JSON object")
    return await _act(request, ctx, body)


async def _at_gate(ctx: Context, rid: str, gate: str) -> None:
    """A button names the gate it was made for: a sign-off never lands on another one."""
    if not gate:
        return
    record = await ctx.store.load(rid)
    step = current_step(ctx.store.load_plan(record), record.state)
    if not isinstance(step, ApproveStep) or step.gate != gate:
        raise StateError(f"rollout {record.id} is not waiting at gate {gate[:64]!r} now")


async def _act(request: Request, ctx: Context, body: dict[str, object]) -> Response:
    rid, action, user = (text(body, k, required=True) for k in ("rollout", "action", "user"))
    if not USER.fullmatch(user):
        raise Refused(400, "user is not a user name (1 to 64 printable characters)")
    now = time.time()
    roles = {r for t in await ctx.store.tokens() if t.user == user and t.valid(now)
             for r in t.roles}  # fmt: skip
    who = Identity(user, tuple(sorted(roles)), "webhook")
    verb = f"webhook {action}"
    try:
        if action in ("approve", "reject"):
            revision = body.get("revision")
            if revision is not None and not isinstance(revision, str):
                raise Refused(400, "revision must be a string")
            note = text(body, "note" if action == "approve" else "reason",
                        required=action == "reject")  # fmt: skip
            await _at_gate(ctx, rid, text(body, "gate"))
            done = await signoffs.sign(ctx.store, rid, text(body, "role", required=True),
                                       action == "approve", note, revision, who, now)  # fmt: skip
            answer: dict[str, object] = {"id": rid, "signed": done.text, "step": done.step + 1,
                                         "missing": done.missing}  # fmt: skip
        elif action == "confirm":
            said = await signoffs.confirm(ctx.store, rid, text(body, "item", required=True),
                                          text(body, "role", required=True), text(body, "note"),
                                          who, now)  # fmt: skip
            answer = {"id": rid, "confirmed": said}
        else:
            raise Refused(400, "action is approve, reject or confirm")
    except Exception as exc:
        status, said_body, _ = error_body(exc)
        await note_request(request, ctx, who, f"refused ({status}): {said_body['error']}",
                           status, rid, verb)  # fmt: skip
        raise
    await note_request(request, ctx, who, "accepted", 200, rid, verb)
    return JSONResponse(answer)
