"""Calls made in the same turn of the event loop, answered by one call for all of them.

A server drives a thousand rollouts over one SQLite connection: each pass records a
measurement and reads its pending commands, and a thread hop per call (``asyncio.to_thread``
and the connection's lock) made the store, not the CPU, the reconcile loop's limit. Coalesced
calls cost one hop per turn (and the measurements one transaction); each caller still gets
its own answer or its own exception.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")
Many = Callable[[list[K]], Awaitable[list[V | Exception]]]


class Coalesced(Generic[K, V]):
    def __init__(self, many: Many[K, V]) -> None:
        self._many = many
        self._waiting: list[tuple[K, asyncio.Future[V]]] = []
        self._flushing: asyncio.Task[None] | None = None

    async def __call__(self, key: K) -> V:
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._waiting.append((key, future))
        if self._flushing is None:
            self._flushing = asyncio.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        try:
            await asyncio.sleep(0)  # the other callers of this turn join the batch
        finally:
            batch, self._waiting, self._flushing = self._waiting, [], None
        try:
            answers = await self._many([key for key, _ in batch])
        except Exception as exc:  # the whole batch failed (the database): each caller hears it
            answers = [exc] * len(batch)
        except BaseException as exc:  # cancelled: the callers must not wait forever
            for _, future in batch:
                if not future.done():
                    future.cancel()
            raise exc
        for (_, future), answer in zip(batch, answers, strict=True):
            if future.done():  # its caller was cancelled
                continue
            if isinstance(answer, Exception):
                future.set_exception(answer)
            else:
                future.set_result(answer)
