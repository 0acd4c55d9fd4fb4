"""``golive down``: the explicit "stop everything" verb, and it says what it stops.

First it completes the retirements that ended rollouts still have pending (a controller died
while draining), recording each in the rollout's journal; it does not drain, stopping is what
was asked. Then it stops every other process golive owns, by service and version, naming the one
that serves production; then the proxies golive started.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import assert_never

from rich.console import Console

from golive.cli.session import open_store
from golive.core.state import Event, Phase
from golive.deploy.ownership import OwnedProcess, owned_processes, stop
from golive.deploy.process import ProcessDeployer
from golive.errors import GoliveError, LeaseError
from golive.files import socket_path
from golive.plan.kinds import ROUTERS
from golive.plan.loader import parse_plan
from golive.processes import check_pid_file, stop_recorded
from golive.store.base import Store
from golive.store.leases import owner_id
from golive.store.records import RolloutRecord


async def down(state_dir: Path, service: str | None, console: Console) -> int:
    stopped = 0
    roles: dict[tuple[str, str], str] = {}
    if (state_dir / "golive.db").exists():  # down never creates a record where there is none
        store = open_store(state_dir)
        for record in await store.retiring(service):
            stopped += await _retire_pending(store, record, state_dir, console)
        roles = await _roles(store)
    processes = owned_processes(state_dir / "revisions", service)
    if any(roles.get((p.service, p.owner.version), "").startswith("serving") for p in processes):
        console.print("golive down stops everything golive started, production included:")
    for process in processes:
        role = roles.get((process.service, process.owner.version)) or _left_over(process)
        await stop(process)
        stopped += 1
        console.print(
            f"stopped {process.service} {process.owner.version} (pid {process.pid}, "
            f"{process.owner.url}): {role}",
            markup=False,
        )
    stopped += await _stop_proxies(state_dir, service, console)
    if not stopped:
        console.print("nothing to stop")
    return 0


async def _retire_pending(
    store: Store, record: RolloutRecord, state_dir: Path, console: Console
) -> int:
    """Stop what ``record`` still has to retire and record it done; the number stopped."""
    me = owner_id(os.getpid())
    try:
        await store.acquire_lease(record.id, me, 30.0, time.time())
    except LeaseError as exc:
        console.print(f"rollout {record.id}: {exc}, which retires what it has pending")
        return 0
    try:
        plan = parse_plan(record.plan_text, record.plan_path)
        deployer = ProcessDeployer(plan, state_dir / "revisions" / plan.service, record.id)
        events: list[Event] = []
        try:
            for revision in record.state.retiring:
                pid = deployer.pid(revision)
                if pid is None:
                    continue  # gone already, or never golive's to stop
                await deployer.retire(revision)
                version = plan.revision(revision).version
                message = f"{revision} {version} stopped by golive down (not drained)"
                events.append(Event("retired", message, {"revision": revision.value}))
                console.print(
                    f"stopped {plan.service} {version} (pid {pid}): {revision} of rollout "
                    f"{record.id}, {record.state.phase.value}, retirement pending",
                    markup=False,
                )
        finally:
            await deployer.aclose()
        state = record.state.retired(record.state.retiring)
        await store.commit(state, events, record.version, time.time(), owner=me)
        return len(events)
    finally:
        await store.release_lease(record.id, me)


async def _roles(store: Store) -> dict[tuple[str, str], str]:
    """(service, version) -> what it is now, from each service's latest rollout."""
    roles: dict[tuple[str, str], str] = {}
    seen: set[str] = set()
    for record in await store.recent(limit=200):
        if not isinstance(record, RolloutRecord) or record.service in seen:
            continue
        seen.add(record.service)
        try:
            plan = parse_plan(record.plan_text, record.plan_path)
        except GoliveError:
            continue
        s, key = record.state, record.service
        match s.phase:
            case Phase.PROGRESSING | Phase.PAUSED | Phase.ROLLING_BACK:
                w = s.desired.canary_weight
                roles[key, plan.stable.version] = f"serving production: stable, {100 - w:g}%"
                roles[key, plan.canary.version] = (
                    f"serving production: canary of {record.id}, {w:g}%"
                )
            case Phase.PROMOTED:
                version = plan.canary.version
                roles[key, version] = f"serving production: stable, promoted by {record.id}"
            case Phase.ROLLED_BACK | Phase.ABORTED | Phase.FAILED:
                roles[key, plan.stable.version] = "serving production: stable"
            case _:
                assert_never(s.phase)
    return roles


def _left_over(process: OwnedProcess) -> str:
    return f"{process.owner.role} started by {process.owner.rollout}, no longer serving"


async def _stop_proxies(state_dir: Path, service: str | None, console: Console) -> int:
    """The proxies golive started (every router kind golive runs), by their pid files under
    ``<router>/<service>/`` (and the processes of golive before one directory per version,
    ``revisions/<service>/<role>.pid``)."""
    stopped = 0
    launched = {k.name: k.launch for k in ROUTERS.kinds() if k.launch is not None}
    found = [p for d in (*launched, "revisions") for p in state_dir.glob(f"{d}/*/*.pid")]
    for pid_file in sorted(found):
        if service and pid_file.parent.name != service:
            continue
        check = check_pid_file(pid_file)  # only the process recorded there, never another
        if check.problem:
            console.print(check.problem, markup=False)
        pid = check.pid
        await stop_recorded(pid_file)
        # a proxy may leave its sockets behind (maybe in the temp dir, for a long state dir)
        launch = launched.get(pid_file.parent.parent.name)
        for name in launch.leaves if launch else ():
            socket_path(pid_file.parent, name).unlink(missing_ok=True)
        if pid is not None:
            stopped += 1
            console.print(f"stopped {pid_file.parent.name} {pid_file.stem} (pid {pid})")
    return stopped
