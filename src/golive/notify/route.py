"""Which messages a commit makes and where they go: ``outbox_for`` is the pure function the
engine and the operations call before a store write, whose result the store inserts in the same
transaction as the events (so a message is never lost, nor sent for an event that was not
recorded). The ``then: notify`` of a trigger or of the split check is an incident here."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from golive.core.state import Event, RolloutState
from golive.notify import messages
from golive.notify.messages import Message
from golive.notify.notice import Figures, Notice
from golive.plan.model import Plan


def outbox_for(
    plan: Plan, before: RolloutState | None, after: RolloutState, events: Iterable[Event],
    version: int, now: float, figures: Figures | None = None, safe_ms: float | None = None,
) -> tuple[Notice, ...]:  # fmt: skip
    """The notices of one write: ``before`` is the state it replaces (None for a new rollout),
    ``version`` the version it writes (with ``now``, part of each id: stable and unique);
    ``safe_ms``, when known, how fast traffic was safe after the rollback decision (the
    read-back's figure; otherwise the state's, to the pass)."""
    notify = plan.notify
    if notify is None:
        return ()
    made: list[Message] = []
    if before is None:
        made.append(messages.started(plan, after))
    made += [
        m for e in events if (m := messages.from_event(plan, after, e, now, safe_ms)) is not None
    ]
    moved = before is None or before.step != after.step or before.phase != after.phase
    if moved and (w := messages.waiting(plan, after)) is not None:
        made.append(w)
    if figures is not None and not after.phase.terminal:
        made.append(messages.status(plan, after, figures))
    notices: list[Notice] = []
    for i, m in enumerate(made):
        for channel in notify.channels_for(m.kind, m.severity):
            key = f"{after.id}\x00{version}\x00{now!r}\x00{i}\x00{m.kind}\x00{channel.name}"
            mid = "msg_" + hashlib.sha256(key.encode()).hexdigest()[:32]
            notices.append(Notice(mid, after.id, channel.name, m.kind, m.severity, m.title,
                                  m.text, m.data, channel.target()))  # fmt: skip
    return tuple(notices)


def status_due(plan: Plan, state: RolloutState, last: float | None, now: float) -> bool:
    """Whether a status update is due: every ``notify.every`` while the rollout runs."""
    every = plan.notify.every if plan.notify is not None else None
    if every is None or state.phase.terminal:
        return False
    return now - (state.started if last is None else last) >= every
