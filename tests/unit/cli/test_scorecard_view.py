"""The scorecard as people read it: every item, categories, the headline; text stays text."""

from __future__ import annotations

from rich.console import Console

from golive.analysis.scorecard import Item, score
from golive.cli.readiness import print_scorecard
from golive.cli.view import scorecard_lines


def test_the_table_shows_what_was_measured_literally() -> None:
    card = score(
        [
            Item("api [red]", "infrastructure", 1, True, "pass", "200 in 4ms", "GET /health"),
            Item("json", "infrastructure", 1, False, "fail", "", "no items[0].name or [bold]x"),
        ],
        go_at=9,
    )
    out = Console(record=True, width=200)
    print_scorecard(card, out)
    text = out.export_text()
    assert "api [red] (critical)" in text
    assert "no items[0].name or [bold]x" in text
    assert "OVERALL DEPLOYMENT READINESS: 5.00/10 - NO-GO (GO at 9)" in text
    assert "overall 5.00 is below 9" in text
    assert scorecard_lines(card.to_json())[1].startswith("FAIL      infrastructure json:")
