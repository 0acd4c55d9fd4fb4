"""File checks: a glob matches, and its newest match is fresh ("backups fresh")."""

from __future__ import annotations

import asyncio
import glob
import os
import time

from golive.checks.base import Probe
from golive.plan.checks import File
from golive.units import format_duration


def _newest(pattern: str) -> tuple[str, float, int] | None:
    best: tuple[str, float, int] | None = None
    for path in glob.iglob(pattern, recursive=True):
        try:
            st = os.stat(path)
        except OSError:
            continue
        if os.path.isfile(path) and (best is None or st.st_mtime > best[1]):
            best = (path, st.st_mtime, st.st_size)
    return best


async def probe(o: File) -> Probe:
    newest = await asyncio.to_thread(_newest, o.path)
    if newest is None:
        return Probe.failed("", f"no file matches {o.path}")
    path, mtime, size = newest
    age = max(0.0, time.time() - mtime)
    value = f"{format_duration(age)} old"
    if size < o.min_size:
        return Probe.failed(value, f"{path} is {size} bytes, smaller than {o.min_size}")
    if o.max_age is not None and age > o.max_age:
        return Probe.failed(
            value,
            f"the newest match, {path}, is {format_duration(age)} old "
            f"(max {format_duration(o.max_age)})",
        )
    return Probe.passed(value, f"{path} is {format_duration(age)} old")
