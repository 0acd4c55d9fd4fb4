"""Dashboard sessions on values: expiry, the token's own expiry, the bound, what is kept."""

from __future__ import annotations

from golive.server.sessions import Sessions


def test_a_session_lives_until_its_expiry_and_never_past_its_tokens() -> None:
    sessions = Sessions(lifetime=100)
    sid = sessions.open("tok1", "vic", None, now=1000)
    assert sessions.get(sid, 1099) is not None
    assert sessions.get(sid, 1100) is None and len(sessions) == 0  # expired: forgotten
    capped = sessions.open("tok1", "vic", token_expires=1010, now=1000)
    assert sessions.get(capped, 1009) is not None and sessions.get(capped, 1010) is None


def test_sessions_are_kept_by_a_digest_of_their_id_and_each_has_its_own_csrf_token() -> None:
    sessions = Sessions()
    a, b = sessions.open("t", "u", None, 0), sessions.open("t", "u", None, 0)
    assert a != b and len(a) >= 40
    kept = sessions._by_key
    assert a not in kept and b not in kept
    first, second = sessions.get(a, 1), sessions.get(b, 1)
    assert first is not None and second is not None and first.csrf != second.csrf
    sessions.close(a)
    assert sessions.get(a, 1) is None and sessions.get(b, 1) is not None


def test_the_number_of_sessions_is_bounded_oldest_first() -> None:
    sessions = Sessions(most=3)
    ids = [sessions.open("t", "u", None, 0) for _ in range(5)]
    assert len(sessions) == 3
    assert [sessions.get(i, 1) is not None for i in ids] == [False, False, True, True, True]
