"""Whatever a pid file holds, reading it never gives out a pid golive cannot vouch for."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import sys
import time
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from golive.processes import check_pid_file, pid_alive, spawn, terminate


@pytest.mark.parametrize(
    "text",
    ["0", "1", "-5", "--5", "99999999999999999999", "4194305", "1e3", "[1]", "", "garbage",
     '{"pid": "12", "start": 1, "cmdline": []}', '{"pid": 0, "start": 1, "cmdline": []}',
     '{"pid": true, "start": 1, "cmdline": []}', '{"pid": 99999999999, "start": 1, "cmdline": []}'],
)  # fmt: skip
def test_a_pid_file_golive_cannot_vouch_for_gives_no_pid_and_is_removed(
    tmp_path: Path, text: str
) -> None:
    path = tmp_path / "x.pid"
    path.write_text(text)
    check = check_pid_file(path)
    assert check.pid is None and "not touching it" in check.problem
    assert not path.exists()


def test_golives_own_pid_is_never_given_out(tmp_path: Path) -> None:
    path = tmp_path / "x.pid"
    path.write_text(str(os.getpid()))
    assert "golive itself" in check_pid_file(path).problem
    path.write_text(json.dumps({"pid": os.getpid(), "start": 0, "cmdline": []}))
    assert "golive itself" in check_pid_file(path).problem


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=64) | st.integers().map(str).map(str.encode))
def test_no_content_makes_reading_a_pid_file_fail(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "x.pid"
    path.write_bytes(data)
    check = check_pid_file(path)
    assert check.pid is None or check.pid not in (0, 1, os.getpid())


def test_a_process_recorded_between_its_execs_steps_is_still_recognised(tmp_path: Path) -> None:
    """Envoy's wrapper exec's the real binary; a record read in that instant had no command
    line, and the next 'golive run' disowned golive's own Envoy ("now another process"), left
    it running and found the listen port busy."""
    import subprocess
    import sys

    from golive.processes import boot_id, identity

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        found = identity(child.pid)
        assert found is not None
        pid_file = tmp_path / "x.pid"
        record = {"pid": child.pid, "start": found.start, "boot": boot_id(), "cmdline": [],
                  "exe": ""}  # fmt: skip
        pid_file.write_text(json.dumps(record))
        assert check_pid_file(pid_file).pid == child.pid
        other = {**record, "start": found.start + 1}  # another process under a reused pid
        pid_file.write_text(json.dumps(other))
        assert check_pid_file(pid_file).pid is None
    finally:
        child.kill()
        child.wait()


def test_a_process_that_outlives_its_event_loop_is_left_alone_by_the_garbage_collector(
    tmp_path: Path,
) -> None:
    """Flake (a loaded suite run): a proxy or canary started in one test's event loop, still
    running after it, was closed by the garbage collector during a later test ('subprocess is
    still running', 'unclosed transport'), which then failed."""

    async def start() -> int:
        proc = await spawn([sys.executable, "-c", "import time; time.sleep(30)"], tmp_path / "log")
        return proc.pid

    pid = asyncio.run(start())
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        assert pid_alive(pid)  # it outlived its loop, as a proxy outlives `golive run`
        asyncio.run(terminate(pid))  # stopped later, by its pid, from another loop
        deadline = time.monotonic() + 10
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.01)  # until asyncio's child watcher (its own thread) has reaped it
        time.sleep(0.1)
        gc.collect()
        found = [str(w.message) for w in seen if issubclass(w.category, ResourceWarning)]
    assert not found, found
