"""The controller inside ``golive serve``: one asyncio task per active rollout, each driving it
with the engine's Runner exactly as ``golive run`` does (``operations.rollouts.drive``).

Every ``poll`` seconds (or at once when the API submits a plan or a resume) it reads the store:
a rollout that is active, or ended with a retirement pending, and that no task of this process
drives gets one, unless its lease is held by a live process on this host (a ``golive run`` in
a terminal, another ``golive serve``): that one is shown, not driven, until its owner dies and
the lease is free. The lease decides, in the store's transaction, so two servers on one state
directory never drive a rollout twice; the loser's Runner gets a LeaseError and this
controller looks again later.

``stop`` cancels every task: a cancelled Runner releases its lease and leaves the record and
the traffic as they are (the proxies keep running, as when ``golive run`` is interrupted), so
the next controller continues from the recorded step.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from pathlib import Path

from golive.core.actions import PassView
from golive.engine.clock import WakeableClock
from golive.errors import GoliveError, LeaseError, TamperedError
from golive.operations import rollouts
from golive.operations.trust import verified
from golive.store.base import Store
from golive.store.leases import controller_alive, owner_id
from golive.store.records import RolloutRecord

log = logging.getLogger("golive.server")
RETRY_AFTER = {LeaseError: 5.0, GoliveError: 30.0, Exception: 60.0}


class Controller:
    def __init__(self, store: Store, state_dir: Path, poll: float = 1.0) -> None:
        self.store, self.state_dir, self.poll = store, state_dir, poll
        self.me = owner_id(os.getpid())
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self._not_before: dict[str, float] = {}  # rollout -> when to try it again
        self._refused: set[str] = set()  # tampered: never driven
        self._wake = asyncio.Event()
        self._clocks: dict[str, WakeableClock] = {}  # rollout -> its runner's clock

    def wake(self, rollout_id: str | None = None) -> None:
        """Look at the store now (a plan was submitted, a resume given), and cut short the
        pause of ``rollout_id``'s runner, so its new command is acted on at once. A rollout
        whose drive stopped on an error (a full disk, a store that was locked) is tried again
        now rather than after its back-off: the person's command must not wait 30 s."""
        if rollout_id is not None:
            self._not_before.pop(rollout_id, None)
        self._wake.set()
        clock = self._clocks.get(rollout_id) if rollout_id else None
        if clock is not None:
            clock.wake()

    @property
    def driving(self) -> list[str]:
        return sorted(self.tasks)

    async def run(self) -> None:
        while True:
            try:
                await self.scan()
            except GoliveError as exc:  # the store cannot be read now: look again later
                log.warning("cannot read the store: %s", exc)
            except Exception:  # a bug in a scan must not leave every rollout undriven
                log.exception("controller: internal error while scanning; scanning again")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll):
                    await self._wake.wait()

    async def scan(self) -> None:
        now = time.monotonic()
        # every active rollout (not the newest few hundred: a server drives them all)
        due = {r.id: r for r in await self.store.active() if isinstance(r, RolloutRecord)}
        wall = time.time()  # the previous revision a watch window keeps: only once it is due
        due.update({r.id: r for r in await self.store.retiring() if r.state.retire_due(wall)})
        for rid, record in due.items():
            if rid in self.tasks or rid in self._refused or self._not_before.get(rid, 0) > now:
                continue
            owner = record.lease_owner
            if owner and owner != self.me and controller_alive(owner):
                continue  # a live process drives it: shown, not driven
            self.tasks[rid] = asyncio.create_task(self._drive(record), name=f"rollout {rid}")

    async def _drive(self, record: RolloutRecord) -> None:
        rid = record.id
        try:
            plan = await verified(self.store, record)
            log.info("driving rollout %s", rid)
            clock = self._clocks[rid] = WakeableClock()
            state = await rollouts.drive(self.store, record, plan, self.state_dir, _quiet, clock)
            log.info("rollout %s ended: %s", rid, state.phase.value)
        except TamperedError as exc:
            self._refused.add(rid)
            log.error("not driving rollout %s: %s", rid, exc)
        except LeaseError as exc:
            self._later(rid, LeaseError)
            log.info("rollout %s: %s", rid, exc)
        except GoliveError as exc:
            self._later(rid, GoliveError)
            log.warning("rollout %s stopped: %s; trying again later", rid, exc)
        except Exception:  # a bug in one rollout's loop must not stop the others
            self._later(rid, Exception)
            log.exception("rollout %s: internal error; trying again later", rid)
        finally:
            self.tasks.pop(rid, None)
            self._clocks.pop(rid, None)

    def _later(self, rid: str, kind: type[Exception]) -> None:
        self._not_before[rid] = time.monotonic() + RETRY_AFTER[kind]

    async def stop(self) -> None:
        """Cancel every rollout's task and wait for each to release its lease."""
        tasks = list(self.tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _quiet(view: PassView) -> None:
    """No terminal view in the server: the journal (and its event stream) tells it all."""
