"""Secret resolution: what a reference (``env:NAME``, ``file:/path``) points to, read when needed.

This is I/O (the environment, the file system), so it lives outside the plan package; a plan
only ever holds the reference (:class:`golive.plan.values.SecretRef`).
"""

from __future__ import annotations

import os

from golive.plan.values import SecretRef


def reveal(value: SecretRef | str) -> str:
    """The secret's value, read when needed (never logged, never stored)."""
    if isinstance(value, str):
        return value
    if value.scheme == "env":
        found = os.environ.get(value.target)
        if found is None:
            raise LookupError(f"the environment variable {value.target} is not set")
        return found
    try:
        with open(value.target, encoding="utf-8") as fh:
            return fh.read().strip()
    except OSError as exc:
        raise LookupError(f"cannot read the secret file {value.target}: {exc.strerror}") from None
