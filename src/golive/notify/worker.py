"""The outbox worker: sends what the store's outbox holds, at least once, never in the way of
a shift or a rollback.

It is its own asyncio task with short transactions on the controller's store: the
reconcile loop writes notices with its commits and never awaits a delivery. Each round claims a
batch of due notices (one worker per process; a claim held by a dead process is free at once,
so a controller killed mid-send has its notices sent again by the next one, with the same
ids), sends them in order per channel (the channels side by side) with a rate limit per
channel and a timeout per request, and settles each: sent; pending again after a backoff
with jitter; or, past the channel's attempts, failed with its last error (``golive status``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import random
import time
from collections.abc import AsyncIterator, Callable

import httpx

from golive.notify import apprise, send
from golive.notify.notice import Delivery, Notice, OutboxItem, Outcome
from golive.store.base import Store
from golive.store.export import chain_head
from golive.store.leases import owner_id

log = logging.getLogger("golive.notify")
MAX_DELAY = 300.0
SUMMARIES = ("succeeded", "rolled_back")
ENDED = ("promoted", "rolled_back", "aborted", "failed")
WAIT = 10.0  # seconds golive run waits, once its rollout has ended, for its last notices


class Bucket:
    """At most ``rate`` sends per second to one channel (a burst of one second's worth)."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.clock = rate, clock
        self.tokens, self.at = max(1.0, rate), clock()
        self._lock = asyncio.Lock()

    async def take(self) -> None:
        async with self._lock:
            now = self.clock()
            self.tokens = min(max(1.0, self.rate), self.tokens + (now - self.at) * self.rate)
            self.at = now
            if self.tokens < 1.0:
                await asyncio.sleep((1.0 - self.tokens) / self.rate)
                self.tokens, self.at = 1.0, self.clock()
            self.tokens -= 1.0


class Worker:
    def __init__(
        self, store: Store, owner: str, *, batch: int = 50, idle: float = 0.25,
        backoff: float = 1.0, concurrency: int = 8, hold: float = 900.0,
        rng: random.Random | None = None,
    ) -> None:  # fmt: skip
        self.store, self.owner, self.batch, self.idle = store, owner, batch, idle
        self.backoff, self.hold = backoff, hold
        self.rng = rng or random.Random()
        self._slots = asyncio.Semaphore(concurrency)
        self._buckets: dict[str, Bucket] = {}
        self._client: httpx.AsyncClient | None = None

    async def run(self) -> None:
        """Send until cancelled; a store that cannot be read is retried, never fatal."""
        try:
            while True:
                try:
                    sent = await self.round()
                except Exception as exc:  # the worker must outlive a bad round
                    log.warning("notifications: %s", exc)
                    sent = 0
                if sent == 0:
                    await asyncio.sleep(self.idle)
        finally:
            with contextlib.suppress(Exception):
                await self.store.release_outbox(self.owner)
            await self.close()

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def round(self) -> int:
        """Claim one batch of due notices and settle each; how many were claimed."""
        items = await self.store.claim_outbox(self.owner, time.time(), self.batch, self.hold)
        lanes: dict[tuple[str, str], list[OutboxItem]] = {}
        for it in items:  # one channel's messages in order; the channels side by side
            lanes.setdefault((it.notice.channel, str(it.notice.target.get("url"))), []).append(it)
        await asyncio.gather(*(self._lane(lane) for lane in lanes.values()))
        return len(items)

    async def _lane(self, items: list[OutboxItem]) -> None:
        for it in items:
            await self._one(it)

    async def drain(self, rollout_id: str, within: float) -> bool:
        """Send until nothing of ``rollout_id`` is pending, at most ``within`` seconds (what
        ``golive run`` does before it exits); whether nothing is left pending."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            left = [i for i in await self.store.outbox(rollout_id)
                    if i.status is Delivery.PENDING]  # fmt: skip
            if not left:
                return True
            if await self.round() == 0:
                await asyncio.sleep(min(self.idle, max(0.0, deadline - time.monotonic())))
        return False

    async def _one(self, item: OutboxItem) -> None:
        n = item.notice
        t = n.target
        bucket = self._buckets.setdefault(n.channel, Bucket(float(str(t.get("rate", 5.0)))))
        timeout = float(str(t.get("timeout", 10.0)))
        async with self._slots:
            await bucket.take()
            try:
                n = await self._sealed(n)
                await self._attempt(n, timeout)
            except send.SendError as exc:
                outcome = self._retry(item, str(exc))
            except Exception as exc:  # a bug in a plugin is a failed attempt, not a crash
                outcome = self._retry(item, f"{type(exc).__name__}")
            else:
                outcome = Outcome(Delivery.SENT)
        with contextlib.suppress(Exception):  # unsettled: claimed again once the hold ends
            await self.store.settle_outbox(n.id, outcome, time.time())
        if outcome.status is Delivery.FAILED:
            log.warning("notification %s to %s failed: %s", n.id, n.channel, outcome.error)

    async def _sealed(self, n: Notice) -> Notice:
        """A summary carries the journal's head as of the rollout's end (the public SHA-256
        chain of ``golive audit export``): a third party checks an export against it. The
        journal only grows, so every attempt of one message says the same."""
        if n.kind not in SUMMARIES:
            return n
        events = await self.store.events(n.rollout_id)
        end = next((i for i, e in enumerate(events) if e.kind in ENDED), len(events) - 1)
        head = chain_head(n.rollout_id, events[: end + 1])
        said = (
            f"\nJournal head: {head.public} ({head.events} entries); check an export with "
            f"'golive audit verify --file FILE --head {head.public}'."
        )
        return dataclasses.replace(
            n, text=n.text + said, data={**n.data, "journal_head": head.public}
        )

    async def _attempt(self, n: Notice, within: float) -> None:
        kind = n.target.get("kind")
        if kind == "webhook":
            if self._client is None:
                self._client = httpx.AsyncClient(follow_redirects=False)
            await send.post(self._client, n, within)
        elif kind == "apprise":
            await apprise.deliver(n, within)
        else:
            raise send.SendError(f"channel {n.channel}: unknown kind {kind!r}")

    def _retry(self, item: OutboxItem, error: str) -> Outcome:
        attempts = int(str(item.notice.target.get("attempts", 8)))
        if item.attempts + 1 >= attempts:
            return Outcome(Delivery.FAILED, f"after {item.attempts + 1} attempts: {error}")
        first = float(str(item.notice.target.get("backoff", self.backoff)))
        delay = min(MAX_DELAY, first * 2**item.attempts) * self.rng.uniform(0.5, 1.5)
        return Outcome(Delivery.PENDING, error, time.time() + delay)


@contextlib.asynccontextmanager
async def sending(store: Store, rollout_id: str | None = None) -> AsyncIterator[Worker]:
    """The process's worker, running while the block runs. When the block ends normally
    (``golive run``: the rollout ended), what ``rollout_id`` still has pending is given up to
    ``GOLIVE_NOTIFY_WAIT`` seconds (10 by default) to go out; interrupted, it stops at once and
    the next worker sends the rest. It is never awaited by the reconcile loop.

    It shares the controller's store: with a second SQLiteStore on the same file in this
    process, a reader in another process that opened and closed the database deleted its
    write-ahead log under the controller (tests/e2e/test_readers.py)."""
    worker = Worker(store, owner_id(os.getpid()))
    task = asyncio.create_task(worker.run(), name="golive-notify")
    ended = False
    try:
        yield worker
        ended = True
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        try:
            with contextlib.suppress(Exception):  # what the task had claimed is due again
                await store.release_outbox(worker.owner)
            if ended and rollout_id is not None:
                with contextlib.suppress(Exception):
                    await worker.drain(rollout_id, _wait())
        finally:
            await worker.close()


def _wait() -> float:
    try:
        return max(0.0, min(3600.0, float(os.environ.get("GOLIVE_NOTIFY_WAIT", WAIT))))
    except ValueError:
        return WAIT
