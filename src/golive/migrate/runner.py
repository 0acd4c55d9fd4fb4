"""One migrate step, forward or rolled back, start to end: blocking, run in a thread by the engine.

Forward: take the lock, back up before anything changes (the backup's size, checksum and path
go to the journal; a restart reuses the backup it took), stop on a marker left by a controller
that stopped mid-migration (never re-running a statement blindly), enter read-only mode, apply
what is not applied, verify, leave read-only mode. Rollback: the down files of what this step
applied, or the backup restored (its checksum checked first).
"""

from __future__ import annotations

import operator
import os
import re
import subprocess
from pathlib import Path
from typing import Literal

import httpx

from golive.migrate import backup
from golive.migrate.backup import backup_path
from golive.migrate.database import Database, LockBusy, MigrationFailed
from golive.migrate.files import MigrationFileError, discover
from golive.migrate.outcome import Outcome, Stopped
from golive.migrate.postgres import PostgresDatabase
from golive.migrate.sqlite import SQLiteDatabase, sqlite_path
from golive.plan.model import Hook, MigrateStep
from golive.secrets import reveal

HOOK_TIMEOUT = 60.0
Mode = Literal["down", "restore"]
_OPS = {"<=": operator.le, ">=": operator.ge, "==": operator.eq, "!=": operator.ne,
        "<": operator.lt, ">": operator.gt}  # fmt: skip


def open_database(step: MigrateStep) -> Database:
    url = reveal(step.database)
    if step.engine == "sqlite":
        return SQLiteDatabase(url, step.statement_timeout, step.lock_timeout)
    return PostgresDatabase(url, step.statement_timeout, step.lock_timeout)


def forward(
    step: MigrateStep, state_dir: Path, rollout: str, index: int, out: Outcome | None = None
) -> Outcome:
    """``out`` (the caller's) gathers the events as they happen: read while it runs, a backup
    is in the journal before the first statement, whatever happens after."""
    out = out if out is not None else Outcome()
    # an earlier attempt of this step got past its backup: it may have changed the database
    out.changed = backup.record(backup_path(state_dir, rollout, index, step.engine)) is not None
    try:
        db = open_database(step)
    except Exception as exc:
        out.status, out.message = "failed", f"cannot connect to the database: {_first(exc)}"
        return out
    try:
        db.lock()
        backup.take(db, step, state_dir, rollout, index, out)
        out.in_journal()  # the backup is recorded before the database changes
        out.changed = True
        db.prepare()
        if step.alembic:
            return _alembic(step, out)
        migrations = discover(Path(step.directory))
        labels = {m.version: m.label for m in migrations}
        left = db.marks()
        if left:
            said = "; ".join(m.describe(labels.get(m.version, str(m.version))) for m in left)
            out.status, out.message = (
                "held",
                (
                    f"a controller stopped in the middle of a migration: {said}. Nothing is run "
                    "again on its own"
                ),
            )
            return out
        _hook(step.enter_read_only, "enter read-only mode", out)
        try:
            applied = db.applied()
            for mig in migrations:
                if mig.version not in applied:
                    out.check()
                    db.forward(mig)
                    out.note("migration_applied", f"{mig.label} applied", version=mig.version)
            _verify(db, step, out)
        finally:
            _hook(step.leave_read_only, "leave read-only mode", out)
    except (MigrationFailed, MigrationFileError, OSError, ValueError, LookupError) as exc:
        out.status, out.message = "failed", _first(exc)
    except Stopped as exc:
        out.status, out.message = "failed", str(exc)
    except LockBusy as exc:
        out.status, out.message = "held", str(exc)
    except Exception as exc:  # a database error outside a statement (connection lost, ...)
        out.status, out.message = "failed", f"{type(exc).__name__}: {_first(exc)}"
    finally:
        db.close()
    return out


def rollback(
    step: MigrateStep,
    state_dir: Path,
    rollout: str,
    index: int,
    mode: Mode,
    out: Outcome | None = None,
) -> Outcome:
    out = out if out is not None else Outcome()
    path = backup_path(state_dir, rollout, index, step.engine)
    taken = backup.record(path)
    if taken is None:  # it never got past its backup: no change
        out.message = "nothing to roll back: the migration stopped before changing the database"
        return out
    try:
        db = open_database(step)
    except Exception as exc:
        out.status, out.message = "failed", f"cannot connect to the database: {_first(exc)}"
        return out
    try:
        db.lock()
        if mode == "restore":
            backup.verified(path)
            db.restore(path)
            out.note("migration_restored", f"database restored from {path}", path=str(path))
        else:
            listed = taken.get("before")
            before = set(listed) if isinstance(listed, list) else set()
            for mig in reversed(discover(Path(step.directory))):
                if mig.version in db.applied() and mig.version not in before:
                    db.down(mig)
                    out.note("migration_reverted", f"{mig.label} reverted (down)")
            db.clear_marks()
        out.message = f"database rolled back ({mode})"
    except (MigrationFailed, MigrationFileError, OSError, ValueError, KeyError) as exc:
        out.status, out.message = "failed", _first(exc)
    except LockBusy as exc:
        out.status, out.message = "held", str(exc)
    except Exception as exc:
        out.status, out.message = "failed", f"{type(exc).__name__}: {_first(exc)}"
    finally:
        db.close()
    return out


def _alembic(step: MigrateStep, out: Outcome) -> Outcome:
    env = dict(os.environ, DATABASE_URL=reveal(step.database))
    done = subprocess.run(
        list(step.alembic), env=env, capture_output=True, text=True, timeout=step.timeout
    )
    if done.returncode != 0:
        out.status = "failed"
        out.message = f"alembic exited with {done.returncode}: {_tail(done.stderr)}"
    else:
        out.note("migration_applied", f"{' '.join(step.alembic[:3])}: done")
    return out


def _verify(db: Database, step: MigrateStep, out: Outcome) -> None:
    for a in step.verify:
        value = db.scalar(a.sql)
        if not _meets(value, a.expect):
            raise ValueError(f"verify: {a.sql!r} gave {value!r}, expected {a.expect!r}")
    if step.verify:
        out.note("migration_verified", f"{len(step.verify)} assertion(s) hold")


def _meets(value: object, expect: object) -> bool:
    if isinstance(expect, str) and (
        m := re.match(r"^\s*(<=|>=|==|!=|<|>)\s*(-?\d+(\.\d+)?)\s*$", expect)
    ):
        try:
            return bool(_OPS[m[1]](float(str(value)), float(m[2])))
        except ValueError:
            return False
    if expect is None:
        return value is not None and value is not False
    return value == expect or str(value) == str(expect)


def _hook(hook: Hook | None, what: str, out: Outcome) -> None:
    if hook is None:
        return
    if hook.command:
        done = subprocess.run(list(hook.command), capture_output=True, timeout=HOOK_TIMEOUT)
        if done.returncode != 0:
            raise OSError(f"{what}: {hook.command[0]} exited with {done.returncode}")
    elif hook.url is not None:
        response = httpx.post(reveal(hook.url), timeout=HOOK_TIMEOUT)
        if response.status_code >= 300:
            raise OSError(f"{what}: the hook answered {response.status_code}")
    out.note("migration_hook", what)


def _first(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _tail(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1] if lines else "no message"


__all__ = ["Outcome", "backup_path", "forward", "rollback", "sqlite_path"]
