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
    "add_token": _obj(("user",), user={"type": "string", "pattern": "^[A-Za-z0-9._@-]{1,64}$"},
                      roles={"type": "array", "items": _ROLE}, admin={"type": "boolean"},
                      expires_in={"type": "number", "exclusiveMinimum": 0}),
}  # fmt: skip


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
            "security": [] if policy.value == "public" else [{"bearer": []}],
            "parameters": [
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                for name in re.findall(r"{(\w+)}", path)
            ],
            "responses": {"200": {"description": "ok"}, **{
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
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": {"type": "object", "required": ["error"], "properties": {
                "error": {"type": "string"}, "issues": {"type": "array"}}}},
        },
    }  # fmt: skip


async def openapi(request: Request, who: Identity | None, ctx: Context) -> Response:
    return JSONResponse(document(list(request.app.routes)))
