"""One delivery attempt through Apprise (Slack, Teams, Discord, email, PagerDuty, ntfy, JSON, and
every other service it knows): the URL is a secret reference resolved at send time.

Apprise is synchronous: the attempt runs in a thread, bounded by the channel's timeout (Apprise's
own timeout, and ours around it). The text is sent as plain text, so a service that renders
HTML or Markdown shows a plan's markup as written, never interpreted; the notice's id closes the
message (the idempotency key a receiver can deduplicate on).
"""

from __future__ import annotations

import asyncio
import logging

import apprise

from golive.notify.notice import Notice
from golive.notify.send import SendError, reference, resolved
from golive.redaction import describe_target

# Apprise logs what went wrong with the URL it used; golive reads those entries from the result
# and redacts them, so Apprise's own logger says nothing (a URL carries its service's token)
_quiet = logging.getLogger("apprise")
_quiet.propagate = False
_quiet.addHandler(logging.NullHandler())

_TYPES = {"info": apprise.NotifyType.INFO, "warning": apprise.NotifyType.WARNING,
          "critical": apprise.NotifyType.FAILURE}  # fmt: skip


def _send(url: str, title: str, body: str, severity: str, timeout: float) -> str | None:
    box = apprise.Apprise()
    if not box.add(url):
        return "not an Apprise URL Apprise can use"
    result = box.notify(body=body, title=title, body_format=apprise.NotifyFormat.TEXT,
                        notify_type=_TYPES.get(severity, apprise.NotifyType.INFO),
                        timeout=timeout)  # fmt: skip
    if result:
        return None
    logs = getattr(result, "logs", None)  # Apprise 2: what went wrong, in its words
    said = [str(getattr(e, "message", e)) for e in (logs() if callable(logs) else [])]
    return said[-1] if said else "the service did not accept the message"


async def deliver(notice: Notice, within: float) -> None:
    url, _, redact = resolved(notice)
    where = describe_target(url) or f"channel {notice.channel}"
    scheme = str(reference(notice.target.get("url", ""))).partition(":")[0]
    body = redact(f"{notice.text}\n\n[golive {notice.id}]")
    try:
        async with asyncio.timeout(within + 1.0):
            why = await asyncio.to_thread(
                _send, url, redact(notice.title), body, notice.severity, within
            )
    except TimeoutError:
        raise SendError(f"{where}: no answer within {within:g}s") from None
    except Exception as exc:  # Apprise's plugins raise what they like
        raise SendError(redact(f"{where}: {type(exc).__name__}: {exc}")) from None
    if why is not None:
        raise SendError(redact(f"{where} ({scheme} reference): {why}"))
