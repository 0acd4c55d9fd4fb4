"""schemathesis against the server's own OpenAPI document (issue #14, item 7): a real uvicorn on
127.0.0.1 (an ephemeral port), every operation tried with generated input with no token, a
viewer's, an operator's and an admin's. No answer is a 5xx; every status is one the document
lists for the operation; every body has the documented content type and matches the documented
schema. Generated input is valid (positive), invalid (negative), and valid on the real
rollout's id. Bounded: a few examples per operation and caller (well under a minute on 2 cores)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from golive.identity import Identity
from golive.operations import rollouts, tokens
from golive.plan.loader import parse_plan
from golive.server.app import Context, build_app
from golive.server.auth import FailedLogins
from golive.testing import MemoryStore
from tests.conftest import free_port
from tests.integration.test_server_routes import PLAN

pytestmark = pytest.mark.integration
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
WHO = ("none", "viewer", "operator", "admin")
EXAMPLES = 15  # per operation; each tried as every caller in WHO


class Server:
    """uvicorn in a thread with its own event loop (the store lives in that loop)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.store = MemoryStore()
        self.tokens = self.loop.run_until_complete(self._world())
        # generated bad tokens must not lock every caller out (429) for the rest of the run
        ctx = Context(self.store, Path("/nonexistent"), FailedLogins(limit=10**9),
                      events_max_seconds=0.05, events_poll=0.01)  # fmt: skip
        self.port = free_port()
        config = uvicorn.Config(build_app(ctx), host="127.0.0.1", port=self.port,
                                log_level="critical", lifespan="off")  # fmt: skip
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.loop.run_until_complete, args=(self.server.serve(),), daemon=True
        )
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)

    async def _world(self) -> dict[str, str]:
        now = time.time()
        admin = await tokens.bootstrap(self.store, "ada", now)
        root = Identity("ada", (), "token", admin=True)
        made = {"admin": admin}
        for user, role in (("vic", "viewer"), ("sam", "operator")):
            made[role] = await tokens.add(self.store, root, user, (role,), False, None, now)
        plan = parse_plan(PLAN % free_port(), "plan.yaml")
        record = await rollouts.start_or_continue(
            self.store, plan, Identity("sam", ("operator",), "token"), now, lambda s: None
        )
        self.rollout = record.id  # the real one, beside generated ids
        return made

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)
        self.loop.close()


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    running = Server()
    try:
        yield running
    finally:
        running.stop()


def test_generated_requests_get_documented_answers(server: Server) -> None:
    schema = schemathesis.openapi.from_url(f"{server.url}/api/v1/openapi.json")
    tried = 0
    for found in schema.get_all_operations():
        operation = found.ok()

        real = {"id": server.rollout} if "{id}" in operation.path else None
        if "{service}" in operation.path:
            real = {"service": "shop"}
        cases = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
            operation.as_strategy(GenerationMode.POSITIVE, path_parameters=real),
        )

        @given(case=cases)
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        def attempt(case: schemathesis.Case) -> None:
            for who in WHO:  # each generated request, as each caller
                token = server.tokens.get(who)
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                case.call_and_validate(
                    base_url=server.url, headers=headers, checks=CHECKS, timeout=10
                )

        attempt()
        tried += 1
    assert tried >= 20  # every route of the table (tests/integration/test_server_routes.py)


def test_every_route_documents_the_statuses_it_answers_with() -> None:
    """What schemathesis found first: pause/resume/... answer 202, a new rollout or token 201,
    a store that cannot answer 503, and the document listed only 200 (with no body schema)."""
    from golive.server.openapi import document
    from golive.server.routes import ROUTES

    paths = document(list(ROUTES))["paths"]
    assert isinstance(paths, dict)
    ops = {(m.upper(), p): op for p, by in paths.items() for m, op in by.items()}
    assert set(ops["POST", "/api/v1/rollouts/{id}/pause"]["responses"]) >= {"202", "503"}
    assert set(ops["POST", "/api/v1/rollouts"]["responses"]) >= {"200", "201", "422"}
    assert "201" in ops["POST", "/api/v1/tokens"]["responses"]
    for (method, path), op in ops.items():
        ok = [c for c in op["responses"] if c.startswith("2")]
        assert ok, (method, path)
        for code in ok:
            assert op["responses"][code]["content"], (method, path, code)
