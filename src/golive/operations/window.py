"""The watch window in the status document: whether it is open, until when, when the next
checks run and when the previous revision is retired, for ``golive status``, its ``--json``
and the server (the same values)."""

from __future__ import annotations

import time

from golive.core.state import Phase, RolloutState
from golive.plan.model import Revision


def phase_name(state: RolloutState) -> str:
    """The phase as people read it: a rollout in its watch window is ``watching``."""
    if state.watching and state.phase is Phase.PROGRESSING:
        return "watching"
    return state.phase.value


def window_json(state: RolloutState, now: float) -> dict[str, object] | None:
    """The window's times and where it stands; None for a rollout that never opened one."""
    if state.watch_until is None:
        return None
    kept = Revision.STABLE in state.retiring
    return {
        "open": state.watching,
        "promoted_at": state.promoted_at,
        "until": state.watch_until,
        "left_seconds": max(0.0, state.watch_until - now) if state.watching else 0.0,
        "next_check": state.watch_next if state.watching else None,
        "previous_retired_at": state.keep_until if kept or state.watching else None,
        "previous": _previous(state, kept),
        "sentence": window_line(state, now),
    }


def _previous(state: RolloutState, kept: bool) -> str:
    """The previous revision's fate: kept (until ``keep_until``), retired, or serving again."""
    if state.phase in (Phase.ROLLED_BACK, Phase.ROLLING_BACK):
        return "serving" if state.phase is Phase.ROLLED_BACK else "taking traffic back"
    if state.watching or kept:
        return "kept"
    return "retired" if state.phase is Phase.PROMOTED else "kept"


def window_line(state: RolloutState, now: float) -> str:
    """One sentence: the window and the previous revision, with times in UTC."""
    until, keep = state.watch_until, state.keep_until
    if until is None:
        return ""
    retire = f"the previous revision (stable) is retired at {_at(keep)}" if keep else ""
    if state.watching:
        left = max(0.0, until - now)
        nxt = f"; next checks at {_at(state.watch_next)}" if state.watch_next else ""
        paused = " (paused: it ends once resumed)" if state.phase is Phase.PAUSED else ""
        return f"watch window open until {_at(until)} ({left:.0f}s left){paused}{nxt}; {retire}"
    if state.phase is Phase.PROMOTED:
        if Revision.STABLE in state.retiring:
            return f"watch window passed at {_at(until)}; {retire}"
        return f"watch window passed at {_at(until)}; the previous revision (stable) is retired"
    ended = state.phase.value.replace("_", " ")
    return f"{ended} during the watch window (it was open until {_at(until)})"


def _at(t: float | None) -> str:
    return "-" if t is None else time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(t))
