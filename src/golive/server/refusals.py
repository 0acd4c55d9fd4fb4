"""How many refused requests reach a rollout's journal: a viewer (or a stolen token) looping on
``POST /rollback`` must not bury the decisions under its 403s, nor grow the record without
bound. Each caller (user, or address when unknown) may have ``burst`` refusals journaled per
rollout per ``window`` seconds; the rest are counted, and the next refusal journaled after the
window says how many were left out. Every refusal is still logged, and accepted actions are
always journaled.
"""

from __future__ import annotations

from dataclasses import dataclass, field

Key = tuple[str, str]  # rollout id, caller


@dataclass
class RefusalBudget:
    burst: int = 10
    window: float = 60.0
    max_keys: int = 10_000  # callers x rollouts remembered; the oldest are forgotten
    _seen: dict[Key, tuple[float, int, int]] = field(default_factory=dict)  # start, shown, left

    def admit(self, rollout_id: str, caller: str, now: float) -> int | None:
        """None: leave this refusal out of the journal; otherwise journal it, saying how many
        of the caller's refusals were left out before it (0 when none)."""
        key = (rollout_id, caller)
        start, shown, left = self._seen.pop(key, (now, 0, 0))
        if now - start >= self.window:
            start, shown = now, 0
        if shown >= self.burst:
            self._remember(key, (start, shown, left + 1))
            return None
        self._remember(key, (start, shown + 1, 0))
        return left

    def _remember(self, key: Key, value: tuple[float, int, int]) -> None:
        self._seen[key] = value  # popped first: the dict's order is the order of use
        while len(self._seen) > self.max_keys:
            del self._seen[next(iter(self._seen))]
