"""How golive writes to a terminal: what people, plans and checks wrote is shown as literal text.

Every console golive prints with is a :class:`Terminal`: no console markup (``[bold]`` or
``[/]`` in a version, a reason or a name stays as written), no emoji codes (``:thumbs_up:`` and a
``file:100:8`` location stay text), no highlighting, no wrapping off a terminal (CI logs keep a
sentence on one line), and control characters made visible (``\\x1b``): an escape sequence in a
note, a reason or an identity cannot clear the screen or write the clipboard. golive's own
styling is given as styles (``print(text, style="red")``, :class:`rich.text.Text`), never as
markup.
"""

from __future__ import annotations

import re
import sys
from typing import Any

from rich.console import Console
from rich.text import Text

# control characters but \t and \n, and the bidirectional overrides that reorder what is shown
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_LINE = re.compile(r"[\n\r]")


def visible(text: str) -> str:
    """``text`` with every control character shown as an escape (``\\x1b``), never sent."""
    return _CONTROL.sub(_escape, text)


def one_line(text: str) -> str:
    """``visible``, and a newline shown too: a journal entry that cannot forge the next one."""
    return _LINE.sub(_escape, visible(text))


def _escape(m: re.Match[str]) -> str:
    code = ord(m.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def literal(text: str, style: str = "") -> Text:
    """A piece of text someone else wrote, for a table cell or a Text: never markup, visible."""
    return Text(visible(text), style=style)


class Terminal(Console):
    def __init__(self, stderr: bool = False, **options: Any) -> None:
        stream = sys.stderr if stderr else sys.stdout
        options.setdefault("width", None if stream.isatty() else 100_000)
        super().__init__(
            stderr=stderr, markup=False, emoji=False, highlight=False, soft_wrap=True, **options
        )

    def print(self, *objects: Any, **options: Any) -> None:
        options.pop("markup", None)  # never: what golive prints may carry someone's brackets
        shown = [visible(o) if isinstance(o, str) else o for o in objects]
        super().print(*shown, **options)
