"""Keeping resolved secrets out of every message: a redactor, and targets without credentials.

A check that reads a secret (a DSN from ``env:DATABASE_URL``) hands it to a library, and
libraries quote what they could not parse: libpq says ``invalid percent-encoded token:
"hunter2%zzPCT"``, redis-py ``Port could not be cast to integer value as 'hunter2R1'`` when an
unencoded ``/`` in the password cut the URL short. Whatever reaches a person or the journal
passes through a :class:`Redactor` built from the values resolved for that check: it removes
each occurrence of the value (replaced by its target) and of its credentials (raw,
percent-decoded and -encoded, and each piece of three characters or more between ``:``, ``@``
and ``/``), and masks any word that shares five characters in a row with a password, so a
mangled fragment goes too. :func:`describe_target` names what was reached
(``postgresql://127.0.0.1:5432/db``) without userinfo or query.

Pure: no I/O. A user name is not a secret (servers print it back); a password, a token given
as the whole userinfo of an http(s) URL, ``password=`` values and any value that is not a URL
are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, unquote

MASK = "***"
WINDOW = 5  # a word sharing this many characters in a row with a password is masked
SHORT = 4  # shorter pieces are masked only as whole words (they would mask ordinary text)

_SCHEME = re.compile(r"^\s*([A-Za-z][A-Za-z0-9+.-]*)://")
_KEY_VALUE = re.compile(
    r"""(?<![A-Za-z0-9_])(password|passwd|pass|pwd)\s*=\s*('(?:[^'\\]|\\.)*'|"[^"]*"|[^\s&;]+)""",
    re.IGNORECASE,
)
_DSN_FIELD = re.compile(r"""(?<![A-Za-z0-9_])(host|hostaddr|port|dbname)\s*=\s*('[^']*'|\S+)""")
_PIECES = re.compile(r"[:@/]")
_WORD = re.compile(r"""[^\s'"`()\[\]{}<>,;]+""")


@dataclass(frozen=True, slots=True)
class Url:
    """A URL split the forgiving way: the userinfo ends at the last ``@``, so a password
    holding ``/``, ``?``, ``:`` or ``@`` never becomes the host or the path."""

    scheme: str
    userinfo: str | None
    host: str
    path: str
    query: str


def split_url(text: str) -> Url | None:
    match = _SCHEME.match(text)
    if match is None:
        return None
    rest = text[match.end() :]
    userinfo = None
    if "@" in rest:  # the last one: a password may hold any of / ? # : @
        userinfo, _, rest = rest.rpartition("@")
    before_query, _, query = rest.partition("?")
    host, slash, path = before_query.partition("/")
    return Url(match.group(1).lower(), userinfo, host, slash + path.split("#")[0], query)


def describe_target(text: str) -> str:
    """``scheme://host:port/path`` of a URL, or ``host:port/dbname`` of a libpq key=value
    string; never userinfo, query or password. ``""`` when it names no target."""
    url = split_url(text)
    if url is not None:
        return f"{url.scheme}://{url.host}{url.path}"
    fields = {k.lower(): v.strip("'") for k, v in _DSN_FIELD.findall(text)}
    host = fields.get("host") or fields.get("hostaddr")
    if host is None:
        return ""
    port = f":{fields['port']}" if "port" in fields else ""
    return f"{host}{port}/{fields.get('dbname', '')}".rstrip("/")


def _unquoted(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def credentials(value: str) -> list[str]:
    """The secret parts of a resolved value: a URL's password (or its userinfo when it is a
    token), ``password=`` values (in a query or a key=value string), or the whole value."""
    url = split_url(value)
    found = [_unquoted(v) for _, v in _KEY_VALUE.findall(value)]
    if url is not None:
        if url.userinfo:
            user, colon, password = url.userinfo.partition(":")
            if colon:
                found.append(password)
            elif url.scheme in ("http", "https"):
                found.append(user)
        found += [v for k, v in parse_qsl(url.query) if _KEY_VALUE.match(f"{k}=x")]
        return [f for f in found if f]
    if found or _DSN_FIELD.search(value):
        return [f for f in found if f]
    return [value] if value else []


def _forms(secret: str) -> set[str]:
    forms = {secret, unquote(secret), quote(secret, safe=""), quote(unquote(secret), safe="")}
    for form in list(forms):  # pieces of one or two characters would mask ordinary words
        forms.update(p for p in _PIECES.split(form) if len(p) >= 3)
    return forms


@dataclass(frozen=True, slots=True)
class Redactor:
    """Removes the given secrets from text; built once per check from the values it resolved."""

    values: tuple[str, ...] = ()
    forms: tuple[str, ...] = ()  # longest first, so a piece never splits a longer form

    @classmethod
    def of(cls, resolved: Iterable[str]) -> Redactor:
        values = tuple(sorted({v for v in resolved if v}, key=len, reverse=True))
        forms: set[str] = set()
        for value in values:
            for secret in credentials(value):
                forms |= _forms(secret)
        return cls(values, tuple(sorted(forms, key=len, reverse=True)))

    def __call__(self, text: str) -> str:
        if not self.values:
            return text
        # in any case: a tool that prints its input upper-cased (or a server that lower-cases
        # it) must not show the secret either
        for value in self.values:  # the whole value: say what it names instead
            target = describe_target(value) or MASK
            text = re.sub(re.escape(value), target.replace("\\", r"\\"), text, flags=re.I)
        for form in self.forms:
            if len(form) >= SHORT:
                text = re.sub(re.escape(form), MASK, text, flags=re.IGNORECASE)
            else:
                text = re.sub(
                    rf"(?<![A-Za-z0-9]){re.escape(form)}(?![A-Za-z0-9])", MASK, text,
                    flags=re.IGNORECASE,
                )  # fmt: skip
        return _WORD.sub(self._word, text)

    def _word(self, match: re.Match[str]) -> str:
        word = match.group(0).casefold()
        for form in (f.casefold() for f in self.forms):
            if len(form) >= WINDOW and any(
                form[i : i + WINDOW] in word for i in range(len(form) - WINDOW + 1)
            ):
                return MASK
        return match.group(0)
