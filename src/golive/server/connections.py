"""How long a connection may take to send a request's head (its request line and headers).

uvicorn closes a connection idle between two requests (its keep-alive timeout), but not one
that has started a request and never finishes its head: such connections are held for ever,
and anyone who reaches the port could hold every file descriptor of the server, which its
controller needs too (the state database, the proxies' admin endpoints). This protocol is
uvicorn's own, and closes a connection whose next request head has not arrived within
``HEAD_SECONDS`` of the connection opening or of the previous response ending. A request in
progress (an event stream, a plan being uploaded) is never cut.
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.h11_impl import H11Protocol, RequestResponseCycle

HEAD_SECONDS = 10.0


class HeadTimeout(H11Protocol):
    _late: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._late is not None:
            self._late.cancel()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._late is not None:
            self._late.cancel()
        self._late = self.loop.call_later(HEAD_SECONDS, self._close_if_no_head, self.cycle)

    def _close_if_no_head(self, armed_for: RequestResponseCycle | None) -> None:
        """Closed when no new request head came since it was armed and none is answered."""
        if self.transport.is_closing() or self.cycle is not armed_for:
            return
        if self.cycle is None or self.cycle.response_complete:
            self.transport.close()
