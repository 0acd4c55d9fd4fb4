"""What people write into the record: the reason of an operator verb, the note of a sign-off.

Such a remark is shown later on other people's terminals (``golive status``, the live view),
so it must read as one line of text: a newline could forge a journal line ("22:00:00 promoted
..."), an escape sequence could rewrite the screen, a bidirectional override could show words
in another order than they are stored. Remarks with control characters are refused, not
cleaned (what is recorded is what the person typed), and so is a remark too long to read.
"""

from __future__ import annotations

import re

from golive.errors import StateError

MAX_CHARS = 1000
_SURROGATE = re.compile(r"[\ud800-\udfff]")  # half of a character: no UTF-8 can hold it
# C0 and C1 controls (newline, escape, ...) and the bidirectional embeddings and isolates
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def remark(text: str, what: str, required: bool = False) -> str:
    """``text`` as it will be recorded (surrounding spaces removed); StateError, naming
    ``what`` ("--reason"), when it cannot be shown as one line of text."""
    text = text.strip()
    if required and not text:
        raise StateError(f"{what} is required (it is recorded)")
    half = _SURROGATE.search(text)  # invalid UTF-8 on a command line arrives as one
    if half:
        raise StateError(
            f"{what} must be text: at position {half.start() + 1} it has half of a character "
            f"(U+{ord(half.group()):04X}: invalid UTF-8 or a lone surrogate)"
        )
    found = _CONTROL.search(text)
    if found:
        raise StateError(
            f"{what} must be one line of plain text: it contains the control character "
            f"U+{ord(found.group()):04X} at position {found.start() + 1}"
        )
    if len(text) > MAX_CHARS:
        raise StateError(f"{what} is {len(text)} characters long; at most {MAX_CHARS}")
    return text
