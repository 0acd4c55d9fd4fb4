"""The route table: every route with the permission it needs, written beside it.

A route is a :class:`Guarded`: its handler runs only once the caller passed the route's
``policy`` (``auth.authenticate``), so a route cannot be declared without one
(``tests/integration/test_server_routes.py`` walks the application's routes and tries each with
no token, a bad token, and a viewer's, an operator's and an admin's). A route that acts on a
rollout (``journaled``) writes the outcome, allowed or refused, into that rollout's journal
with who asked and from which address; an unauthenticated request is only logged (writing the
sealed journal is not open to anyone who can reach the port).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from golive.core.state import CommandVerb
from golive.errors import GoliveError
from golive.identity import Identity
from golive.server import actions, events, reads, statuspage, webhooks
from golive.server.actions import note_request
from golive.server.app import Context, Handler, error_body
from golive.server.auth import Policy, Refused, authenticate, identify, require
from golive.server.openapi import openapi


class Guarded(Route):
    """A route and its policy; ``body`` is the content type it reads (for the OpenAPI)."""

    def __init__(
        self, path: str, handler: Handler, method: str, policy: Policy, summary: str,
        body: str | None = None, journaled: bool = False,
    ) -> None:  # fmt: skip
        self.policy, self.summary, self.body, self.journaled = policy, summary, body, journaled
        self.handler = handler

        async def endpoint(request: Request) -> Response:
            ctx: Context = request.app.state.ctx
            if not journaled:
                who = await authenticate(request, ctx.store, ctx.limiter, policy, ctx.sessions)
                return await handler(request, who, ctx)
            return await _journaled(request, ctx, policy, handler)

        super().__init__(path, endpoint, methods=[method], name=handler.__name__)


async def _journaled(request: Request, ctx: Context, policy: Policy, handler: Handler) -> Response:
    who: Identity | None = None
    try:
        who = await identify(request, ctx.store, ctx.limiter, policy, ctx.sessions)
        require(who, policy)
        response = await handler(request, who, ctx)
    except (GoliveError, Refused) as exc:
        status, body, _ = error_body(exc)
        if who is not None:  # authenticated: refused by a rule, journaled
            await note_request(request, ctx, who, f"refused ({status}): {body['error']}", status)
        raise
    await note_request(request, ctx, who, "accepted", response.status_code)
    return response


V1 = "/api/v1"
_R = f"{V1}/rollouts/{{id}}"
VERBS = {
    CommandVerb.PAUSE: "hold the rollout at its current weights",
    CommandVerb.RESUME: "continue the paused step (or take over a rollout nobody drives)",
    CommandVerb.PROMOTE: "skip the remaining shifts and analyses: 100% to the canary",
    CommandVerb.SKIP: "complete the current analysis or pause step (reason required)",
    CommandVerb.ABORT: "roll back and end the rollout as aborted",
    CommandVerb.ROLLBACK: "roll back now",
}
JSON = "application/json"

ROUTES: list[Guarded] = [
    Guarded(f"{V1}/openapi.json", openapi, "GET", Policy.PUBLIC, "this API's OpenAPI document"),
    Guarded(f"{V1}/health", reads.health, "GET", Policy.PUBLIC, "whether the server runs"),
    Guarded(f"{V1}/whoami", reads.whoami, "GET", Policy.VIEWER, "the caller, roles, permission"),
    Guarded(f"{V1}/rollouts", reads.list_rollouts, "GET", Policy.VIEWER,
            "rollouts, newest first (filters: service, phase, active, limit)"),
    Guarded(f"{V1}/rollouts", actions.submit, "POST", Policy.OPERATOR,
            "submit a plan (YAML): its rollout starts, or continues", body="application/yaml"),
    Guarded(_R, reads.rollout, "GET", Policy.VIEWER,
            "one rollout: steps, weights, scorecard, gates, the judge's verdict per metric"),
    Guarded(f"{_R}/journal", reads.journal, "GET", Policy.VIEWER,
            "the rollout's journal, paged (after, limit)"),
    Guarded(f"{_R}/measurements", reads.measurements, "GET", Policy.VIEWER,
            "measurements per revision over time (after)"),
    Guarded(f"{_R}/events", events.stream, "GET", Policy.VIEWER,
            "server-sent events: journal entries and measurements (Last-Event-ID resumes)"),
    *(
        Guarded(f"{_R}/{verb.value}", actions.verb_handler(verb), "POST", Policy.OPERATOR,
                text, body=JSON, journaled=True)
        for verb, text in VERBS.items()
    ),
    Guarded(f"{_R}/approve", actions.approve, "POST", Policy.SIGNER,
            "sign off the gate the rollout waits at, as a role the token holds", body=JSON,
            journaled=True),
    Guarded(f"{_R}/reject", actions.reject, "POST", Policy.SIGNER,
            "reject the gate the rollout waits at (aborts it)", body=JSON, journaled=True),
    Guarded(f"{_R}/confirm", actions.confirm, "POST", Policy.SIGNER,
            "confirm a checklist item, as the role it names", body=JSON, journaled=True),
    Guarded(f"{V1}/webhooks/signoff", webhooks.signoff, "POST", Policy.SIGNED,
            "approve, reject or confirm by a signed webhook (Standard Webhooks; "
            "golive serve --webhook-secret)", body=JSON),
    Guarded(f"{V1}/tokens", actions.list_tokens, "GET", Policy.ADMIN, "API tokens"),
    Guarded(f"{V1}/tokens", actions.add_token, "POST", Policy.ADMIN,
            "mint a token (shown in this response only)", body=JSON),
    Guarded(f"{V1}/tokens/{{token_id}}", actions.revoke_token, "DELETE", Policy.ADMIN,
            "revoke a token by its id"),
    Guarded("/status/{service}.json", statuspage.as_json, "GET", Policy.PUBLIC,
            "a service's public status (JSON)"),
    Guarded("/status/{service}", statuspage.as_html, "GET", Policy.PUBLIC,
            "a service's public status page"),
]  # fmt: skip
