"""Server-sent events of one rollout: its journal entries and its measurements, live.

Each journal entry is sent with ``id:`` its journal sequence number, so a client that
reconnects with ``Last-Event-ID`` (browsers do it themselves) gets what it missed and nothing
twice; measurements carry no id and resume from the time of that entry. A stream is bounded:
it ends once the rollout has settled (an ``end`` event), after ``events_max_seconds`` (the
client reconnects), when the server stops, or once its token is revoked or expires; a
comment every ``keepalive`` seconds keeps idle proxies from cutting it. Data lines are JSON
on one line, so no text from a plan or a person can forge an SSE field.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from golive.identity import Identity
from golive.server.app import Context, Feed
from golive.server.auth import Refused, still_valid
from golive.server.reads import find, measurement_json
from golive.store.base import Store
from golive.store.records import StoredEvent

BACKLOG = 600  # measurements sent on a fresh connection, at most (the latest)
RECHECK = 2.0  # seconds between two checks that the stream's token is still valid


def _resume_from(request: Request) -> int:
    raw = request.headers.get("last-event-id") or request.query_params.get("after") or "0"
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:  # '²' is a digit to isdigit
        raise Refused(400, "Last-Event-ID must be a journal sequence number")
    return int(raw)


def _journal(e: StoredEvent) -> str:
    data = {"seq": e.seq, "at": e.at, "kind": e.kind, "message": e.message, "data": e.data}
    return f"id: {e.seq}\nevent: journal\ndata: {json.dumps(data, default=str)}\n\n"


async def stream(request: Request, who: Identity | None, ctx: Context) -> Response:
    record = await find(ctx.store, request.path_params["id"])
    after = _resume_from(request)
    if ctx.streams >= ctx.max_streams:
        raise Refused(429, f"{ctx.max_streams} event streams are open; try again later",
                      {"Retry-After": "5"})  # fmt: skip
    caller = who.user if who is not None else "anyone"
    if ctx.streams_of.get(caller, 0) >= ctx.max_streams_per_caller:  # one user cannot take all
        raise Refused(429, f"{caller} has {ctx.max_streams_per_caller} event streams open; "
                      "close one first", {"Retry-After": "5"})  # fmt: skip

    async def valid() -> bool:
        return await still_valid(request, ctx.store, ctx.sessions)

    return StreamingResponse(
        _events(ctx, ctx.store, record.id, after, valid, caller),
        media_type="text/event-stream",
        headers={"X-Accel-Buffering": "no"},
    )


async def _events(
    ctx: Context, store: Store, rollout_id: str, seq: int, valid: Callable[[], Awaitable[bool]],
    caller: str,
) -> AsyncIterator[str]:  # fmt: skip
    ctx.streams += 1
    ctx.streams_of[caller] = ctx.streams_of.get(caller, 0) + 1
    feed = ctx.feeds.setdefault(rollout_id, Feed())
    feed.followers += 1
    try:
        async for chunk in _follow(ctx, store, rollout_id, seq, valid):
            yield chunk
    finally:
        ctx.streams -= 1
        ctx.streams_of[caller] -= 1
        if not ctx.streams_of[caller]:
            del ctx.streams_of[caller]
        feed.followers -= 1
        if feed.followers == 0 and ctx.feeds.get(rollout_id) is feed:
            del ctx.feeds[rollout_id]


async def _read(ctx: Context, store: Store, rollout_id: str) -> Feed:
    """The rollout's journal, measurements and whether it settled, as one read shared by every
    stream that follows it (read again once older than half a poll)."""
    feed = ctx.feeds.setdefault(rollout_id, Feed())
    async with feed.lock:
        if time.monotonic() - feed.read_at >= ctx.events_poll / 2:
            events = await store.events(rollout_id)
            measured = await store.measurements(rollout_id)
            settled = (await store.load(rollout_id)).state.idle(time.time())
            if settled:  # entries committed with the last state were read before it: once more
                events = await store.events(rollout_id)
            feed.events, feed.measurements, feed.settled = events, measured, settled
            feed.read_at = time.monotonic()
    return feed


async def _follow(
    ctx: Context, store: Store, rollout_id: str, seq: int, valid: Callable[[], Awaitable[bool]]
) -> AsyncIterator[str]:
    started = last_sent = checked = time.monotonic()
    since = -1.0  # measurements after this time
    if seq:
        journal = (await _read(ctx, store, rollout_id)).events
        if not journal or seq > journal[-1].seq:  # an id this journal never had (a state
            seq = 0  # directory restored from a backup): everything, not silence
        seen = [e for e in journal if e.seq <= seq]
        since = seen[-1].at if seen else -1.0
    first = True
    yield "retry: 2000\n\n"
    while True:
        if time.monotonic() - checked >= RECHECK:  # a token revoked (or expired) meanwhile
            checked = time.monotonic()
            if not await valid():
                yield 'event: end\ndata: {"reason": "unauthorized"}\n\n'
                return
        feed = await _read(ctx, store, rollout_id)
        new = [e for e in feed.events if e.seq > seq]
        out = [_journal(e) for e in new]
        if new:
            seq = new[-1].seq
        measured = [m for m in feed.measurements if m[0] > since]
        if first:
            measured, first = measured[-BACKLOG:], False
        for m in measured:
            out.append(f"event: measurement\ndata: {json.dumps(measurement_json(m))}\n\n")
            since = m[0]
        if feed.settled:
            yield "".join(out) + 'event: end\ndata: {"reason": "settled"}\n\n'
            return
        if out:
            last_sent = time.monotonic()
            yield "".join(out)
        if ctx.stopping or time.monotonic() - started > ctx.events_max_seconds:
            yield 'event: end\ndata: {"reason": "reconnect"}\n\n'
            return
        if time.monotonic() - last_sent >= ctx.keepalive:
            last_sent = time.monotonic()
            yield ": keep-alive\n\n"
        await asyncio.sleep(ctx.events_poll)
