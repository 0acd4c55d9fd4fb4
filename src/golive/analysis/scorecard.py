"""The readiness scorecard: weighted pre-flight results, 0-10 per category and overall, GO or
NO-GO. Pure: it scores results it is given (checks run elsewhere; confirmations come from the
store).

An item scores 1 when it passed (or was confirmed), 0.5 on a warning, 0 when it failed or is
still unconfirmed. A category's score is its items' weighted mean x 10; the overall score is
the weighted mean over every item (so a category counts by the weight of its items). GO needs
the overall score at ``go_at`` or more and no critical item failed or unconfirmed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from enum import StrEnum

CREDIT = {"pass": 1.0, "confirmed": 1.0, "warn": 0.5, "fail": 0.0, "pending": 0.0}


class Readiness(StrEnum):
    GO = "GO"
    NO_GO = "NO-GO"


@dataclass(frozen=True, slots=True)
class Item:
    name: str
    category: str
    weight: float
    critical: bool
    outcome: str  # pass | warn | fail, or for a checklist item: confirmed | pending
    value: str = ""
    reason: str = ""
    manual: bool = False
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class Category:
    name: str
    score: float
    weight: float
    items: int
    passed: int


@dataclass(frozen=True, slots=True)
class Scorecard:
    items: tuple[Item, ...]
    categories: tuple[Category, ...]
    overall: float
    go_at: float
    readiness: Readiness
    blockers: tuple[str, ...]  # why NO-GO, one line each
    waiting: bool  # NO-GO only for want of confirmations: it may still become GO

    @property
    def go(self) -> bool:
        return self.readiness is Readiness.GO

    def headline(self) -> str:
        return f"OVERALL DEPLOYMENT READINESS: {self.overall:.2f}/10 - {self.readiness.value}"

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data["readiness"] = self.readiness.value
        return data

    @staticmethod
    def from_json(data: dict[str, object]) -> Scorecard:
        items = tuple(Item(**i) for i in data["items"])  # type: ignore[attr-defined]
        cats = tuple(Category(**c) for c in data["categories"])  # type: ignore[attr-defined]
        return Scorecard(
            items, cats, float(str(data["overall"])), float(str(data["go_at"])),
            Readiness(str(data["readiness"])), tuple(data["blockers"]),  # type: ignore[arg-type]
            bool(data["waiting"]),
        )  # fmt: skip


def _score(items: list[Item]) -> float:
    total = sum(i.weight for i in items)
    return 0.0 if total == 0 else 10 * sum(i.weight * CREDIT[i.outcome] for i in items) / total


def score(items: list[Item], go_at: float) -> Scorecard:
    order: list[str] = []
    for item in items:
        if item.category not in order:
            order.append(item.category)
    categories = tuple(
        Category(
            name,
            round(_score(mine), 2),
            sum(i.weight for i in mine),
            len(mine),
            sum(1 for i in mine if CREDIT[i.outcome] == 1.0),
        )
        for name in order
        for mine in [[i for i in items if i.category == name]]
    )
    overall = round(_score(items), 2) if items else 10.0
    blockers = [f"critical check {i.name!r} failed: {i.reason}" for i in items
                if i.critical and i.outcome == "fail"]  # fmt: skip
    pending = [i for i in items if i.outcome == "pending"]
    blockers += [f"critical item {i.name!r} is not confirmed" for i in pending if i.critical]
    if overall < go_at:
        blockers.append(f"overall {overall:.2f} is below {go_at:g}")
    # would confirming every pending item make it GO? then it is worth waiting for people
    confirmed = [
        replace(i, outcome="confirmed") if i.manual and i.outcome == "pending" else i for i in items
    ]
    hopeful = _score(confirmed) >= go_at and not any(
        i.critical and i.outcome == "fail" for i in items
    )
    readiness = Readiness.GO if not blockers else Readiness.NO_GO
    waiting = readiness is Readiness.NO_GO and bool(pending) and hopeful
    return Scorecard(tuple(items), categories, overall, go_at, readiness, tuple(blockers), waiting)
