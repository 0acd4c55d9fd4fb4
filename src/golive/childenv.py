"""The environment of a process golive starts for the plan: a revision, a command check.

The controller's environment holds what the child must not see: ``GOLIVE_TOKEN``, the
operator's identity, and every secret the plan reads (``env:DATABASE_URL``). A child gets what
the plan gives it (``env:`` of the process or the check; a value may itself be a reference,
``DATABASE_URL: env:DATABASE_URL``, which is how a secret is passed on on purpose) plus the few
variables a program needs to run like it would in a login shell: :data:`INHERITED` and
``LC_*``. ``GOLIVE_*`` is never inherited, even if a future list named it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from golive.plan.values import SecretRef
from golive.secrets import reveal

INHERITED = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR")


def inherited(environ: Mapping[str, str]) -> dict[str, str]:
    """The part of ``environ`` every child gets."""
    return {
        k: v
        for k, v in environ.items()
        if (k in INHERITED or k.startswith("LC_")) and not k.startswith("GOLIVE_")
    }


def child_environment(
    given: Iterable[tuple[str, SecretRef | str]], environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The minimal inherited set plus the plan's ``env`` (references read now); raises
    LookupError naming a reference that cannot be read, never its value."""
    env = inherited(os.environ if environ is None else environ)
    for name, value in given:
        env[name] = reveal(value)
    return env
