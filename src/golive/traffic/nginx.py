"""NginxRouter: a rendered configuration per split, checked with ``nginx -t``, then reloaded.

golive runs nginx (Debian's package) from a configuration it generates under
``<state-dir>/nginx/<service>/``. A new split is written to a candidate file, tested with
``nginx -t`` (a refused configuration changes nothing: the running one keeps serving), moved
into place atomically and loaded with a graceful reload (``SIGHUP``): old workers finish their
requests, for at most ``worker_shutdown_timeout``. What nginx runs is read back from a status
line each configuration serves on its own loopback port.

Attached to an nginx golive did not start (``route.attach``), golive owns one file that nginx's
``http`` block includes (upstreams, the segment map, the status server): each change is written
there, tested with ``nginx -t`` on nginx's own configuration (put back if refused) and loaded by
a ``SIGHUP`` to the master named in its pid file. golive never starts or stops that nginx.
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import httpx

from golive.atomic import write_atomically
from golive.errors import PermanentError, TransientError
from golive.files import PROXY_UMASK, private_dir, write_private
from golive.plan.model import NginxAttach, Plan, Split, Sticky
from golive.processes import master_pid, system_binary
from golive.proxy import nginx_config as nc
from golive.proxy.layout import proxy_dir
from golive.proxy.lifecycle import ProxyProcess, log_tail
from golive.proxy.ports import free_port
from golive.traffic.base import Upstreams, Verification, server_urls

START_TIMEOUT = 10.0


def _children(master: int) -> dict[int, str]:
    """The processes ``master`` forked, with their titles (Linux /proc)."""
    found: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            title = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == master:
            found[int(entry)] = title.strip()
    return found


def accepting(title: str) -> bool:
    """A worker still takes connections until it retitles itself "... is shutting down"; it
    closes its listening sockets right after, in the same turn of its event loop."""
    return "worker process" in title and "shutting down" not in title


def nginx_binary() -> str:
    return system_binary("nginx")


class NginxRouter:
    def __init__(
        self,
        workdir: Path,
        host: str,
        port: int,
        upstreams: Upstreams,
        sticky: Sticky | None = None,
        attach: NginxAttach | None = None,
    ) -> None:
        self.sticky = sticky
        self.workdir = workdir.absolute()
        self.host, self.port = host, port
        self.upstreams = server_urls(upstreams)
        self.attached = attach
        self.status_port_path = self.workdir / "status-port"
        if attach is None:
            self.config_path = self.workdir / "nginx.conf"
            self.pid_path = self.workdir / "nginx.pid"
            self.log_path = self.workdir / nc.ACCESS_LOG
        else:
            self.config_path = Path(attach.config)
            self.pid_path = Path(attach.pid)
            self.include_path = Path(attach.include)
            self.log_path = Path(attach.access_log or self.workdir / nc.ACCESS_LOG)
        self.process = ProxyProcess("nginx", self.pid_path)
        self._version = 0
        self._old_workers: set[int] = set()  # forked before golive's latest reload
        self._lock = asyncio.Lock()

    @classmethod
    def from_plan(cls, plan: Plan, state_dir: Path, index: int = 0) -> NginxRouter:
        upstreams = {"stable": plan.stable.urls, "canary": plan.canary.urls}
        host, port = plan.route.instance(index)
        workdir = proxy_dir(state_dir, "nginx", plan.service, index)
        given = plan.route.attach[index] if plan.route.attach else None
        attach = given if isinstance(given, NginxAttach) else None
        return cls(workdir, host, port, upstreams, plan.route.sticky, attach)

    @property
    def status_url(self) -> str:
        return f"http://127.0.0.1:{self.status_port_path.read_text().strip()}/golive"

    # -- lifecycle -----------------------------------------------------------------------------

    async def attach(self, initial: Split) -> bool:
        """Drive the nginx the plan names (golive's file installed, serving ``initial`` if it
        was not there), or golive's own still answering (an earlier run's, by its pid file);
        True when attached."""
        private_dir(self.workdir)
        private_dir(self.workdir / "scratch")
        if self.attached is not None:
            await self._take_over(initial)
            return True
        if self._pid() is None:
            return False
        try:
            self._version = (await self._served())[0]
        except TransientError:
            return False
        return True

    def died(self) -> bool:
        return self.attached is None and self.process.died()

    async def start(self, initial: Split) -> bool:
        """Attach to our running nginx (or the plan's), or start one serving ``initial``. True
        if started."""
        if await self.attach(initial):
            return False
        if self._pid() is not None:  # ours, but not answering
            await self.stop()
        write_private(self.status_port_path, str(free_port()))
        await self._install(initial)
        await self._launch()
        return True

    async def _take_over(self, initial: Split) -> None:
        """Take over someone else's nginx: read our file back, or install it and reload."""
        pid = self._pid()
        if pid is None:
            raise PermanentError(f"nginx is not running: no live process in {self.pid_path}")
        if self.status_port_path.exists() and self.include_path.exists():
            try:
                self._version = (await self._served())[0]
                return
            except TransientError:
                pass
        if not self.status_port_path.exists():
            write_private(self.status_port_path, str(free_port()))
        await self.apply(initial)
        deadline = asyncio.get_running_loop().time() + START_TIMEOUT
        while asyncio.get_running_loop().time() < deadline:
            try:
                await self._served()
                return
            except TransientError:
                await asyncio.sleep(0.05)
        raise PermanentError(
            f"nginx reloaded but does not serve golive's file {self.include_path}: "
            f"add 'include {self.include_path};' to its http block"
        )

    async def _launch(self) -> None:
        out = self.workdir / "nginx.out"
        await self.process.launch(
            [nginx_binary(), "-p", str(self.workdir), "-c", str(self.config_path),
             "-g", "daemon off;"],
            log=out,
            ready=self._answers,
            within=START_TIMEOUT,
            where=f"{self.host}:{self.port}",
            tail=lambda: log_tail(self.workdir / "error.log", out, lines=2),
            record_when_ready=True,  # the master, as golive started it
        )  # fmt: skip

    async def _answers(self) -> bool:
        try:
            await self._served()
        except TransientError:
            return False
        return True

    async def stop(self) -> None:
        if self.attached is not None:
            return  # never stop a proxy golive did not start
        await self.process.stop()

    async def aclose(self) -> None:
        return None

    def _pid(self) -> int | None:
        if self.attached is not None:  # their pid file, written by nginx: a bare number
            return master_pid(self.pid_path, "nginx: master process")
        return self.process.pid()

    async def _install(self, split: Split) -> None:
        """Render ``split``, test it with ``nginx -t``, and move it into place."""
        version = self._version + 1
        status_port = int(self.status_port_path.read_text())
        if self.attached is not None:
            await self._install_include(split, version, status_port)
            self._version = version
            return
        rendered = nc.render(
            str(self.workdir), self.host, self.port, status_port,
            self.upstreams, split, version, self.sticky,
        )  # fmt: skip
        candidate = self.workdir / "nginx.conf.next"
        write_private(candidate, rendered)
        await self._test("-p", str(self.workdir), "-c", str(candidate))
        await asyncio.to_thread(os.replace, candidate, self.config_path)
        self._version = version

    async def _install_include(self, split: Split, version: int, status_port: int) -> None:
        """nginx reads its included files only when it loads its configuration, so the new file
        can be written in place for ``nginx -t``; a refused one is put back as it was."""
        assert self.attached is not None
        rendered = nc.render_include(
            self.attached.upstream, status_port, self.upstreams, split, version, self.sticky
        )
        path = self.include_path
        before = path.read_text() if path.exists() else None
        await asyncio.to_thread(write_atomically, path, rendered)
        try:
            await self._test("-c", str(self.config_path))
        except PermanentError:
            if before is None:
                path.unlink(missing_ok=True)
            else:
                await asyncio.to_thread(write_atomically, path, before)
            raise

    async def _test(self, *args: str) -> None:
        proc = await asyncio.create_subprocess_exec(
            nginx_binary(), "-t", "-q", *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            umask=PROXY_UMASK if self.attached is None else -1,  # -t creates the logs it names
        )  # fmt: skip
        out, _ = await proc.communicate()
        if proc.returncode != 0:
            raise PermanentError(f"nginx refused the configuration: {out.decode().strip()}")

    async def _served(self) -> tuple[int, Split]:
        try:
            async with httpx.AsyncClient(
                trust_env=False, timeout=2.0
            ) as client:  # fresh connection
                resp = await client.get(self.status_url)
                resp.raise_for_status()
        except (httpx.HTTPError, OSError, ValueError) as exc:
            raise TransientError(f"cannot read nginx's status: {exc}") from exc
        return nc.parse_status(resp.text)

    # -- Router protocol -----------------------------------------------------------------------

    async def observe(self) -> Split:
        return (await self._served())[1]

    async def apply(self, split: Split) -> None:
        async with self._lock:
            await self._install(split)
            pid = self._pid()
            if pid is None:
                raise TransientError("nginx is not running")
            # every worker alive now runs an older configuration; new ones are forked after
            self._old_workers |= set(await asyncio.to_thread(_children, pid))
            os.kill(pid, signal.SIGHUP)  # graceful reload

    async def verify(self, split: Split) -> Verification:
        """Verified when the new configuration answers *and* every worker forked before golive's
        reload has stopped accepting connections.

        During a reload old and new workers both accept for a while (the master starts the new
        ones, waits, then tells the old ones to quit, and each old one acts on that when it next
        runs). Counting workers by title is not enough: a new worker is titled only once it
        runs, and nginx's worker count may change with the reload. So golive remembers which
        workers existed when it sent ``SIGHUP``, and waits until each of them has exited or
        retitled itself "worker process is shutting down".
        """
        version, served = await self._served()
        if version != self._version or served != split:
            return Verification.PENDING
        pid = self._pid()
        if pid is not None and self._old_workers:
            children = await asyncio.to_thread(_children, pid)
            self._old_workers &= set(children)  # exited ones are done
            if any(accepting(children[old]) for old in self._old_workers):
                return Verification.PENDING
        self._old_workers.clear()  # none will accept again; their pids may be reused later
        return Verification.VERIFIED

    async def reset(self) -> None:
        await self.apply(Split.all_stable())
