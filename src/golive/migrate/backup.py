"""The backup a migrate step takes before anything changes: where it goes (under the state
directory), its record beside it (size, SHA-256, the versions applied before), and the checksum
checked before it is restored."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from golive.migrate.database import BackupInfo, Database
from golive.migrate.outcome import Outcome
from golive.plan.model import MigrateStep


def backup_path(state_dir: Path, rollout: str, index: int, engine: str) -> Path:
    ext = "sqlite3" if engine == "sqlite" else "dump"
    return state_dir / "backups" / rollout / f"step{index + 1}.{ext}"


def take(
    db: Database, step: MigrateStep, state_dir: Path, rollout: str, index: int, out: Outcome
) -> None:
    path = backup_path(state_dir, rollout, index, step.engine)
    sidecar = path.with_suffix(".json")
    if sidecar.exists():  # taken by this step before a restart: the state before it changed
        kept = json.loads(sidecar.read_text())
        out.note(
            "migration_backup_kept",
            f"backup {path.name} taken before the restart is kept (nothing is backed up twice)",
            path=str(path),
            size=kept.get("size"),
            sha256=kept.get("sha256"),
        )
        return
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    before = sorted(applied_if_any(db))
    info: BackupInfo = db.backup(path, step.scratch_restore)
    record = {"path": str(path), "size": info.size, "sha256": info.sha256, "before": before}
    tmp = sidecar.with_suffix(".tmp")
    tmp.write_text(json.dumps(record))
    os.replace(tmp, sidecar)
    out.note(
        "migration_backup",
        f"backup {path.name}: {info.size} bytes, sha256 {info.sha256[:12]}…, {info.detail}",
        path=str(path),
        size=info.size,
        sha256=info.sha256,
    )


def applied_if_any(db: Database) -> set[int]:
    """The versions applied before this step (none when the version table is not there yet)."""
    try:
        return db.applied()
    except Exception:
        return set()


def record(path: Path) -> dict[str, object] | None:
    """The backup's record, or None when the step never got past taking it."""
    sidecar = path.with_suffix(".json")
    if not sidecar.exists():
        return None
    data: dict[str, object] = json.loads(sidecar.read_text())
    return data


def verified(path: Path) -> None:
    """Raise unless the backup is the one recorded (its SHA-256)."""
    found = record(path)
    if found is None or digest(path) != found.get("sha256"):
        raise OSError(f"the backup {path} does not match its checksum: not restored")


def digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
