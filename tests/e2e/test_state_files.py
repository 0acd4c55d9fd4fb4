"""Files in golive's state directory never turn golive against the user's other processes or
files: ``golive down`` signals only the process a pid file's record names, and crash.log is
never written through a symbolic link. The CLI as a subprocess; real processes."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from golive.cli.main import write_crash_log
from tests.e2e.test_cli import GOLIVE

pytestmark = pytest.mark.e2e


def golive(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """golive in a session of its own: if it signalled group 0 it could only stop itself."""
    return subprocess.run(
        [GOLIVE, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "300"},
        start_new_session=True,
    )


@pytest.fixture
def unrelated() -> Iterator[subprocess.Popen[bytes]]:
    """A process that is not golive's: its pid is what a stale pid file names."""
    proc = subprocess.Popen(["sleep", "30"], start_new_session=True)
    yield proc
    proc.kill()
    proc.wait(10)


def pid_file(workdir: Path, service: str, name: str, text: str) -> Path:
    path = workdir / ".golive" / "revisions" / service / f"{name}.pid"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_down_leaves_an_unrelated_process_named_by_a_pid_file_alive_and_says_why(
    tmp_path: Path, unrelated: subprocess.Popen[bytes]
) -> None:
    pid = unrelated.pid
    start = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    bare = pid_file(tmp_path, "shop", "canary", f"{pid}\n")  # an older golive's pid file
    reused = pid_file(  # golive's record, but the pid now belongs to a process started later
        tmp_path,
        "shop",
        "stable",
        json.dumps({"pid": pid, "start": start - 1, "cmdline": ["sleep", "30"], "exe": ""}),
    )
    result = golive("down", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert unrelated.poll() is None, "golive down signalled a process it did not start"
    out = " ".join(result.stdout.split())
    assert f"pid file .golive/revisions/shop/canary.pid holds only a pid ({pid})" in out
    assert (
        f"pid file .golive/revisions/shop/stable.pid names pid {pid}, which is now another "
        "process (sleep 30); not touching it"
    ) in out
    assert "nothing to stop" in out
    assert not bare.exists() and not reused.exists()  # reported once, then forgotten


def test_down_signals_nothing_for_pid_0_1_negative_or_garbage(tmp_path: Path) -> None:
    for service, text in (("a", "0"), ("b", "1"), ("c", "-5"), ("d", "garbage"), ("e", "")):
        pid_file(tmp_path, service, "canary", text)
    result = golive("down", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr  # not stopped by its own signal
    out = " ".join(result.stdout.split())
    for service, pid in (("a", "0"), ("b", "1"), ("c", "-5")):
        assert (
            f"pid file .golive/revisions/{service}/canary.pid names pid {pid}, never a process "
            "golive started; not touching it"
        ) in out
    for service in ("d", "e"):
        assert f".golive/revisions/{service}/canary.pid does not hold a pid record" in out
    assert "nothing to stop" in out
    assert list((tmp_path / ".golive" / "revisions").glob("*/*.pid")) == []


def broken_record(workdir: Path) -> None:
    """A rollout row whose state cannot be read back (test-only: golive never writes one)."""
    assert golive("token", "init", "admin", cwd=workdir).returncode == 0  # creates the database
    with sqlite3.connect(workdir / ".golive" / "golive.db") as db:
        db.execute(
            "INSERT INTO rollouts VALUES ('r1', 'shop', 'p', 'd', 't', 'progressing', '{}', 1, "
            "0, 0, NULL, NULL, NULL)"
        )


def test_a_row_that_cannot_be_read_is_reported_not_a_traceback(tmp_path: Path) -> None:
    broken_record(tmp_path)
    result = golive("status", "r1", cwd=tmp_path)
    assert result.returncode == 5, result.stderr
    assert "its stored state cannot be read" in " ".join(result.stderr.split())
    assert "Traceback" not in result.stdout + result.stderr
    listed = golive("status", cwd=tmp_path)  # issue #12.6: one bad row hid every rollout
    assert listed.returncode == 5, listed.stderr
    assert "UNREADABLE rollout r1: its stored state cannot be read" in listed.stdout


def test_crash_log_is_not_written_through_a_symlink(tmp_path: Path) -> None:
    target = tmp_path / "precious.txt"
    target.write_text("keep me\n")
    crash = tmp_path / "state" / "crash.log"
    crash.parent.mkdir(mode=0o700)
    crash.symlink_to(target)
    said = write_crash_log(crash, "Traceback ...")
    assert said == f"{crash} is a symbolic link, so the details were not written"
    assert target.read_text() == "keep me\n" and crash.is_symlink()


def test_crash_log_is_written_for_the_user_alone(tmp_path: Path) -> None:
    crash = tmp_path / "state" / "crash.log"
    said = write_crash_log(crash, "KeyError: 'desired'")
    assert str(crash) in said
    assert crash.stat().st_mode & 0o777 == 0o600
    assert crash.parent.stat().st_mode & 0o777 == 0o700
    assert "KeyError: 'desired'" in crash.read_text()
