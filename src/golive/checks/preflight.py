"""Pre-flight: every check of the plan at once, and the checklist's confirmations, scored."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from golive.analysis.scorecard import Item, Scorecard, score
from golive.checks.catalogue import run_check
from golive.core.results import CheckResult, CheckStatus
from golive.core.state import Confirmation, Event
from golive.plan.checks import Check
from golive.plan.model import Plan


async def run_checks(checks: tuple[Check, ...]) -> list[Item]:
    """Run every check concurrently (each bounded by its own timeout and retries)."""
    results = await asyncio.gather(*(run_check(c) for c in checks))
    return [
        Item(c.name, c.category, c.weight, c.critical, probe.outcome.value, probe.value,
             probe.reason, seconds=round(took, 3))
        for c, (probe, took) in zip(checks, results, strict=True)
    ]  # fmt: skip


def checklist_items(plan: Plan, confirmed: Mapping[str, str]) -> list[Item]:
    """The plan's manual items; ``confirmed`` maps an item id to who confirmed it, and how."""
    return [
        Item(
            i.id, i.category, i.weight, i.critical,
            "confirmed" if i.id in confirmed else "pending",
            confirmed.get(i.id, ""),
            i.text if i.id in confirmed else f"{i.text} (waiting for {i.role or 'anyone'})",
            manual=True,
        )
        for i in plan.checklist
    ]  # fmt: skip


def scorecard(plan: Plan, checked: list[Item], confirmed: Mapping[str, str]) -> Scorecard:
    return score([*checked, *checklist_items(plan, confirmed)], plan.go_at)


class Preflight:
    """The ``check: preflight`` step in a rollout: the plan's checks run once per visit of the
    step (``visit`` is when it started); confirmations are re-read on every pass; the scorecard
    is recorded (as an event) whenever it changes."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self._checked: tuple[float, list[Item]] | None = None
        self._last: dict[str, object] | None = None

    async def observe(
        self, visit: float, confirmations: list[Confirmation]
    ) -> tuple[CheckResult, Event | None]:
        if self._checked is None or self._checked[0] != visit:
            self._checked = (visit, await run_checks(self.plan.preflight))
        confirmed = {c.item: f"confirmed by {c.by} ({c.role})" for c in confirmations}
        card = scorecard(self.plan, self._checked[1], confirmed)
        data = card.to_json()
        event = None if data == self._last else Event("scorecard", card.headline(), data)
        self._last = data
        if card.go:
            return CheckResult(CheckStatus.PASSED, card.headline()), event
        if card.waiting:
            pending = [i.name for i in card.items if i.outcome == "pending"]
            why = f"confirmation of {', '.join(pending)}"
            return CheckResult(CheckStatus.WAIT, why), event
        why = f"{card.headline()}: {'; '.join(card.blockers)}"
        return CheckResult(CheckStatus.FAILED, why), event
