"""The readiness scorecard: weights, categories, critical items, waiting for confirmations."""

from __future__ import annotations

import pytest

from golive.analysis.scorecard import Item, Readiness, Scorecard, score


def item(name: str, outcome: str, category: str = "infrastructure", weight: float = 1.0,
         critical: bool = False, manual: bool = False) -> Item:  # fmt: skip
    return Item(name, category, weight, critical, outcome, manual=manual)


def test_weighted_scores_per_category_and_overall() -> None:
    card = score(
        [
            item("api", "pass", weight=2),
            item("db", "warn", weight=2),
            item("cert", "pass", "security"),
            item("secrets", "fail", "security", weight=3),
        ],
        go_at=5.0,
    )
    assert [(c.name, c.score, c.passed, c.items) for c in card.categories] == [
        ("infrastructure", 7.5, 1, 2),
        ("security", 2.5, 1, 2),
    ]
    assert card.overall == pytest.approx(10 * (2 + 1 + 1) / 8)  # 5.0
    assert card.readiness is Readiness.GO and card.blockers == ()
    assert card.headline() == "OVERALL DEPLOYMENT READINESS: 5.00/10 - GO"


def test_a_failed_critical_check_is_no_go_whatever_the_score() -> None:
    items = [item(f"c{i}", "pass") for i in range(20)] + [item("db", "fail", critical=True)]
    card = score(items, go_at=9.0)
    assert card.overall == pytest.approx(9.52, abs=0.01)
    assert card.readiness is Readiness.NO_GO and not card.waiting
    assert card.blockers == ("critical check 'db' failed: ",)


def test_unconfirmed_items_count_zero_and_make_it_worth_waiting() -> None:
    items = [item("api", "pass"), item("runbook", "pending", "operations", manual=True)]
    card = score(items, go_at=9.0)
    assert card.overall == 5.0 and card.readiness is Readiness.NO_GO and card.waiting
    done = score([items[0], item("runbook", "confirmed", "operations", manual=True)], 9.0)
    assert done.go and done.overall == 10.0
    hopeless = score([item("api", "fail"), *items[1:]], 9.0)
    assert not hopeless.waiting  # confirming would not reach 9.0


def test_the_scorecard_round_trips_through_json() -> None:
    card = score([item("api", "warn"), item("x", "pending", manual=True, critical=True)], 9.0)
    assert Scorecard.from_json(card.to_json()) == card
