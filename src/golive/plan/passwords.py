"""The plan rule that refuses a password written into the plan.

A plan is committed, reviewed and printed; a password in it is leaked. Every string of the
plan is read (a check's ``dsn`` and ``url``, a revision's ``env``, a command's ``argv``), so no
field is forgotten: a URL whose userinfo holds a password (``postgresql://u:pw@``,
``redis://:pw@``, any scheme, any case) or is a token (``https://TOKEN@``), and a
``password=`` / ``pass=`` / ``pwd=`` value (libpq's key=value strings, a query, a flag), quoted
or not, with spaces around ``=`` or not. An ``env:`` entry whose name says it is a secret
(``PGPASSWORD``, ``API_TOKEN``) must be a reference too. Each is a plan error at the value's
file:line:col; the message never repeats the value.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from golive.errors import PlanIssue
from golive.plan.yamlsource import Located, Path, format_path

_USERINFO = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]*)://([^\s/?#@]*)@")
_KEY_VALUE = re.compile(
    r"""(?<![A-Za-z0-9_])(?:password|passwd|pass|pwd)\s*=\s*(?:'[^']+'|"[^"]+"|[^\s&;'"]+)""",
    re.IGNORECASE,
)
_SECRET_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY", re.IGNORECASE)
_REFERENCE = re.compile(r"^(env|file):\S")

ADVICE = (
    "put it in a secret reference like env:NAME or file:/path (secrets are never written into "
    "a plan)"
)


def password_in(text: str) -> str | None:
    """What kind of password ``text`` holds, in words, or None."""
    for match in _USERINFO.finditer(text):
        scheme, userinfo = match.group(1).lower(), match.group(2)
        user, colon, password = userinfo.partition(":")
        if colon and password:
            return "this URL holds a password (user:password@)"
        if not colon and user and scheme in ("http", "https"):
            return "this URL holds credentials (TOKEN@)"
    if _KEY_VALUE.search(text):
        return "this value holds a password (password=...)"
    return None


def _strings(data: object, path: Path) -> Iterator[tuple[Path, str]]:
    if isinstance(data, str):
        yield path, data
    elif isinstance(data, int | float) and not isinstance(data, bool):
        yield path, str(data)  # PGPASSWORD: 1234
    elif isinstance(data, dict):
        for key, value in data.items():
            yield from _strings(value, (*path, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from _strings(value, (*path, i))


def literal_passwords(located: Located, filename: str) -> Iterator[PlanIssue]:
    """One issue per string of the plan that holds a password."""
    for path, text in _strings(located.data, ()):
        why = password_in(text)
        if why is None and _is_secret_env(path, text):
            why = f"{path[-1]} looks like a secret"
        if why is not None:
            line, col = located.position(path)
            yield PlanIssue(filename, line, col, format_path(path), f"{why}; {ADVICE}")


def _is_secret_env(path: Path, text: str) -> bool:
    return (
        len(path) >= 2
        and path[-2] == "env"
        and isinstance(path[-1], str)
        and bool(_SECRET_NAME.search(path[-1]))
        and bool(text)
        and not _REFERENCE.match(text)
    )
