"""ProcessDeployer: revisions as local processes started from an argv command.

Each process runs in its own session (so it survives a controller crash and is stopped as a
group), recorded per version under ``<state-dir>/revisions/<service>/<version>/`` with the
rollout that started it (:mod:`golive.deploy.ownership`), so that a later run can find, judge
and stop it, and with a clean environment (:mod:`golive.childenv`: the plan's ``env`` and a
minimal set; never golive's token nor the plan's other secrets). Readiness is an HTTP GET on
the plan's ``ready`` URL answering 2xx.

What golive owns, and so may stop: the canary this rollout started, and a stable that an
earlier rollout started (and promoted) at the plan's stable URL. A server golive did not start
is never stopped; one already answering on the canary's port is an error unless the plan says
``adopt: true``.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx

from golive.childenv import child_environment
from golive.core.results import Health
from golive.deploy.ownership import (
    LOG_FILE,
    PID_FILE,
    Owner,
    forget,
    running,
    version_dir,
    write_owner,
)
from golive.errors import PermanentError
from golive.files import private_dir
from golive.plan.model import Plan, Revision, RevisionSpec
from golive.processes import record_pid, refresh_pid, spawn, terminate


class ProcessDeployer:
    def __init__(self, plan: Plan, service_dir: Path, rollout: str) -> None:
        self.plan = plan
        self.service_dir = service_dir
        self.rollout = rollout
        self._client = httpx.AsyncClient(timeout=1.0, trust_env=False)
        self._exited: dict[Revision, int] = {}

    def directory(self, revision: Revision) -> Path:
        return version_dir(self.service_dir, self.plan.revision(revision).version)

    def _running(self, revision: Revision) -> tuple[int, Owner] | None:
        """golive's live process of this revision's version at this revision's URL."""
        live = running(self.directory(revision))
        if live is None or live[1].url != self.plan.revision(revision).url:
            return None
        return live

    def pid(self, revision: Revision) -> int | None:
        """The pid of the process golive owns for ``revision`` (see :meth:`owns`)."""
        live = self._running(revision)
        if live is None or not self._mine(revision, live[1]):
            return None
        return live[0]

    def _mine(self, revision: Revision, owner: Owner) -> bool:
        return revision is Revision.STABLE or owner.rollout == self.rollout

    async def owns(self, revision: Revision) -> bool:
        return self.pid(revision) is not None

    async def ensure(self, revision: Revision) -> None:
        spec = self.plan.revision(revision)
        if spec.process is None or self.pid(revision) is not None:
            return
        other = self._running(revision)
        if other is not None:
            raise PermanentError(_left_over(revision, spec, other, self.plan.service))
        if await self._ready(spec):
            if spec.process.adopt:
                return
            raise PermanentError(_occupied(revision, spec))
        await self._start(revision, spec)

    async def _start(self, revision: Revision, spec: RevisionSpec) -> None:
        assert spec.process is not None
        directory = self.directory(revision)
        private_dir(directory)
        try:
            env = child_environment(spec.process.env)
        except LookupError as exc:
            raise PermanentError(f"cannot start {revision}: {exc}") from None
        try:  # its umask stays the user's
            proc = await spawn(spec.process.command, directory / LOG_FILE, env=env)
        except OSError as exc:
            raise PermanentError(f"cannot start {revision} {spec.version}: {exc}") from exc
        self._exited.pop(revision, None)
        write_owner(
            directory, Owner(self.rollout, revision.value, spec.version, spec.url, time.time())
        )
        record_pid(directory / PID_FILE, proc.pid)
        asyncio.get_running_loop().create_task(self._reap(revision, proc))

    async def _reap(self, revision: Revision, proc: asyncio.subprocess.Process) -> None:
        code = await proc.wait()
        self._exited[revision] = code

    async def status(self, revision: Revision) -> Health:
        spec = self.plan.revision(revision)
        if spec.process is not None:  # what it runs now, after a wrapper's exec
            refresh_pid(self.directory(revision) / PID_FILE)
        ready = await self._ready(spec)
        if spec.process is None:
            return Health.READY if ready else Health.ABSENT
        if self.pid(revision) is not None:
            return Health.READY if ready else Health.STARTING
        if self._running(revision) is not None:
            return Health.OCCUPIED  # golive runs this version for another rollout
        if ready:
            return Health.READY if spec.process.adopt else Health.OCCUPIED
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
        if pid is None:
            return
        await terminate(pid)
        forget(self.directory(revision))

    async def aclose(self) -> None:
        await self._client.aclose()


def _occupied(revision: Revision, spec: RevisionSpec) -> str:
    assert spec.process is not None
    return (
        f"{revision} {spec.version}: something golive did not start already answers on "
        f"{spec.process.ready_url}; stop it, or set 'process: {{adopt: true}}' to use it as is"
    )


def _left_over(
    revision: Revision, spec: RevisionSpec, live: tuple[int, Owner], service: str
) -> str:
    pid, owner = live
    return (
        f"{revision} {spec.version}: golive already runs it for rollout {owner.rollout} "
        f"(pid {pid}, {owner.url}); 'golive down {service}' stops it"
    )
