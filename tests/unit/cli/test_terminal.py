"""golive prints with styles, never console markup (issue #12.1): every console is a Terminal
with markup off, so a markup tag in golive's own strings would be printed as is."""

from __future__ import annotations

import re
from pathlib import Path

from rich.console import Console

from golive.cli.terminal import Terminal, visible

SRC = Path(__file__).resolve().parents[3] / "src" / "golive"
TAG = re.compile(r"\[/?(bold|red|green|yellow|cyan|dim)\b[^\]]*\]|\[link=|\[/\]")


def test_no_source_prints_console_markup() -> None:
    found = [
        f"{path.relative_to(SRC)}:{n}"
        for path in SRC.rglob("*.py")
        if path.name != "terminal.py"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if TAG.search(line) and not line.lstrip().startswith("#")
    ]
    assert found == []


def test_control_characters_are_shown_never_sent(capsys) -> None:  # type: ignore[no-untyped-def]
    Terminal().print("a\x1b[2Jb\x1b]52;c;aGk=\x07 [bold]x[/] :thumbs_up:")
    out = capsys.readouterr().out
    assert out.strip() == "a\\x1b[2Jb\\x1b]52;c;aGk=\\x07 [bold]x[/] :thumbs_up:"
    assert visible("tab\tand\nnewline") == "tab\tand\nnewline"
    assert isinstance(Terminal(), Console)
