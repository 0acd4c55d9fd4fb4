"""Standard Webhooks signatures (standardwebhooks.com): the scheme golive signs its outgoing
webhooks with and checks incoming sign-offs against.

The signed content is ``{webhook-id}.{webhook-timestamp}.{body}``; the signature is its
HMAC-SHA256 under the secret, base64, sent as ``webhook-signature: v1,<base64>`` (several,
space-separated, when a secret is being rotated). A secret is written ``whsec_<base64>``.
Pure: the caller gives the time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections import OrderedDict
from collections.abc import Mapping

PREFIX = "whsec_"
TOLERANCE = 300.0  # seconds a timestamp may be from now, either way


class BadSignature(Exception):
    """Why a request is refused: missing headers, a bad signature, a stale timestamp."""


class Seen:
    """The webhook ids accepted within the timestamp tolerance: one seen again is a replay.
    An id older than the tolerance is refused by its timestamp, so none is kept longer."""

    def __init__(self, keep: float = 2 * TOLERANCE, most: int = 100_000) -> None:
        self.keep, self.most = keep, most
        self._ids: OrderedDict[str, float] = OrderedDict()

    def load(self, seen: list[tuple[str, float]], now: float) -> None:
        """Ids accepted before (a restart), the ones still within the window."""
        for msg_id, at in seen:
            if at >= now - self.keep:
                self._ids[msg_id] = at

    def first(self, msg_id: str, now: float) -> bool:
        while self._ids and (next(iter(self._ids.values())) < now - self.keep
                             or len(self._ids) >= self.most):  # fmt: skip
            self._ids.popitem(last=False)
        if msg_id in self._ids:
            return False
        self._ids[msg_id] = now
        return True


def secret_key(secret: str) -> bytes:
    """The key of a ``whsec_<base64>`` secret (ValueError with a sentence otherwise)."""
    body = secret.strip().removeprefix(PREFIX)
    try:
        key = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("a webhook secret is whsec_ followed by base64") from None
    if len(key) < 16:
        raise ValueError("a webhook secret is at least 16 bytes (whsec_ and 24 base64 characters)")
    return key


def sign(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def headers(key: bytes, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(key, msg_id, timestamp, body),
        "content-type": "application/json",
    }


def verify(key: bytes, given: Mapping[str, str], body: bytes, now: float) -> tuple[str, int]:
    """The request's (id, timestamp) when its signature holds and its timestamp is within
    TOLERANCE of ``now``; BadSignature with the reason otherwise."""
    msg_id, stamp, sigs = (given.get(h) for h in ("webhook-id", "webhook-timestamp",
                                                 "webhook-signature"))  # fmt: skip
    if not msg_id or not stamp or not sigs:
        raise BadSignature("missing webhook-id, webhook-timestamp or webhook-signature")
    if len(msg_id) > 256:
        raise BadSignature("webhook-id is longer than 256 characters")
    try:
        timestamp = int(stamp)
    except ValueError:
        raise BadSignature("webhook-timestamp is not a number of seconds") from None
    if timestamp < now - TOLERANCE:
        raise BadSignature("webhook-timestamp is more than 5 minutes old")
    if timestamp > now + TOLERANCE:
        raise BadSignature("webhook-timestamp is more than 5 minutes in the future")
    expected = sign(key, msg_id, timestamp, body).encode()
    for sig in sigs.split(" ")[:10]:
        if hmac.compare_digest(sig.encode(), expected):
            return msg_id, timestamp
    raise BadSignature("no webhook-signature matches")
