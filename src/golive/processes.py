"""Supervising the processes golive starts: who they are, whether they live, how they stop.

golive records every process it starts in a pid file and stops it by that record, SIGTERM
first. A pid alone does not name a process for long: once it exits, the kernel hands the
number to the next process, and a later ``golive down`` would signal a stranger. So a pid
file holds the pid *and* what identifies that process: its start time (``/proc/PID/stat``
field 22, clock ticks since boot, fixed for the process's life), the boot it belongs to, and
its command line. Every reader goes through :func:`check_pid_file`, which yields the pid only
when the live process still matches; a file that names another process, or that cannot be
verified (a bare number from an older golive, garbage, 0, 1, a negative pid, our own pid), is
reported and removed, never signalled.

The command line matches when it is the one recorded, or what a wrapper exec'd into (the
recorded one ends with it: ``python .venv/bin/envoy -c ...`` becomes ``.venv/bin/envoy -c
...``), or the process runs the recorded executable under a new title (nginx's "master
process"). A revision's record follows its process (:func:`refresh_pid`, while it is the one
started: same pid, boot and start time), so a shell wrapper's ``exec`` is recorded too.

One record, one JSON line::

    {"pid": 4242, "start": 1734623, "boot": "6f1c...", "cmdline": ["/usr/bin/envoy", "-c",
     "..."], "exe": "/usr/bin/envoy"}
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from golive.atomic import write_atomically
from golive.errors import PermanentError
from golive.files import append_private

PID_MAX = 2**22  # Linux's ceiling for pid_max


@dataclass(frozen=True, slots=True)
class PidCheck:
    """What a pid file says: ``pid`` when its process is alive and is the one recorded;
    otherwise ``None`` and, when the file was wrong rather than merely stale, ``problem``."""

    pid: int | None
    problem: str = ""


@dataclass(frozen=True, slots=True)
class Identity:
    start: int
    cmdline: tuple[str, ...]
    exe: str


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is not alive
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][0] != "Z"
    except OSError:
        return True


def identity(pid: int) -> Identity | None:
    """The running process ``pid``'s start time, command line and executable (Linux /proc)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()  # the name in parentheses may hold anything
    try:
        exe = os.readlink(f"/proc/{pid}/exe")
    except OSError:
        exe = ""
    cmdline = tuple(part.decode(errors="replace") for part in raw.split(b"\0") if part)
    start = fields[19] if len(fields) > 19 else ""
    return Identity(int(start), cmdline, exe) if start.isdigit() else None


def boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def record_pid(pid_path: Path, pid: int) -> None:
    """Write the pid file of a process golive has just started (its exec has happened:
    ``asyncio.create_subprocess_exec`` returns after it), with what identifies it."""
    found = identity(pid)
    deadline = time.monotonic() + 1.0
    while found is not None and not found.cmdline and time.monotonic() < deadline:
        time.sleep(0.005)  # between an exec's steps (a wrapper exec'ing the real binary)
        found = identity(pid)
    if found is None:  # it exited already: nothing to record, nothing to stop later
        pid_path.unlink(missing_ok=True)
        return
    record = {
        "pid": pid,
        "start": found.start,
        "boot": boot_id(),
        "cmdline": list(found.cmdline),
        "exe": found.exe,
    }
    write_atomically(pid_path, json.dumps(record) + "\n")


def refresh_pid(pid_path: Path) -> None:
    """Record again what the process in ``pid_path`` runs now, if it is still the one started
    (same pid, boot and start time) and its command line changed (a wrapper's ``exec``)."""
    try:
        record = json.loads(pid_path.read_text())
        pid, start, boot = record["pid"], record["start"], record.get("boot", "")
        recorded = tuple(record["cmdline"])
    except (OSError, ValueError, TypeError, KeyError):
        return
    found = identity(pid) if isinstance(pid, int) and 1 < pid <= PID_MAX else None
    same = found is not None and found.start == start and boot == boot_id()
    if same and found is not None and found.cmdline and found.cmdline != recorded:
        record_pid(pid_path, pid)


def check_pid_file(pid_path: Path) -> PidCheck:
    """The pid recorded in ``pid_path`` when that very process is still alive.

    A pid file whose process ended is removed silently. One that names another process now,
    holds a bare number (an older golive's, which cannot be verified) or anything else is
    removed and comes back with ``problem``, the sentence to show; its pid is never given out.
    """
    try:
        text = pid_path.read_text(errors="replace")
    except FileNotFoundError:
        return PidCheck(None)
    except OSError as exc:
        return PidCheck(None, f"pid file {pid_path} cannot be read ({exc.strerror}); not using it")
    check = _verify(pid_path, text)
    if check.pid is None:
        pid_path.unlink(missing_ok=True)
    return check


def _verify(pid_path: Path, text: str) -> PidCheck:
    try:
        record = json.loads(text)
        pid, start = record["pid"], record["start"]
        cmdline = tuple(record["cmdline"])
        exe, boot = str(record.get("exe", "")), str(record.get("boot", ""))
        if not isinstance(pid, int) or not isinstance(start, int):
            raise TypeError(pid)
    except (ValueError, TypeError, KeyError):
        return _unverifiable(pid_path, text)
    if refused := _refused(pid_path, pid):
        return refused
    found = identity(pid)
    if found is None or not pid_alive(pid):
        return PidCheck(None)  # it ended: the file is merely stale
    if found.start != start or boot != boot_id() or not _same_command(found, cmdline, exe):
        return PidCheck(
            None,
            f"pid file {pid_path} names pid {pid}, which is now another process "
            f"({' '.join(found.cmdline)[:80] or 'no command line'}); not touching it",
        )
    return PidCheck(pid)


def _same_command(found: Identity, cmdline: tuple[str, ...], exe: str) -> bool:
    # none (now, or when it was recorded): between an exec's steps, for a moment; the pid, boot
    # and start time, already compared, are what identify the process then
    if found.cmdline == cmdline or not found.cmdline or not cmdline:
        return True
    exec_by_wrapper = bool(found.cmdline) and cmdline[-len(found.cmdline) :] == found.cmdline
    retitled = bool(exe) and found.exe == exe  # nginx rewrites its command line, not its binary
    return exec_by_wrapper or retitled


def _unverifiable(pid_path: Path, text: str) -> PidCheck:
    bare = text.strip()
    if re.fullmatch(r"-?[0-9]{1,20}", bare):
        pid = int(bare)
        if refused := _refused(pid_path, pid):
            return refused
        if not pid_alive(pid):
            return PidCheck(None)
        return PidCheck(
            None,
            f"pid file {pid_path} holds only a pid ({pid}), without what identifies the "
            "process golive started (an older golive wrote it); not touching it: stop "
            "that process yourself if it is golive's",
        )
    return PidCheck(None, f"pid file {pid_path} does not hold a pid record; not touching it")


def _refused(pid_path: Path, pid: int) -> PidCheck | None:
    """0, 1 and negative pids signal groups or init; our own pid would stop golive."""
    if pid <= 1 or pid > PID_MAX or pid == os.getpid():
        what = "golive itself" if pid == os.getpid() else "never a process golive started"
        return PidCheck(None, f"pid file {pid_path} names pid {pid}, {what}; not touching it")
    return None


def warn(problem: str) -> None:
    """Show a pid-file problem found while a rollout runs (the CLI's own verbs print theirs)."""
    if problem:
        print(f"golive: {problem}", file=sys.stderr)


def live_pid(pid_path: Path) -> int | None:
    """The pid recorded in ``pid_path``, if that very process is alive (see check_pid_file)."""
    check = check_pid_file(pid_path)
    warn(check.problem)
    return check.pid


def master_pid(pid_path: Path, title: str) -> int | None:
    """The pid in a pid file golive did not write (an nginx it attaches to), when the live
    process's command line starts with ``title``; refused like a recorded pid otherwise. The
    file is theirs: it is never removed."""
    try:
        text = pid_path.read_text().strip()
        pid = int(text)
    except (OSError, ValueError):
        return None
    if _refused(pid_path, pid) is not None or not pid_alive(pid):
        return None
    found = identity(pid)
    if found is None or not " ".join(found.cmdline).startswith(title):
        warn(f"pid file {pid_path} names pid {pid}, which is not {title}; not touching it")
        return None
    return pid


def holds_listener(pid: int, port: int) -> bool:
    """Whether process ``pid`` holds a socket listening on TCP ``port`` (Linux /proc)."""
    wanted = {f"socket:[{inode}]" for inode in _listening_inodes(port)}
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds if wanted else ():
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") in wanted:
                return True
        except OSError:
            continue
    return False


def listeners_of(port: int) -> list[int]:
    """The processes holding a socket listening on TCP ``port`` that golive may inspect
    (its user's, or all as root), lowest pid first (Linux /proc)."""
    wanted = {f"socket:[{inode}]" for inode in _listening_inodes(port)}
    found = []
    for entry in os.listdir("/proc") if wanted else ():
        if not entry.isdigit():
            continue
        try:
            fds = os.listdir(f"/proc/{entry}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{entry}/fd/{fd}") in wanted:
                    found.append(int(entry))
                    break
            except OSError:
                continue
    return sorted(found)


def _listening_inodes(port: int) -> set[str]:
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            f = row.split()  # sl local_address rem_address st ... uid timeout inode
            if len(f) > 9 and f[3] == "0A" and int(f[1].rpartition(":")[2], 16) == port:
                inodes.add(f[9])
    return inodes


async def spawn(
    argv: Sequence[str],
    log: Path,
    *,
    stdout: Path | None = None,
    env: Mapping[str, str] | None = None,
    umask: int = -1,
) -> asyncio.subprocess.Process:
    """Start ``argv`` as golive starts every process: in its own session (it outlives a crashed
    controller and is stopped as a group), no standard input, its output appended to private
    logs (``stdout`` apart from ``log`` when given). The one place a process is launched: a
    proxy (:mod:`golive.proxy.lifecycle`) and a revision (:mod:`golive.deploy.process`)."""
    with contextlib.ExitStack() as files:
        err = files.enter_context(append_private(log))
        out = err if stdout is None else files.enter_context(append_private(stdout))
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env=env,
            start_new_session=True,
            umask=umask,
        )
    _outliving(proc)
    return proc


# Processes golive started that may outlive the event loop that started them (a proxy or a
# canary keeps serving after `golive run` ends, and is stopped later by its pid). Their asyncio
# objects are kept until the process is seen to exit: dropped while it runs, they would be
# closed by the garbage collector at a random moment, with "subprocess is still running"
# warnings (and closing the transport would kill the process).
_STARTED: set[asyncio.subprocess.Process] = set()


def _outliving(proc: asyncio.subprocess.Process) -> None:
    _STARTED.add(proc)

    def exited(task: asyncio.Task[int]) -> None:
        if not task.cancelled():  # cancelled: the loop ended first, the process still runs
            _STARTED.discard(proc)

    asyncio.get_running_loop().create_task(proc.wait()).add_done_callback(exited)


async def terminate(pid: int, grace: float = 5.0) -> None:
    """SIGTERM ``pid``'s process group, wait up to ``grace`` seconds, then SIGKILL it.

    Only a group ``pid`` leads is signalled as a group (golive starts each process in its own
    session); otherwise the process alone."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 2.0)):
        try:
            if os.getpgid(pid) == pid:
                os.killpg(pid, sig)
            else:
                os.kill(pid, sig)
        except ProcessLookupError:
            return
        except PermissionError:
            os.kill(pid, sig)
        deadline = asyncio.get_running_loop().time() + wait
        while asyncio.get_running_loop().time() < deadline:
            if not pid_alive(pid):
                return
            await asyncio.sleep(0.05)


async def stop_recorded(pid_path: Path, child: asyncio.subprocess.Process | None = None) -> None:
    """Stop the process recorded in ``pid_path`` (``terminate``) and forget its pid file.

    ``child``, when this process started it, is reaped too, so its transport closes.
    """
    pid = live_pid(pid_path)
    if pid is not None:
        await terminate(pid)
    if child is not None:
        await child.wait()
    pid_path.unlink(missing_ok=True)


def system_binary(name: str) -> str:
    """A Debian-packaged binary (``haproxy``, ``nginx``): on PATH or in the sbin directories."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")
    if found is None:
        raise PermanentError(f"the {name} binary was not found; install it (apt install {name})")
    return found
