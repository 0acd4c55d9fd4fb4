"""Named SQL queries and versioned migrations, read from the ``.sql`` files beside this module."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources


def _sections(text: str, marker: str) -> dict[str, str]:
    parts = re.split(rf"^-- {marker}: (\S+)\s*$", text, flags=re.MULTILINE)
    return {parts[i]: parts[i + 1].strip() for i in range(1, len(parts), 2)}


@cache
def queries() -> dict[str, str]:
    text = resources.files("golive.store").joinpath("queries.sql").read_text()
    return _sections(text, "name")


@cache
def migrations() -> list[tuple[int, str]]:
    text = resources.files("golive.store").joinpath("schema.sql").read_text()
    return sorted((int(v), sql) for v, sql in _sections(text, "migration").items())
