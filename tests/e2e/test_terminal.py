"""What people, plans and checks wrote is printed as literal text (issue #12.1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.test_cli import golive

pytestmark = pytest.mark.e2e

HOSTILE = (
    'version: "2.1.0[/] [link=https://evil.example]x[/link] :thumbs_up: \\e]52;c;aGk=\\a \\e[2J"'
)


def plan(canary_version: str, padding: int = 0) -> str:
    return (
        "service: shop\n"
        + "# filler\n" * padding
        + "revisions:\n"
        + '  stable: {version: "1.0.0", url: "http://127.0.0.1:9001"}\n'
        + f'  canary: {{{canary_version}, url: "http://127.0.0.1:9002"}}\n'
        + 'route: {router: envoy, listen: "127.0.0.1:18080"}\n'
        + "steps:\n  - shift: 10\n  - promote\n"
    )


def test_markup_emoji_and_escapes_in_a_plan_are_shown_as_written(tmp_path: Path) -> None:
    (tmp_path / "plan.yaml").write_text(plan(HOSTILE))
    result = golive("plan", "check", "plan.yaml", cwd=tmp_path)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "internal error" not in out and "MarkupError" not in out
    assert "2.1.0[/] [link=https://evil.example]x[/link] :thumbs_up:" in out
    assert "\x1b" not in out and "\x07" not in out, "an escape reached the terminal raw"
    assert "\\x1b]52;c;aGk=\\x07" in out and "\\x1b[2J" in out


def test_an_error_on_line_100_reads_file_100_column(tmp_path: Path) -> None:
    text = plan('version: "2.1.0"', padding=93).replace("shift: 10", "shift: lots")
    (tmp_path / "plan.yaml").write_text(text)
    result = golive("plan", "check", "plan.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert "plan.yaml:100:12:" in result.stderr and "💯" not in result.stderr, result.stderr


def test_a_login_name_that_would_forge_journal_lines_is_refused_before_a_rollout(
    tmp_path: Path,
) -> None:
    """$LOGNAME is anyone's to set; with no identity file it named who started the rollout,
    newline and escapes included, in the journal."""
    (tmp_path / "plan.yaml").write_text(plan('version: "2.1.0"'))
    env = {
        "GOLIVE_IDENTITY": str(tmp_path / "none.yaml"),
        "LOGNAME": "ev\n12:00:00 promoted\x1b[2J",
    }
    try:
        result = golive("run", "plan.yaml", cwd=tmp_path, env=env, timeout=60)
    finally:
        golive("down", cwd=tmp_path, timeout=60)  # had it started one, its Envoy goes
    assert result.returncode == 1, result.stdout + result.stderr
    assert "the login name 'ev\\n12:00:00 promoted\\x1b[2J' is not a user name" in result.stderr
    assert golive("status", "--json", cwd=tmp_path).stdout.strip() == "[]"
