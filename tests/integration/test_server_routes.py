"""Every route of the API has a permission written beside it, and each is tried with no token,
a bad token, and a viewer's, an operator's and an admin's: a route added without a policy, or
without its row in EXPECTED below, fails this suite."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from golive.identity import Identity
from golive.operations import rollouts, tokens
from golive.plan.loader import parse_plan
from golive.server.app import Context, build_app
from golive.server.auth import Policy
from golive.server.routes import ROUTES, Guarded
from golive.testing import MemoryStore
from tests.conftest import free_port

PLAN = """\
service: shop
revisions:
  stable: {version: 1.0.0, url: "http://127.0.0.1:9001"}
  canary: {version: 2.0.0, url: "http://127.0.0.1:9002"}
route: {router: envoy, listen: "127.0.0.1:%d"}
checklist:
  - {id: rollback-plan, text: "Rollback plan reviewed", role: tech-lead}
approvals:
  go-live: {roles: [release-manager]}
steps:
  - approve: go-live
  - shift: 10
  - pause
  - promote
"""
RID = "shop-1"
WHO = ("none", "bad", "viewer", "operator", "admin")
# route -> status for each of WHO. A fresh rollout waits at its approve step: promote and skip
# are refused by the rule (409) for the operator; an admin without the operator *role* passes
# the API check but not the plan's permissions (403); approve, reject and confirm need the
# gate's business role, which none of these tokens holds (403).
EXPECTED: dict[tuple[str, str], tuple[int, ...]] = {
    ("GET", "/api/v1/openapi.json"): (200, 200, 200, 200, 200),
    ("GET", "/api/v1/health"): (200, 200, 200, 200, 200),
    ("GET", "/api/v1/whoami"): (401, 401, 200, 200, 200),
    ("GET", "/api/v1/rollouts"): (401, 401, 200, 200, 200),
    ("POST", "/api/v1/rollouts"): (401, 401, 403, 201, 201),
    ("GET", "/api/v1/rollouts/{id}"): (401, 401, 200, 200, 200),
    ("GET", "/api/v1/rollouts/{id}/journal"): (401, 401, 200, 200, 200),
    ("GET", "/api/v1/rollouts/{id}/measurements"): (401, 401, 200, 200, 200),
    ("GET", "/api/v1/rollouts/{id}/events"): (401, 401, 200, 200, 200),
    ("POST", "/api/v1/rollouts/{id}/pause"): (401, 401, 403, 202, 202),
    ("POST", "/api/v1/rollouts/{id}/resume"): (401, 401, 403, 202, 202),
    ("POST", "/api/v1/rollouts/{id}/promote"): (401, 401, 403, 409, 403),
    ("POST", "/api/v1/rollouts/{id}/skip"): (401, 401, 403, 409, 403),
    ("POST", "/api/v1/rollouts/{id}/abort"): (401, 401, 403, 202, 202),
    ("POST", "/api/v1/rollouts/{id}/rollback"): (401, 401, 403, 202, 202),
    ("POST", "/api/v1/rollouts/{id}/approve"): (401, 401, 403, 403, 403),
    ("POST", "/api/v1/rollouts/{id}/reject"): (401, 401, 403, 403, 403),
    ("POST", "/api/v1/rollouts/{id}/confirm"): (401, 401, 403, 403, 403),
    ("POST", "/api/v1/webhooks/signoff"): (401, 401, 401, 401, 401),  # a signature, no token
    ("GET", "/api/v1/tokens"): (401, 401, 403, 403, 200),
    ("POST", "/api/v1/tokens"): (401, 401, 403, 403, 201),
    ("DELETE", "/api/v1/tokens/{token_id}"): (401, 401, 403, 403, 200),
    ("GET", "/status/{service}.json"): (200, 200, 200, 200, 200),
    ("GET", "/status/{service}"): (200, 200, 200, 200, 200),
}


@dataclass
class World:
    client: httpx.AsyncClient
    store: MemoryStore
    tokens: dict[str, str]
    spare: str  # a token id an admin may revoke


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    store = MemoryStore()
    now = time.time()
    admin = await tokens.bootstrap(store, "ada", now)
    root = Identity("ada", (), "token", admin=True)
    made = {
        "none": "",
        "bad": "glv_not-a-token",
        "viewer": await tokens.add(store, root, "vic", (), False, None, now),
        "operator": await tokens.add(store, root, "olga", ("operator",), False, None, now),
        "admin": admin,
    }
    spare = await tokens.add(store, root, "spare", (), False, None, now)
    starter = Identity("sam", ("operator",), "token")
    plan = parse_plan(PLAN % free_port(), "plan.yaml")
    record = await rollouts.start_or_continue(store, plan, starter, now, lambda s: None)
    ctx = Context(store, tmp_path, events_max_seconds=0.2, events_poll=0.05)
    app = build_app(ctx)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        global RID
        RID = record.id
        spare_id = next(t.id for t in await store.tokens() if t.user == "spare")
        yield World(client, store, made, spare_id)
    assert spare


def request_for(method: str, path: str, w: World) -> tuple[str, dict[str, object]]:
    url = path.replace("{id}", RID).replace("{service}", "shop").replace("{token_id}", w.spare)
    kwargs: dict[str, object] = {}
    if (method, path) == ("POST", "/api/v1/rollouts"):
        other = (PLAN % free_port()).replace("service: shop", "service: cart")
        kwargs = {"content": other, "headers": {"content-type": "application/yaml"}}
    elif path.endswith(("/approve", "/reject")):
        kwargs = {"json": {"role": "release-manager", "reason": "no"}}
    elif path.endswith("/confirm"):
        kwargs = {"json": {"item": "rollback-plan", "role": "tech-lead"}}
    elif path.endswith("/skip"):
        kwargs = {"json": {"reason": "tested elsewhere"}}
    elif path.endswith("/webhooks/signoff"):
        kwargs = {"json": {"rollout": RID, "action": "approve", "user": "olga", "role": "x"}}
    elif (method, path) == ("POST", "/api/v1/tokens"):
        kwargs = {"json": {"user": "newcomer", "roles": ["security"]}}
    return url, kwargs


def test_every_route_declares_a_policy_and_has_expectations() -> None:
    from golive.server.app import Context as Ctx
    from golive.server.ui import UI_ROUTES

    app = build_app(Ctx(MemoryStore(), Path("/nonexistent")))
    served = set()
    for route in app.routes:
        if route in UI_ROUTES:  # the dashboard's pages: a session or the login page
            assert route.path == "/" or route.path.startswith("/ui/")  # type: ignore[attr-defined]
            continue
        assert isinstance(route, Guarded), f"{route!r} is not a Guarded route (no policy)"
        assert isinstance(route.policy, Policy)
        for method in route.methods - {"HEAD"}:
            served.add((method, route.path))
    assert served == set(EXPECTED), served ^ set(EXPECTED)


def test_a_route_without_a_policy_cannot_be_declared() -> None:
    with pytest.raises(TypeError):
        Guarded("/x", lambda r, w, c: None, "GET")  # type: ignore[call-arg, arg-type, return-value]


def test_the_openapi_document_lists_every_route_with_its_security() -> None:
    from golive.server.openapi import document

    doc = document(list(ROUTES))
    ids = [op["operationId"] for ops in doc["paths"].values() for op in ops.values()]  # type: ignore[attr-defined]
    assert len(ids) == len(set(ids)) == len(EXPECTED)
    for route in ROUTES:
        for method in route.methods - {"HEAD"}:
            op = doc["paths"][route.path][method.lower()]  # type: ignore[index]
            assert op["x-golive-permission"] == route.policy.value
            security = {Policy.PUBLIC: [], Policy.SIGNED: [{"webhook": []}]}
            assert op["security"] == security.get(route.policy, [{"bearer": []}])
            if route.body is not None:  # every body a route reads is described
                schema = op["requestBody"]["content"][route.body]["schema"]
                assert schema != {"type": "object"}, route.name


@pytest.mark.parametrize("who", range(len(WHO)), ids=WHO)
@pytest.mark.parametrize(("method", "path"), list(EXPECTED), ids=lambda v: str(v))
async def test_route_by_permission(world: World, method: str, path: str, who: int) -> None:
    url, kwargs = request_for(method, path, world)
    token = world.tokens[WHO[who]]
    headers = dict(kwargs.pop("headers", {}))  # type: ignore[call-overload]
    if token:
        headers["authorization"] = f"Bearer {token}"
    response = await world.client.request(method, url, headers=headers, **kwargs)  # type: ignore[arg-type]
    expected = EXPECTED[(method, path)][who]
    assert response.status_code == expected, (WHO[who], response.text)
    assert response.headers["x-content-type-options"] == "nosniff"
    if response.status_code >= 400:
        assert set(response.json()) >= {"error"}
    if response.status_code == 401 and "webhooks" not in path:  # a webhook has no token to ask
        assert response.headers["www-authenticate"].startswith("Bearer")
    if url.startswith("/api/"):
        assert response.headers["cache-control"] == "no-store"
