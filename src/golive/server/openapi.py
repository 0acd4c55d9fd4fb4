"""The OpenAPI document, generated from the route table: every route with its permission.

Written from the table (not by hand beside it), so a route cannot be served and missing here;
each operation names the permission it needs (``x-golive-permission``) and its security
requirement (none for a public route, the bearer token otherwise).
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from golive import __version__
from golive.identity import Identity
from golive.server.app import Context

ERRORS = {
    "400": "unreadable body or query", "401": "no token, or not a valid one",
    "403": "not allowed (permission, role, separation of duties)", "404": "no such rollout",
    "409": "not now (the rollout's state)", "413": "body over 1 MB",
    "415": "wrong content type", "422": "invalid plan (issues with line, column, field)",
    "429": "too many failed authentications",
    "503": "the store or a provider cannot answer now (try again)",
}  # fmt: skip


def _obj(required: tuple[str, ...] = (), **props: object) -> dict[str, object]:
    return {"type": "object", "required": list(required), "properties": props}


_TEXT = {"type": "string", "maxLength": 1000}
_ROLE = {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,62}$"}
# request bodies, by the handler that reads them (the table names the handler)
BODIES: dict[str, dict[str, object]] = {
    "submit": {"type": "string", "description": "the plan, YAML (docs/plan-reference.md)"},
    **{verb: _obj(reason=_TEXT) for verb in ("pause", "resume", "promote", "abort", "rollback")},
    "skip": _obj(("reason",), reason=_TEXT),
    "approve": _obj(("role",), role=_ROLE, note=_TEXT, revision={"type": "string"}),
    "reject": _obj(("role", "reason"), role=_ROLE, reason=_TEXT, revision={"type": "string"}),
    "confirm": _obj(("item", "role"), item={"type": "string"}, role=_ROLE, note=_TEXT),
    "signoff": _obj(("rollout", "action", "user"), rollout={"type": "string"},
                    action={"enum": ["approve", "reject", "confirm"]}, user={"type": "string"},
                    role=_ROLE, note=_TEXT, reason=_TEXT, item={"type": "string"},
                    gate={"type": "string"},
                    revision={"type": "string"}),
    "add_token": _obj(("user",), user={"type": "string", "pattern": "^[A-Za-z0-9._@-]{1,64}$"},
                      roles={"type": "array", "items": _ROLE}, admin={"type": "boolean"},
                      expires_in={"type": "number", "exclusiveMinimum": 0}),
}  # fmt: skip


_ANY: dict[str, object] = {}
_STR, _NUM, _BOOL = {"type": "string"}, {"type": "number"}, {"type": "boolean"}
_OPT_STR, _OPT_NUM = {"type": ["string", "null"]}, {"type": ["number", "null"]}
_ROLES = {"type": "array", "items": _STR}
_VERB_DONE = _obj(("id", "requested", "recorded"), id=_STR, requested=_STR, recorded=_BOOL)
_SIGNED = _obj(
    ("id", "signed", "step", "missing"),
    id=_STR,
    signed=_STR,
    step={"type": "integer"},
    missing={"type": "array"},
)
_TOKEN = _obj(
    ("id", "user", "roles", "admin", "created_at", "expires_at", "state"),
    id=_STR,
    user=_STR,
    roles=_ROLES,
    admin=_BOOL,
    created_at=_NUM,
    expires_at=_OPT_NUM,
    state={"enum": ["valid", "expired", "revoked"]},
)
_PAGE = _obj(
    ("service", "state", "started", "expected_end", "ended", "incident", "phases"),
    service=_STR,
    state=_STR,
    started=_OPT_STR,
    expected_end=_OPT_STR,
    ended=_OPT_STR,
    incident=_OPT_STR,
    phases={"type": "array", "items": _obj(("title", "state"), title=_STR, state=_STR)},
)
# each handler's successful answers: status -> (media type, schema), from what it returns
SUCCESS: dict[str, dict[str, tuple[str, dict[str, object]]]] = {
    "openapi": {"200": ("application/json", _obj(("openapi", "info", "paths"),
                                                 openapi=_STR, info=_ANY, paths=_ANY))},
    "health": {"200": ("application/json", _obj(("status",), status={"enum": ["ok", "stopping"]}))},
    "whoami": {"200": ("application/json", _obj(("user", "roles", "permission"), user=_STR,
                                                roles=_ROLES, permission=_STR))},
    "list_rollouts": {"200": ("application/json", _obj(
        ("rollouts", "unreadable"), rollouts={"type": "array", "items": _obj(
            ("id", "service", "phase"), id=_STR, service=_STR, phase=_STR)}, unreadable=_ANY))},
    "submit": {code: ("application/json", _obj(("id", "service", "created", "href"), id=_STR,
                                                service=_STR, created=_BOOL, href=_STR))
               for code in ("200", "201")},
    "rollout": {"200": ("application/json", _obj(
        ("id", "steps", "versions", "weights", "waiting_for", "journal"), id=_STR,
        steps={"type": "array"}, versions=_ANY, weights=_obj(
            ("desired", "measured"), desired=_NUM, measured=_OPT_NUM),
        waiting_for=_ANY, journal=_obj(("entries", "last_seq", "href"))))},
    "journal": {"200": ("application/json", _obj(("entries", "next_after"), entries={
        "type": "array", "items": _obj(("seq", "at", "kind", "message", "data"),
                                        seq={"type": "integer"}, at=_NUM, kind=_STR,
                                        message=_STR, data=_ANY)},
        next_after={"type": ["integer", "null"]}))},
    "measurements": {"200": ("application/json", _obj(("measurements", "next_after"), measurements={
        "type": "array", "items": _obj(("at", "canary_weight", "stable", "canary"), at=_NUM,
                                       canary_weight=_NUM, stable=_ANY, canary=_ANY)},
        next_after={"type": ["number", "null"]}))},
    "stream": {"200": ("text/event-stream", {})},  # events: docs/server.md
    **{verb: {"202": ("application/json", _VERB_DONE)}
       for verb in ("pause", "resume", "promote", "skip", "abort", "rollback")},
    "approve": {"200": ("application/json", _SIGNED)},
    "reject": {"200": ("application/json", _SIGNED)},
    "confirm": {"200": ("application/json", _obj(("id", "confirmed"), id=_STR, confirmed=_ANY))},
    "signoff": {"200": ("application/json", _obj(("id",), id=_STR, signed=_STR,
                                                 confirmed=_ANY, missing={"type": "array"}))},
    "list_tokens": {"200": ("application/json", _obj(("tokens",), tokens={
        "type": "array", "items": _TOKEN}))},
    "add_token": {"201": ("application/json", _obj(("user", "roles", "admin", "token"),
                                                   user=_STR, roles=_ROLES, admin=_BOOL,
                                                   token=_STR))},
    "revoke_token": {"200": ("application/json", _obj(("id", "user", "revoked"), id=_STR,
                                                      user=_STR, revoked=_BOOL))},
    "as_json": {"200": ("application/json", _PAGE)},
    "as_html": {"200": ("text/html", {})},
}  # fmt: skip


SECURITY: dict[str, list[dict[str, list[str]]]] = {"public": [], "signed": [{"webhook": []}]}


def _success(name: str) -> dict[str, object]:
    return {
        code: {"description": "ok", "content": {media: {"schema": schema} if schema else {}}}
        for code, (media, schema) in SUCCESS[name].items()
    }


def document(routes: list[object]) -> dict[str, object]:
    paths: dict[str, dict[str, object]] = {}
    for route in routes:
        policy = getattr(route, "policy", None)
        if policy is None:
            continue
        path: str = route.path  # type: ignore[attr-defined]
        op: dict[str, object] = {
            "operationId": f"{route.name}_{next(iter(route.methods - {'HEAD'}))}".lower(),  # type: ignore[attr-defined]
            "summary": route.summary,  # type: ignore[attr-defined]
            "x-golive-permission": policy.value,
            "security": SECURITY.get(policy.value, [{"bearer": []}]),
            "parameters": [
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                for name in re.findall(r"{(\w+)}", path)
            ],
            "responses": {**_success(route.name), **{  # type: ignore[attr-defined]
                code: {"description": text, "content": {"application/json": {"schema": {
                    "$ref": "#/components/schemas/Error"}}}}
                for code, text in ERRORS.items()
            }},
        }  # fmt: skip
        body = getattr(route, "body", None)
        if body is not None:
            schema = BODIES.get(route.name, {"type": "object"})  # type: ignore[attr-defined]
            op["requestBody"] = {"content": {body: {"schema": schema}}}
        for method in route.methods - {"HEAD"}:  # type: ignore[attr-defined]
            paths.setdefault(path, {})[method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "golive", "version": __version__},
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "webhook": {"type": "apiKey", "in": "header", "name": "webhook-signature",
                            "description": "Standard Webhooks: v1,<base64 HMAC-SHA256>"},
            },
            "schemas": {"Error": {"type": "object", "required": ["error"], "properties": {
                "error": {"type": "string"}, "issues": {"type": "array"}}}},
        },
    }  # fmt: skip


async def openapi(request: Request, who: Identity | None, ctx: Context) -> Response:
    return JSONResponse(document(list(request.app.routes)))
