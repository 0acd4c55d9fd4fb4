"""Scalar value types of the plan language: durations, percentages, secret references.

Pure parsing with precise messages (the units themselves are golive.units); the loader
attaches file:line:col. Resolving a secret reference is I/O: golive.secrets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated

from pydantic import BeforeValidator, WithJsonSchema

from golive.plan.passwords import ADVICE, password_in
from golive.units import parse_duration, parse_percent

Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    WithJsonSchema({"type": "string", "pattern": r"^\d+(\.\d+)?(ms|s|m|h|d)$"}),
]
Percent = Annotated[
    float,
    BeforeValidator(parse_percent),
    WithJsonSchema({"type": "string", "pattern": r"^\d+(\.\d+)?%$"}),
]


@dataclass(frozen=True, slots=True)
class SecretRef:
    """A reference to a secret (``env:NAME`` or ``file:/path``); the value is never held here.

    ``str()`` and ``repr()`` show the reference, never the secret, so it is safe to print.
    """

    scheme: str
    target: str

    @classmethod
    def parse(cls, text: object) -> SecretRef:
        if not isinstance(text, str) or ":" not in text:
            raise ValueError("expected a secret reference like env:NAME or file:/path")
        scheme, _, target = text.partition(":")
        if scheme not in ("env", "file") or not target:
            raise ValueError(
                "expected a secret reference like env:NAME or file:/path "
                "(secrets are never written into a plan)"
            )
        return cls(scheme, target)

    def __str__(self) -> str:
        return f"{self.scheme}:{self.target}"


def parse_secret_or_url(text: object) -> SecretRef | str:
    """A connection string: a secret reference, or a literal one without a password."""
    if not isinstance(text, str):
        raise ValueError("expected a URL or a secret reference like env:NAME")
    if text.startswith(("env:", "file:")):
        return SecretRef.parse(text)
    if (why := password_in(text)) is not None:
        raise ValueError(f"{why}; {ADVICE}")
    return text


def parse_web_url(text: object) -> SecretRef | str:
    """An http(s) URL, or a secret reference to one (when it carries a token)."""
    value = parse_secret_or_url(text)
    if isinstance(value, str) and not re.match(r"^https?://", value, re.IGNORECASE):
        raise ValueError(f"expected an http:// or https:// URL, got {value!r}")
    return value


def parse_env_value(text: object) -> SecretRef | str:
    """A value given to a child's environment: text, or a secret reference read at start."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        return str(text)
    if isinstance(text, str) and text.startswith(("env:", "file:")):
        return SecretRef.parse(text)
    if not isinstance(text, str):
        raise ValueError("expected text or a secret reference like env:NAME")
    return text


Connection = Annotated[
    SecretRef | str,
    BeforeValidator(parse_secret_or_url),
    WithJsonSchema({"type": "string"}),
]
WebUrl = Annotated[
    SecretRef | str,
    BeforeValidator(parse_web_url),
    WithJsonSchema({"type": "string", "pattern": r"^(https?://|env:|file:)"}),
]
EnvValue = Annotated[
    SecretRef | str,
    BeforeValidator(parse_env_value),
    WithJsonSchema({"type": "string"}),
]
