"""One delivery attempt to a signed webhook: a POST with the Standard Webhooks headers.

The body and the signature are made at each attempt (the timestamp is the attempt's), the id is
the notice's own: a receiver sees the same ``webhook-id`` on every retry, across restarts. A
2xx answer is delivered; anything else (a timeout, a refused connection, 4xx, 5xx) is an error
the worker retries. The secrets are resolved here, at send time, and never written anywhere.
"""

from __future__ import annotations

import json
import time

import httpx

from golive.notify import webhook
from golive.notify.notice import Notice
from golive.plan.values import SecretRef
from golive.redaction import Redactor, describe_target
from golive.secrets import reveal


class SendError(Exception):
    """A failed attempt, said without any secret."""


def reference(value: object) -> SecretRef | str:
    text = str(value)
    return SecretRef.parse(text) if text.startswith(("env:", "file:")) else text


def resolved(notice: Notice) -> tuple[str, str | None, Redactor]:
    """The channel's URL and secret, and a redactor that removes both from any text."""
    t = notice.target
    try:
        url = reveal(reference(t.get("url", "")))
        secret = None if t.get("secret") is None else reveal(reference(t["secret"]))
    except LookupError as exc:
        raise SendError(f"channel {notice.channel}: {exc}") from None
    return url, secret, Redactor.of([v for v in (url, secret) if v])


async def post(client: httpx.AsyncClient, notice: Notice, within: float) -> None:
    url, secret, redact = resolved(notice)
    assert secret is not None
    try:
        key = webhook.secret_key(secret)
    except ValueError as exc:
        raise SendError(f"channel {notice.channel}: {exc}") from None
    now = int(time.time())
    body = json.dumps(_clean(notice, redact).payload(now), default=str).encode()
    where = describe_target(url) or "the webhook"
    try:
        reply = await client.post(url, content=body, timeout=within,
                                  headers=webhook.headers(key, notice.id, now, body))  # fmt: skip
    except httpx.HTTPError as exc:
        raise SendError(redact(f"{where}: {type(exc).__name__}: {exc}")) from None
    if not 200 <= reply.status_code < 300:
        raise SendError(redact(f"{where} answered {reply.status_code}"))


def _clean(notice: Notice, redact: Redactor) -> Notice:
    """The notice with any form of the channel's secrets taken out of its words."""
    data = json.loads(redact(json.dumps(notice.data, default=str)))
    return Notice(notice.id, notice.rollout_id, notice.channel, notice.kind, notice.severity,
                  redact(notice.title), redact(notice.text), data, {})  # fmt: skip
