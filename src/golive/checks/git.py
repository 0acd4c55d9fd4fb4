"""Git checks: a clean working tree, the expected branch, a tag on HEAD."""

from __future__ import annotations

from golive.checks.base import Probe
from golive.checks.command import run_bounded
from golive.plan.checks import Git


async def _git(path: str, *args: str) -> tuple[int, str]:
    return await run_bounded(("git", "-C", path, *args))


async def probe(o: Git) -> Probe:
    status, branch = await _git(o.path, "rev-parse", "--abbrev-ref", "HEAD")
    if status != 0:
        return Probe.failed("", f"{o.path} is not a git repository: {branch.strip()[:160]}")
    branch = branch.strip()
    if o.branch is not None and branch != o.branch:
        return Probe.failed(branch, f"on branch {branch}, expected {o.branch}")
    if o.clean:
        _, changes = await _git(o.path, "status", "--porcelain", "--untracked-files=normal")
        changed = changes.splitlines()
        if changed:
            first = changed[0][3:]
            return Probe.failed(
                f"{len(changed)} changes",
                f"the tree has {len(changed)} uncommitted changes ({first}, ...)",
            )
    if o.tag is not None:
        _, tags = await _git(o.path, "tag", "--points-at", "HEAD")
        if o.tag not in tags.split():
            shown = ", ".join(tags.split()) or "no tag"
            return Probe.failed(branch, f"HEAD is not tagged {o.tag} ({shown})")
    return Probe.passed(branch, f"on {branch}" + (", clean" if o.clean else ""))
