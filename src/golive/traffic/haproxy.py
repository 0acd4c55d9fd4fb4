"""HAProxyRouter: weights and segments through HAProxy's runtime API, never a reload.

golive can run HAProxy itself (``start``: a generated configuration on loopback, checked with
``haproxy -c`` first, started in its own session so it outlives a crashed controller, attached
to by pid file on later runs), or drive one it did not start (``attach``: the admin socket, the
backend and server names). Every change goes through the admin socket (``set weight``,
``add map``/``clear map``) and is read back (``get weight``, ``show map``); after each change
the servers' state is saved to the ``server-state-file`` so a reload keeps the weights.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from golive.atomic import write_atomically
from golive.errors import PermanentError, TransientError
from golive.files import private_dir, socket_dir, write_private
from golive.plan.model import HAProxyAttach, Plan, Segment, ShiftStep, Split, Sticky
from golive.processes import system_binary
from golive.proxy import haproxy_config as hc
from golive.proxy.haproxy_api import REQUESTS_LOG, RuntimeAPI, socket_path
from golive.proxy.layout import proxy_dir
from golive.proxy.lifecycle import ProxyProcess
from golive.traffic.base import Upstreams, Verification, server_urls

START_TIMEOUT = 10.0


def haproxy_binary() -> str:
    return system_binary("haproxy")


class HAProxyRouter:
    def __init__(
        self,
        workdir: Path,
        host: str,
        port: int,
        upstreams: Upstreams,
        segment_keys: tuple[str, ...] = (),
        sticky: Sticky | None = None,
        attach: HAProxyAttach | None = None,
    ) -> None:
        self.sticky = sticky
        self.workdir = workdir = workdir.absolute()  # HAProxy reads a relative socket as host:port
        self.host, self.port = host, port
        self.upstreams = server_urls(upstreams)
        self.attached = attach
        if attach is None:
            self.socket_path = socket_path(workdir)
            self.state_path: Path | None = workdir / "servers.state"
            n_stable, n_canary = len(self.upstreams["stable"]), len(self.upstreams["canary"])
            self.servers = hc.Servers.managed(n_stable, n_canary)
        else:  # someone else's HAProxy: its socket, backend and server names
            self.socket_path = Path(attach.socket)
            self.state_path = Path(attach.state_file) if attach.state_file else None
            self.servers = hc.Servers(attach.backend, attach.stable, attach.canary)
        self.api = RuntimeAPI(self.socket_path, self.servers)
        self.command = self.api.command
        self.config_path = workdir / "haproxy.cfg"
        self.pid_path = workdir / "haproxy.pid"
        self.log_path = workdir / "haproxy.log"
        self.requests_log = workdir / REQUESTS_LOG  # one line per request (latency)
        self.sticky_map = workdir / "sticky.map"
        self.process = ProxyProcess("HAProxy", self.pid_path)
        self.maps = {k: str(workdir / f"segment-{k.replace(':', '-')}.map") for k in segment_keys}
        if attach is not None:  # its own map files, which its configuration routes by
            self.maps = dict(attach.maps)
            self.sticky_map = Path(attach.sticky_map) if attach.sticky_map else self.sticky_map

    @classmethod
    def from_plan(cls, plan: Plan, state_dir: Path, index: int = 0) -> HAProxyRouter:
        keys = sorted(
            {
                hc.segment_key(s.segment)
                for s in plan.steps
                if isinstance(s, ShiftStep) and s.segment
            }
        )
        upstreams = {"stable": plan.stable.urls, "canary": plan.canary.urls}
        workdir = proxy_dir(state_dir, "haproxy", plan.service, index)
        host, port = plan.route.instance(index)
        given = plan.route.attach[index] if plan.route.attach else None
        attach = given if isinstance(given, HAProxyAttach) else None
        return cls(workdir, host, port, upstreams, tuple(keys), plan.route.sticky, attach)

    # -- lifecycle -----------------------------------------------------------------------------

    async def attach(self, initial: Split) -> bool:
        """Drive the HAProxy the plan names, or golive's own already running the configuration
        rendered for ``initial`` (an earlier run's, by its pid file); True when attached.

        An HAProxy golive did not start is only checked: reachable, and every named server in
        the backend (a PermanentError says what is missing). It is never started or stopped by
        golive.
        """
        private_dir(self.workdir)
        if self.attached is not None:
            await self._check_attached()
            return True
        socket_dir(self.socket_path)
        if self._pid() is None or not self._same_config(self._render(initial)):
            return False
        return await self.api.alive()

    def died(self) -> bool:
        return self.process.died()

    async def start(self, initial: Split) -> bool:
        """Attach to our running HAProxy (or the plan's), or start one serving ``initial``.
        True if started."""
        if await self.attach(initial):
            return False
        assert self.state_path is not None
        rendered = self._render(initial)
        if self._pid() is not None:  # ours, but another configuration or not answering
            await self.stop()
        for key, path in self.maps.items():
            wanted = initial.segment and hc.segment_key(initial.segment) == key
            seg = initial.segment if wanted else None
            write_atomically(Path(path), f"{hc.map_key(seg)} 1\n" if seg else "")
        write_atomically(self.sticky_map, f"cut {hc.cut(initial, self.servers)}\n")
        self.state_path.unlink(missing_ok=True)
        write_private(self.config_path, rendered)
        await self._check_config()
        await self._launch()
        return True

    def _render(self, initial: Split) -> str:
        assert self.state_path is not None
        return hc.render(
            self.host, self.port, self.upstreams, str(self.socket_path), str(self.state_path),
            self.maps, initial, self.sticky, str(self.sticky_map),
        )  # fmt: skip

    async def _check_attached(self) -> None:
        if not await self.api.alive():
            raise PermanentError(
                f"no HAProxy answers on the admin socket {self.socket_path}; "
                "is it running, with 'stats socket ... level admin'?"
            )
        await self.api.check_servers()
        maps = [*self.maps.values(), *([str(self.sticky_map)] if self.sticky else [])]
        for path in maps:
            await self.api.map_command(f"show map {path}")

    async def _check_config(self) -> None:
        proc = await asyncio.create_subprocess_exec(
            haproxy_binary(), "-c", "-f", str(self.config_path),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        out, _ = await proc.communicate()
        if proc.returncode != 0:
            alerts = [ln for ln in out.decode(errors="replace").splitlines() if "ALERT" in ln]
            raise PermanentError(f"HAProxy refused the configuration: {' | '.join(alerts[:3])}")

    async def _launch(self) -> None:
        self.socket_path.unlink(missing_ok=True)
        await self.process.launch(
            [haproxy_binary(), "-f", str(self.config_path)],
            log=self.log_path,
            stdout=self.requests_log,  # one line per request: the latency golive judges
            ready=self.api.alive,
            within=START_TIMEOUT,
            where=f"{self.host}:{self.port}",
        )

    async def stop(self) -> None:
        if self.attached is not None:
            return  # never stop a proxy golive did not start
        await self.process.stop()

    async def aclose(self) -> None:
        return None

    def _pid(self) -> int | None:
        return self.process.pid()

    def _same_config(self, rendered: str) -> bool:
        try:
            return self.config_path.read_text() == rendered
        except OSError:
            return False

    # -- Router protocol -----------------------------------------------------------------------

    async def observe(self) -> Split:
        backend, names = self.servers.backend, self.servers.all()
        answer = await self.command("; ".join(f"get weight {backend}/{n}" for n in names))
        lines = [ln for ln in answer.splitlines() if ln.strip()]
        if len(lines) < len(names):
            raise TransientError(f"HAProxy answered {answer.strip()!r} to get weight")
        weights = {n: hc.parse_weight(line) for n, line in zip(names, lines, strict=False)}
        segments: list[Segment] = []
        for key, path in sorted(self.maps.items()):
            patterns = hc.parse_map(await self.api.map_command(f"show map {path}"))
            segments += [hc.segment_from(key, p) for p in patterns]
        return hc.served(weights, self.servers, segments)

    async def apply(self, split: Split) -> None:
        """The weights first, nothing before them (a rollback's write must not wait): servers
        and maps were checked when golive started or attached. A split that adds a segment reads
        its maps first, so a missing one refuses it before anything changes."""
        if split.segment is not None and hc.segment_key(split.segment) not in self.maps:
            raise PermanentError(
                f"HAProxy was configured without a map for the {split.segment.describe()} "
                "segment; restart golive's HAProxy (golive down) to add it"
            )
        shown = await self._maps() if split.segment is not None else None
        wanted = hc.weights(split, self.servers)
        # non-zero weights first: no moment may leave every server at weight 0
        order = sorted(wanted, key=lambda server: wanted[server] == 0)
        backend = self.servers.backend
        answer = await self.command(
            "; ".join(f"set weight {backend}/{server} {wanted[server]}" for server in order)
        )
        if answer.strip():
            raise PermanentError(f"HAProxy refused the weights: {answer.strip()}")
        await self._apply_segment(split.segment, shown if shown is not None else await self._maps())
        if self.sticky is not None:
            cut = hc.cut(split, self.servers)
            await self.api.map_command(f"set map {self.sticky_map} cut {cut}")
            await asyncio.to_thread(write_atomically, self.sticky_map, f"cut {cut}\n")
        if self.state_path is not None:
            state = await self.command("show servers state")
            await asyncio.to_thread(write_atomically, self.state_path, state)

    async def _maps(self) -> dict[str, list[str]]:
        """What each segment map holds (reading it also proves it exists)."""
        return {k: hc.parse_map(await self.api.map_command(f"show map {path}"))
                for k, path in self.maps.items()}  # fmt: skip

    async def _apply_segment(self, segment: Segment | None, shown: dict[str, list[str]]) -> None:
        for key, path in self.maps.items():
            wanted = hc.map_key(segment) if segment and hc.segment_key(segment) == key else None
            if shown[key] == ([wanted] if wanted else []):
                continue
            cmd = f"clear map {path}" + (f"; add map {path} {wanted} 1" if wanted else "")
            await self.api.map_command(cmd)
            text = f"{wanted} 1\n" if wanted else ""
            await asyncio.to_thread(write_atomically, Path(path), text)

    async def verify(self, split: Split) -> Verification:
        served = await self.observe()
        if served != hc.quantize(split, self.servers):
            return Verification.PENDING
        if self.sticky is not None:
            entries = (await self.api.map_command(f"show map {self.sticky_map}")).split()
            if entries[-1:] != [str(hc.cut(split, self.servers))]:
                return Verification.PENDING
        return Verification.VERIFIED

    async def reset(self) -> None:
        await self.apply(Split.all_stable())
