"""A real multi-worker WSGI application for the proxy tests: httpbin on gunicorn.

gunicorn (``gthread``, 2 workers x 4 threads, keep-alive 2 s by default) is what golive's users
run behind a proxy, and it behaves as no toy server does: it closes idle keep-alive
connections after 2 s, its master respawns a killed worker. httpbin answers as usual; a thin
WSGI wrapper adds ``x-version`` so a test can tell which revision answered.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from golive.proxy.ports import free_port

ROOT = Path(__file__).resolve().parent.parent


def _wrapped() -> Callable[..., Iterable[bytes]]:
    from httpbin import app as httpbin_app  # only inside gunicorn's workers

    version = os.environ.get("GOLIVE_TEST_VERSION", "?")

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        def start(status: str, headers: list[tuple[str, str]], *exc: Any) -> Any:
            return start_response(status, [*headers, ("x-version", version)], *exc)

        return httpbin_app(environ, start)  # type: ignore[no-any-return]

    return app


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    global _app
    if _app is None:
        _app = _wrapped()
    return _app(environ, start_response)


_app: Callable[..., Iterable[bytes]] | None = None


@dataclass
class Gunicorn:
    proc: subprocess.Popen[bytes]
    port: int
    version: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def workers(self) -> list[int]:
        """The master's live worker processes (Linux /proc)."""
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[1]) == self.proc.pid and fields[0] != "Z":
                found.append(int(entry))
        return found

    def busy_workers(self) -> list[int]:
        """Workers holding a connection on the app's port (a request in flight, or kept alive)."""
        established = _established_inodes(self.port)
        busy = []
        for pid in self.workers():
            try:
                fds = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
            except OSError:
                continue
            if any(fd in established for fd in fds):
                busy.append(pid)
        return busy

    def kill_workers(self) -> list[int]:
        """SIGKILL every worker; the master respawns them."""
        killed = self.workers()
        for pid in killed:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return killed

    def kill(self) -> None:
        """SIGKILL the master and its workers: the revision is dead."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn {self.version} exited ({self.proc.returncode})")
            try:
                # a new connection each time: every worker must have come back
                answer = httpx.get(self.url + "/status/200", timeout=1.0, trust_env=False)
                if answer.is_success and len(self.workers()) >= 2:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"gunicorn {self.version} did not answer within {timeout}s")


def _established_inodes(port: int) -> set[str]:
    inodes = set()
    for row in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        f = row.split()  # sl local rem st ... inode
        if f[3] == "01" and int(f[1].rpartition(":")[2], 16) == port:
            inodes.add(f"socket:[{f[9]}]")
    return inodes


def start_gunicorn(version: str, workers: int = 2, threads: int = 4) -> Gunicorn:
    port = free_port()
    env = {**os.environ, "GOLIVE_TEST_VERSION": version, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "-w",
            str(workers),
            "--threads",
            str(threads),
            "-k",
            "gthread",
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "tests.realapp:application",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    app = Gunicorn(proc, port, version)
    try:
        app.wait_ready()
    except BaseException:
        app.kill()
        raise
    return app


@contextlib.contextmanager
def gunicorn_apps(*versions: str) -> Iterator[list[Gunicorn]]:
    """One gunicorn per version; every one stopped (its whole session) at the end."""
    started: list[Gunicorn] = []
    try:
        for version in versions:
            started.append(start_gunicorn(version))
        yield started
    finally:
        for app in started:
            if app.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(app.proc.pid, signal.SIGTERM)
                try:
                    app.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    app.kill()
