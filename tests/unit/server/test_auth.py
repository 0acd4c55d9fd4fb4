"""The API permissions and the rate limit on failed authentication, on plain values."""

from __future__ import annotations

import pytest

from golive.identity import Identity
from golive.server.auth import FailedLogins, Policy, Refused, allowed, permission


def test_admin_includes_operator_which_includes_viewer() -> None:
    viewer = Identity("vic", ("tech-lead",), "token")
    operator = Identity("olga", ("operator",), "token")
    admin = Identity("ada", (), "token", admin=True)
    assert [permission(w) for w in (viewer, operator, admin)] == [
        Policy.VIEWER, Policy.OPERATOR, Policy.ADMIN,
    ]  # fmt: skip
    table = {p: [allowed(w, p) for w in (viewer, operator, admin)] for p in Policy}
    assert table == {
        Policy.PUBLIC: [True, True, True],
        Policy.SIGNED: [True, True, True],  # the handler checks the request's signature
        Policy.VIEWER: [True, True, True],
        Policy.SIGNER: [True, True, True],  # the operation checks the gate's role
        Policy.OPERATOR: [False, True, True],
        Policy.ADMIN: [False, False, True],
    }


def test_failures_past_the_limit_wait_out_the_window_per_address() -> None:
    limiter = FailedLogins(limit=3, window=60.0)
    for t in (0.0, 1.0, 2.0):
        limiter.check("10.0.0.1", t)
        limiter.failed("10.0.0.1", t)
    with pytest.raises(Refused) as refused:
        limiter.check("10.0.0.1", 30.0)
    assert refused.value.status == 429 and refused.value.headers["Retry-After"] == "30"
    limiter.check("10.0.0.2", 30.0)  # another address is not held back
    limiter.check("10.0.0.1", 60.5)  # the first failure left the window: one more try


def test_many_failing_addresses_do_not_grow_memory_without_bound() -> None:
    limiter = FailedLogins(limit=3, window=60.0, clients=100)
    for n in range(10_000):
        limiter.failed(f"10.0.{n // 256}.{n % 256}", float(n) / 1000)
    assert len(limiter._seen) <= 100
