"""ProcessDeployer: revisions as local processes started from an argv command.

Each process runs in its own session (so it survives a controller crash and is stopped as a
group), with its pid in a file under the state directory so that a later run can find, judge
and stop it. Readiness is an HTTP GET on the plan's ``ready`` URL answering 2xx. A revision
without a ``process`` is already running at its URL: golive checks it but never stops it.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import httpx

from golive.deploy.base import Health
from golive.errors import PermanentError
from golive.plan.model import Plan, Revision, RevisionSpec
from golive.processes import live_pid, record_pid, refresh_pid, terminate


class ProcessDeployer:
    def __init__(self, plan: Plan, workdir: Path) -> None:
        self.plan = plan
        self.workdir = workdir
        self._client = httpx.AsyncClient(timeout=1.0, trust_env=False)
        self._exited: dict[Revision, int] = {}

    def _pid_path(self, revision: Revision) -> Path:
        return self.workdir / f"{revision.value}.pid"

    def pid(self, revision: Revision) -> int | None:
        return live_pid(self._pid_path(revision))

    async def ensure(self, revision: Revision) -> None:
        spec = self.plan.revision(revision)
        if spec.process is None or self.pid(revision) is not None:
            return
        if await self._ready(spec):
            raise PermanentError(
                f"{revision} {spec.version}: something else already answers on "
                f"{spec.process.ready_url}; stop it or give the revision without "
                "a process"
            )
        self.workdir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **dict(spec.process.env)}
        log = self.workdir / f"{revision.value}.log"
        with log.open("ab") as out:
            try:
                proc = await asyncio.create_subprocess_exec(
                    *spec.process.command,
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=out,
                    stderr=out,
                    env=env,
                    start_new_session=True,
                )
            except OSError as exc:
                raise PermanentError(f"cannot start {revision}: {exc}") from exc
        self._exited.pop(revision, None)
        record_pid(self._pid_path(revision), proc.pid)
        asyncio.get_running_loop().create_task(self._reap(revision, proc))

    async def _reap(self, revision: Revision, proc: asyncio.subprocess.Process) -> None:
        code = await proc.wait()
        self._exited[revision] = code

    async def status(self, revision: Revision) -> Health:
        spec = self.plan.revision(revision)
        if spec.process is not None:  # what it runs now, after a wrapper's exec
            refresh_pid(self._pid_path(revision))
        if await self._ready(spec):
            return Health.READY
        if spec.process is None:
            return Health.ABSENT
        if self.pid(revision) is not None:
            return Health.STARTING
        return Health.FAILED if revision in self._exited else Health.ABSENT

    async def _ready(self, spec: RevisionSpec) -> bool:
        url = spec.process.ready_url if spec.process else spec.url
        try:
            resp = await self._client.get(url)
        except httpx.HTTPError:
            return False
        return resp.is_success

    async def retire(self, revision: Revision) -> None:
        pid = self.pid(revision)
        if pid is not None:
            await terminate(pid)
        self._pid_path(revision).unlink(missing_ok=True)

    async def aclose(self) -> None:
        await self._client.aclose()
