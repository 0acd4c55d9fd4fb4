"""Which processes golive runs for a service, and for whom: one directory per version.

``<state-dir>/revisions/<service>/<version>/`` holds ``process.pid`` (written and read through
:mod:`golive.processes`), ``process.log`` and ``owner.json``: the rollout that started it, the
role it was started as, its version and URL. A pid file per service and role could not tell
1.5.0 (promoted, serving production) from 1.6.0 (the next canary); a directory per version can,
so the next rollout recognises its stable as golive's own, and ``golive down`` says what it
stops.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from golive.files import write_private
from golive.processes import live_pid, terminate

PID_FILE, OWNER_FILE, LOG_FILE = "process.pid", "owner.json", "process.log"


@dataclass(frozen=True, slots=True)
class Owner:
    rollout: str
    role: str  # the revision role it was started as: "canary" (or "stable" for deploy: stable)
    version: str
    url: str
    started_at: float


@dataclass(frozen=True, slots=True)
class OwnedProcess:
    service: str
    directory: Path
    owner: Owner
    pid: int


def version_dir(service_dir: Path, version: str) -> Path:
    """The directory of one version of a service (a version is free text: made path-safe)."""
    safe = re.sub(r"[^A-Za-z0-9._+-]", "_", version)
    return service_dir / ("_" + safe if safe.startswith(".") else safe)


def write_owner(directory: Path, owner: Owner) -> None:
    write_private(directory / OWNER_FILE, json.dumps(asdict(owner)))


def read_owner(directory: Path) -> Owner | None:
    try:
        data = json.loads((directory / OWNER_FILE).read_text())
        return Owner(**{k: data[k] for k in Owner.__dataclass_fields__})
    except (OSError, ValueError, KeyError, TypeError):
        return None


def running(directory: Path) -> tuple[int, Owner] | None:
    """The live process recorded in ``directory`` and its owner record, if it still runs."""
    pid = live_pid(directory / PID_FILE)
    owner = read_owner(directory)
    if pid is None or owner is None:
        return None
    return pid, owner


def forget(directory: Path) -> None:
    """Drop the records of a stopped process (its log stays, for the post-mortem)."""
    (directory / PID_FILE).unlink(missing_ok=True)
    (directory / OWNER_FILE).unlink(missing_ok=True)


def owned_processes(revisions_dir: Path, service: str | None = None) -> list[OwnedProcess]:
    """Every live process golive started under ``<state-dir>/revisions``, by service and version."""
    found: list[OwnedProcess] = []
    for pid_file in sorted(revisions_dir.glob(f"{service or '*'}/*/{PID_FILE}")):
        live = running(pid_file.parent)
        if live is not None:
            pid, owner = live
            found.append(OwnedProcess(pid_file.parent.parent.name, pid_file.parent, owner, pid))
    return found


async def stop(process: OwnedProcess) -> None:
    """Stop a process golive owns (SIGTERM to its group, then SIGKILL) and forget it."""
    await terminate(process.pid)
    forget(process.directory)
