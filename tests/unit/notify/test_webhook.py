"""Standard Webhooks signatures: the known vector, and every way a request is refused."""

from __future__ import annotations

import base64

import pytest

from golive.notify import webhook

# the example of the Standard Webhooks specification's reference libraries
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
ID, TS = "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330
BODY = b'{"test": 2432232314}'
SIG = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_specifications_example_signs_and_verifies() -> None:
    key = webhook.secret_key(SECRET)
    assert webhook.sign(key, ID, TS, BODY) == SIG
    headers = {"webhook-id": ID, "webhook-timestamp": str(TS), "webhook-signature": f"v1,bad {SIG}"}
    assert webhook.verify(key, headers, BODY, TS + 10) == (ID, TS)


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"webhook-signature": "v1,AAAA"}, "no webhook-signature matches"),
        ({"webhook-signature": ""}, "missing"),
        ({"webhook-timestamp": str(TS - 301)}, "more than 5 minutes old"),
        ({"webhook-timestamp": str(TS + 301)}, "in the future"),
        ({"webhook-timestamp": "soon"}, "not a number"),
        ({"webhook-id": "msg_other"}, "no webhook-signature matches"),
    ],
)
def test_a_request_is_refused_with_the_reason(change: dict[str, str], said: str) -> None:
    key = webhook.secret_key(SECRET)
    headers = {"webhook-id": ID, "webhook-timestamp": str(TS), "webhook-signature": SIG, **change}
    with pytest.raises(webhook.BadSignature, match=said):
        webhook.verify(key, headers, BODY, TS)


def test_a_changed_body_does_not_verify() -> None:
    key = webhook.secret_key(SECRET)
    headers = {"webhook-id": ID, "webhook-timestamp": str(TS), "webhook-signature": SIG}
    with pytest.raises(webhook.BadSignature):
        webhook.verify(key, headers, BODY + b" ", TS)


def test_a_secret_that_is_not_whsec_base64_is_said_so() -> None:
    with pytest.raises(ValueError, match="base64"):
        webhook.secret_key("whsec_not base64!")
    with pytest.raises(ValueError, match="at least 16 bytes"):
        webhook.secret_key("whsec_" + base64.b64encode(b"short").decode())


def test_an_id_is_accepted_once_within_the_window() -> None:
    seen = webhook.Seen(keep=600)
    assert seen.first("a", 0.0) and not seen.first("a", 100.0)
    assert seen.first("b", 100.0)
    assert seen.first("a", 700.0)  # forgotten past the window, refused by its timestamp anyway
