"""Live updates for the widget and the inbox: Server-Sent Events over a plain HTTP response.

The store is the one source of truth. A stream looks at the store, sends what changed, then
sleeps until this process writes something (:meth:`Events.notify`) or ``poll_s`` passes, so a
write by another server on the same PostgreSQL store shows up too, at most ``poll_s`` late.
Streams end after ``max_s`` (browsers and the widget reconnect), at once when the server shuts
down (:meth:`Events.close`), and when the client goes away.

Example::

    events = Events()
    return sse_response(events.stream(request, lambda: {"queue": inbox.queue()}))
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from fastapi import Request
from fastapi.responses import StreamingResponse

# snapshot(): {event name: JSON-able data}; an event is sent when its data changed
Snapshot = Callable[[], Awaitable[dict[str, Any]]]


class Events:
    """Wakes the open streams of one app."""

    def __init__(self, poll_s: float = 3.0, max_s: float = 300.0) -> None:
        self.poll_s = poll_s
        self.max_s = max_s
        self.closing = False
        self._changed = asyncio.Event()

    def notify(self) -> None:
        """Something was written: every stream looks again (call it on the event loop)."""
        self._changed.set()
        self._changed = asyncio.Event()

    def close(self) -> None:
        """The server is stopping: streams end at their next wake-up."""
        self.closing = True

    async def stream(self, request: Request, snapshot: Snapshot) -> AsyncIterator[str]:
        """The SSE lines of one client: each event whose data differs from what it last got."""
        sent: dict[str, str] = {}
        ends = time.monotonic() + self.max_s
        yield f"retry: {int(self.poll_s * 1000)}\n\n"
        while not self.closing and time.monotonic() < ends:
            changed = self._changed  # before reading: a write during the read wakes us again
            for name, data in (await snapshot()).items():
                text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
                if sent.get(name) != text:
                    sent[name] = text
                    yield f"event: {name}\ndata: {text}\n\n"
            wait = min(self.poll_s, max(0.0, ends - time.monotonic()))
            try:
                await asyncio.wait_for(changed.wait(), wait)
            except TimeoutError:
                yield ": keep-alive\n\n"  # also finds out when the client is gone
            if await request.is_disconnected():
                return


def sse_response(lines: AsyncIterator[str]) -> StreamingResponse:
    return StreamingResponse(
        lines,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


__all__ = ["Events", "sse_response"]
