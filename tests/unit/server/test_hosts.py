"""The Host header check (DNS rebinding): IP literals and the allowed names only."""

from __future__ import annotations

import pytest

from golive.server.hosts import answered_hosts, host_allowed

LOOPBACK = answered_hosts(loopback=True, allowed=["Golive.Internal."])


@pytest.mark.parametrize(
    "header",
    [b"127.0.0.1:8470", b"localhost:8470", b"LOCALHOST", b"[::1]:8470", b"10.0.0.7",
     b"golive.internal:8470", b"golive.internal."],
)  # fmt: skip
def test_ip_literals_localhost_and_allowed_names_are_answered(header: bytes) -> None:
    assert host_allowed(LOOPBACK, header)


@pytest.mark.parametrize(
    "header",
    [b"evil.example", b"evil.example:8470", b"localhost.evil.example", b"127.0.0.1.nip.io",
     b"[::1", b"[::1]x", b"localhost:http", b"", b":8470", "caf\u00e9".encode(), b"\xff"],
)  # fmt: skip
def test_other_names_and_malformed_headers_are_refused(header: bytes) -> None:
    assert not host_allowed(LOOPBACK, header)


def test_an_open_bind_answers_any_name_unless_names_are_given() -> None:
    assert answered_hosts(loopback=False, allowed=[]) is None
    assert host_allowed(None, b"anything.example")
    named = answered_hosts(loopback=False, allowed=["golive.example.com"])
    assert host_allowed(named, b"golive.example.com:443")
    assert not host_allowed(named, b"localhost")
