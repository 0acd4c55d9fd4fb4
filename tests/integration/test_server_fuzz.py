"""Random bodies, query strings and headers at every route: the answer is never a 500, never
anything but JSON (or the status page's HTML, or an event stream), and never a traceback."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from golive.identity import Identity
from golive.operations import rollouts, tokens
from golive.plan.loader import parse_plan
from golive.server.app import Context, build_app
from golive.server.routes import ROUTES
from golive.testing import MemoryStore
from tests.conftest import free_port
from tests.integration.test_server_routes import PLAN

JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=50),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=10,
)
KEYS = ("reason", "role", "note", "revision", "item", "user", "roles", "admin", "expires_in")
BODIES = st.one_of(
    JSONISH.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(st.sampled_from(KEYS), JSONISH, max_size=5).map(
        lambda v: json.dumps(v).encode()
    ),
    st.binary(max_size=200),
)
TYPES = st.sampled_from(
    ["application/json", "application/yaml", "text/plain", "", "application/json; charset=utf-8"]
)
QUERY = st.dictionaries(st.sampled_from(["limit", "after", "phase", "active", "service"]),
                        st.text(max_size=20), max_size=3)  # fmt: skip


async def _world() -> tuple[httpx.AsyncClient, str, str]:
    store = MemoryStore()
    now = time.time()
    admin = await tokens.bootstrap(store, "ada", now)
    plan = parse_plan(PLAN % free_port(), "plan.yaml")
    record = await rollouts.start_or_continue(
        store, plan, Identity("sam", ("operator",), "token"), now, lambda s: None
    )
    ctx = Context(store, Path("/nonexistent"), events_max_seconds=0.05,
                  events_poll=0.01)  # fmt: skip
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=build_app(ctx)),
                               base_url="http://127.0.0.1")  # fmt: skip
    return client, admin, record.id


ENDPOINTS = [(m, r.path) for r in ROUTES for m in sorted(r.methods - {"HEAD"})]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    endpoint=st.sampled_from(ENDPOINTS), body=BODIES, content_type=TYPES, query=QUERY,
    path_id=st.one_of(st.just("REAL"), st.text(alphabet="abcdefghij-0123456789%.", max_size=12)),
    last_event_id=st.one_of(st.none(), st.text(alphabet="0123456789x\n", max_size=20)),
)  # fmt: skip
def test_no_input_makes_a_500_or_a_traceback(
    endpoint: tuple[str, str], body: bytes, content_type: str, query: dict[str, str],
    path_id: str, last_event_id: str | None,
) -> None:  # fmt: skip
    async def attempt() -> httpx.Response:
        client, admin, rid = await _world()
        pid = rid if path_id == "REAL" else (path_id or "x")
        method, path = endpoint
        url = path.replace("{id}", pid).replace("{service}", pid).replace("{token_id}", pid)
        headers = {"authorization": f"Bearer {admin}", "content-type": content_type}
        if last_event_id is not None and "\n" not in last_event_id:
            headers["last-event-id"] = last_event_id
        async with client:
            return await client.request(method, url, params=query, content=body, headers=headers)

    response = asyncio.run(attempt())
    assert response.status_code < 500, (endpoint, response.text)
    assert "Traceback" not in response.text
    kind = response.headers.get("content-type", "")
    assert kind.startswith(("application/json", "text/html", "text/event-stream")), kind
