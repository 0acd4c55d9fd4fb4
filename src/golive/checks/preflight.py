"""Pre-flight: every check of the plan at once, and the checklist's confirmations, scored."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from golive.analysis.scorecard import Item, Scorecard, score
from golive.checks.catalogue import run_check
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
