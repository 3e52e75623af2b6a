"""The client-wide request budget: requests in flight, request rate, and the pause after a 429."""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio

__all__ = ["RequestBudget"]


class _PrioritySlots:
    """``total`` slots; a freed slot goes to the longest-waiting foreground request, else background."""

    def __init__(self, total: int) -> None:
        self.total = total
        self._free = total
        self._waiters: tuple[deque[anyio.Event], deque[anyio.Event]] = (deque(), deque())

    async def acquire(self, *, background: bool) -> None:
        if self._free and not (self._waiters[0] or self._waiters[1]):
            self._free -= 1
            return
        granted = anyio.Event()
        queue = self._waiters[background]
        queue.append(granted)
        try:
            await granted.wait()
        except BaseException:
            if granted.is_set():
                self.release()  # handed a slot while being cancelled: pass it on
            else:
                queue.remove(granted)
            raise

    def release(self) -> None:
        for queue in self._waiters:
            if queue:
                queue.popleft().set()  # the slot passes directly to the waiter
                return
        self._free += 1


class RequestBudget:
    """Client-wide pacing: at most N requests in flight, at most R started per second.

    Status polls are background requests: when requests queue for a slot, submissions, results and
    everything a caller asked for go first, so thousands of waiting jobs cannot starve new work. A 429
    or ``Retry-After`` from the server pauses every request of the client, not just the one that got it.
    """

    def __init__(self, *, max_concurrent: int, requests_per_second: float) -> None:
        self.slots = _PrioritySlots(max_concurrent)
        self._interval = 1.0 / requests_per_second
        self._next_start = 0.0
        self._paused_until = 0.0

    def pause(self, seconds: float) -> None:
        """Hold back every request for ``seconds`` from now."""
        self._paused_until = max(self._paused_until, anyio.current_time() + seconds)

    @asynccontextmanager
    async def slot(self, *, background: bool = False) -> AsyncIterator[None]:
        """Wait for a concurrency slot and a start time, held for the duration of one request."""
        await self.slots.acquire(background=background)
        try:
            while True:
                now = anyio.current_time()
                start = max(now, self._next_start, self._paused_until)
                if start <= now:
                    break
                await anyio.sleep(start - now)
            self._next_start = max(now, self._next_start) + self._interval
            yield
        finally:
            self.slots.release()
