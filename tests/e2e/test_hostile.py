"""What a hostile reviewer tried on issue #10's guarantees, through the CLI: each test is a
break that was found and fixed (or is marked xfail with why)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.test_gates import apps, golive, plan, run_as_alice, team, wait_for

pytestmark = pytest.mark.e2e
__all__ = ["apps", "team"]  # fixtures


def paused_plan(apps: tuple[int, int]) -> str:
    text = plan(apps).replace("  - check: preflight\n  - approve: go-live\n", "")
    return text.replace("  - shift: 50\n", "  - shift: 10\n  - pause\n")


def test_a_reason_that_would_forge_journal_lines_or_rewrite_the_screen_is_refused(
    team: Path, apps: tuple[int, int]
) -> None:
    """A newline in --reason showed in 'golive status' as a journal line of its own
    ("22:00:00 promoted ..."), and an escape sequence reached other people's terminals raw."""
    (team / "plan.yaml").write_text(paused_plan(apps))
    with run_as_alice(team) as run:
        rid = str(wait_for(team, "golive resume")["id"])
        forged = "looking\n  22:00:00 promoted         canary promoted: 100% of traffic"
        for reason, char in ((forged, "U+000A"), ("\x1b[2J\x1b[31mred", "U+001B"),
                             ("ok \u202eevil", "U+202E")):  # fmt: skip
            refused = golive("resume", rid, "--reason", reason, cwd=team, who="alice")
            assert refused.returncode == 1, refused.stdout
            assert f"--reason must be one line of plain text: it contains the control character " \
                f"{char}" in refused.stderr  # fmt: skip
        long = golive("abort", rid, "--reason", "x" * 5000, cwd=team, who="bob")
        assert long.returncode == 1 and "at most 1000" in long.stderr
        status = json.loads(golive("status", rid, "--json", cwd=team).stdout)
        assert status["state"]["phase"] == "paused", "nothing was recorded"
        assert not [e for e in status["events"] if e["kind"] == "command"]
        markup = golive("resume", rid, "--reason", "[bold red]not markup[/]", cwd=team, who="alice")
        assert markup.returncode == 0, markup.stderr
        out, err = run.communicate(timeout=60)
        assert run.returncode == 0, out + err
    shown = golive("status", rid, cwd=team).stdout
    assert "resume requested by alice (identity file): [bold red]not markup[/]" in shown
