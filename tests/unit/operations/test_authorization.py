"""Who may not: every refusal of the operations layer because of *who* is acting is an
AuthorizationError (a server answers 403), never a StateError (409: the rollout is not in a
state for it). Driven on the MemoryStore, which keeps the SQLite store's rules."""

from __future__ import annotations

import dataclasses

import pytest

from golive.core.state import CommandVerb, Event, Phase, RolloutId, RolloutState
from golive.errors import AuthorizationError, StateError
from golive.identity import Identity
from golive.operations import commands, signoffs, tokens
from golive.plan.model import Split
from golive.store.records import RolloutRecord
from golive.testing import MemoryStore

PLAN = """\
service: svc
revisions:
  stable: {version: 1.0.0, url: "http://127.0.0.1:9001"}
  canary: {version: 2.0.0, url: "http://127.0.0.1:9002"}
approvals:
  go: {roles: [release-manager], require_token: %s}
permissions:
  resume: [starter, release-manager]
  promote: [release-manager]
steps:
  - approve: go
  - pause
  - promote
"""
ALICE = Identity("alice", ("release-manager",), "identity file")
OLGA = Identity("olga", ("operator",), "token")


async def rollout(require_token: bool = False, **changes: object) -> MemoryStore:
    store = MemoryStore()
    st = RolloutState(RolloutId("svc-1"), Phase.PROGRESSING, 0, 1.0, Split.all_stable(), 1.0,
                      started_by="carol")  # fmt: skip
    st = dataclasses.replace(st, **changes)  # type: ignore[arg-type]
    text = PLAN % ("true" if require_token else "false")
    record = RolloutRecord(st.id, "svc", "p.yaml", "", text, st, 1, 1.0, 1.0, None)
    await store.create(record, [Event("rollout_started", "by carol")], 1.0)
    return store


async def refused(call: object) -> AuthorizationError:
    with pytest.raises(AuthorizationError) as info:
        await call  # type: ignore[misc]
    assert not isinstance(info.value, StateError)
    return info.value


async def test_a_verb_the_plan_does_not_allow_to_someone_is_refused_as_not_allowed() -> None:
    store = await rollout()
    exc = await refused(commands.request(store, "svc-1", CommandVerb.PROMOTE, OLGA, "", 2.0))
    assert "olga (token) may not promote" in str(exc) and "permissions.promote" in str(exc)
    assert await store.pending_commands("svc-1") == []


async def test_a_forward_verb_without_a_token_on_a_token_only_gate_is_refused() -> None:
    store = await rollout(require_token=True, phase=Phase.PAUSED, paused_at=1.5)
    exc = await refused(commands.request(store, "svc-1", CommandVerb.RESUME, ALICE, "", 2.0))
    assert "needs a token too" in str(exc)
    assert await store.pending_commands("svc-1") == []


async def test_a_sign_off_for_a_role_not_held_or_without_a_required_token_is_refused() -> None:
    store = await rollout()
    exc = await refused(signoffs.sign(store, "svc-1", "release-manager", True, "", None, OLGA, 2))
    assert "olga does not hold the role release-manager" in str(exc)
    gated = await rollout(require_token=True)
    exc = await refused(signoffs.sign(gated, "svc-1", "release-manager", True, "", None, ALICE, 2))
    assert "takes sign-offs from API tokens only" in str(exc)
    assert await store.signoffs("svc-1") == [] and await gated.signoffs("svc-1") == []


async def test_a_state_that_forbids_the_verb_is_still_a_state_error() -> None:
    store = await rollout(phase=Phase.ROLLED_BACK)
    with pytest.raises(StateError, match="already ended"):
        await commands.request(store, "svc-1", CommandVerb.PROMOTE, ALICE, "", 2.0)


async def test_token_management_without_an_admin_token_is_refused() -> None:
    store = MemoryStore()
    exc = await refused(tokens.listing(store, ALICE))
    assert "needs an admin token" in str(exc)
    await refused(tokens.add(store, OLGA, "eve", (), True, None, 1.0))
    assert await store.tokens() == []
