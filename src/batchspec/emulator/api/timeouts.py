"""Connection deadlines: a client that sends its request slowly, or opens connections and sends
nothing, cannot hold the service's connections for ever.

uvicorn closes a keep-alive connection that stays idle between requests, but it waits without
limit for the first byte of a new connection, for the rest of a request head, and for a body:
200 half-open connections, or a body sent at 1 byte a second, were kept open indefinitely. This
protocol gives every request HEAD_TIMEOUT seconds for its request line and headers (counted
from the connection's opening or from its first byte after a response) and BODY_TIMEOUT seconds
for its body; a request that misses its deadline has its connection closed.
"""

from __future__ import annotations

import asyncio

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

HEAD_TIMEOUT = 30.0
BODY_TIMEOUT = 60.0
"""Batch bodies are under 1 MiB: a minute is ample on any link the loopback service serves."""


class TimedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with deadlines for request heads and bodies."""

    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(HEAD_TIMEOUT)

    def data_received(self, data: bytes) -> None:
        before = self.conn.their_state
        super().data_received(data)
        now = self.conn.their_state
        if now is h11.IDLE:
            if self._deadline is None:  # the first bytes of a request head
                self._arm(HEAD_TIMEOUT)
        elif now is h11.SEND_BODY:
            if before is not h11.SEND_BODY:  # the head is complete: the body's turn
                self._arm(BODY_TIMEOUT)
        else:
            self._disarm()  # the request is in; answering it has no deadline here

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()
