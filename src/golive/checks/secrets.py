"""Secrets scan: no hard-coded secret in the files under a path (detect-secrets' plugins).

Files git ignores are skipped (a ``.env`` that git ignores is where secrets belong); a ``.env``
git does not ignore is scanned like any file. Only the file, line and kind of each finding are
reported, never the secret.
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
import os
import sys
from pathlib import Path

from golive.checks.base import Probe
from golive.checks.command import run_bounded
from golive.plan.checks import Secrets

MAX_FILES = 20_000
MAX_BYTES = 1_000_000
MAX_REPORT = 16_000_000


def _candidates(root: Path, exclude: tuple[str, ...]) -> list[str]:
    found: list[str] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in (".git", ".venv", "node_modules", "__pycache__")]
        for name in files:
            path = Path(folder, name)
            rel = str(path.relative_to(root))
            if any(fnmatch.fnmatch(rel, pattern) for pattern in exclude):
                continue
            try:
                if path.stat().st_size > MAX_BYTES:
                    continue
            except OSError:
                continue
            found.append(rel)
            if len(found) >= MAX_FILES:
                return found
    return found


async def _ignored(root: Path, files: list[str]) -> set[str]:
    """The files git ignores (none when ``root`` is not in a git work tree)."""
    if not files:
        return set()
    proc = await asyncio.create_subprocess_exec(
        "git", "-C", str(root), "check-ignore", "--stdin", "-z",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    out, _ = await proc.communicate("\0".join(files).encode() + b"\0")
    return {p for p in out.decode(errors="replace").split("\0") if p}


async def _scan(root: Path, files: list[str]) -> list[tuple[str, int, str]]:
    """detect-secrets' own scanner in a child process (it uses every core, and the check's
    timeout can stop it): (file, line, kind) of each finding."""
    if not files:
        return []
    argv = (sys.executable, "-m", "detect_secrets", "scan", "--", *files)
    status, out = await run_bounded(argv, str(root), limit=MAX_REPORT)
    try:
        results = json.loads(out)["results"]
    except (ValueError, KeyError):
        raise RuntimeError(f"detect-secrets failed (exit {status}): {out.strip()[-200:]}") from None
    return sorted(
        (name, int(s["line_number"]), str(s["type"]))
        for name, found in results.items()
        for s in found
    )


async def probe(o: Secrets) -> Probe:
    root = Path(o.path).resolve()
    if not root.is_dir():
        return Probe.failed("", f"{o.path} is not a directory")
    files = await asyncio.to_thread(_candidates, root, o.exclude)
    ignored = await _ignored(root, files)
    scanned = [f for f in files if f not in ignored]
    findings = await _scan(root, scanned)
    value = f"{len(findings)} found in {len(scanned)} files"
    if findings:
        shown = ", ".join(f"{name}:{line} ({kind})" for name, line, kind in findings[:3])
        more = f" and {len(findings) - 3} more" if len(findings) > 3 else ""
        return Probe.failed(value, f"possible secrets: {shown}{more}")
    return Probe.passed(
        value, f"no secrets in {len(scanned)} files ({len(ignored)} ignored by git)"
    )
