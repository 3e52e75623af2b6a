"""The client's job poller: one per client, serving every job that is being waited on.

No background task: each waiting coroutine sleeps for the delay its ``PollPlanner`` chose, then asks
the poller for a fresh status. The poller guarantees at most one status request in flight per job
(concurrent waiters on the same job share it), and all requests go through the client's request
budget. Cancelling a waiter stops its polling at once and leaves nothing running.

Jobs that can wait (deep in a queue, or with no hint of when they finish) are polled at most every
``max_interval`` seconds — or less often when so many jobs wait that together they would send more
than ``max_polls_per_second``: then each such job is polled every ``waiting jobs / max_polls_per_second``
seconds. Jobs expected to finish soon are polled on their own schedule.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from uuid import UUID

import anyio

from ._polling import DurationStats, PollPlanner
from .models import JobData

__all__ = ["FRESH_SECONDS", "JobPoller"]

FRESH_SECONDS = 1.0


class _Flight:
    __slots__ = ("done", "error", "result")

    def __init__(self) -> None:
        self.done = anyio.Event()
        self.result: JobData | None = None
        self.error: Exception | None = None


class JobPoller:
    """Shares status requests between waiters and schedules them adaptively.

    Args:
        fetch: coroutine ``fetch(job_id, background=...)`` that GETs a job's status through the
            client's request layer; polls are sent as background requests.
        min_interval: shortest delay between status requests of one job.
        max_interval: longest delay between status requests of one job (while few jobs wait).
        max_polls_per_second: status requests per second that the longest delays add up to at most.
    """

    def __init__(
        self,
        fetch: Callable[..., Awaitable[JobData]],
        *,
        min_interval: float = 0.025,
        max_interval: float = 5.0,
        max_polls_per_second: float = 100.0,
        seed: int | None = None,
    ) -> None:
        self._fetch = fetch
        self._inflight: dict[UUID, _Flight] = {}
        self.stats = DurationStats()
        self._min = min_interval
        self._max = max_interval
        self._max_polls_per_second = max_polls_per_second
        self._waiters = 0
        self._rng = random.Random(seed)

    @property
    def waiters(self) -> int:
        """Jobs being waited on now."""
        return self._waiters

    def _max_interval(self, wanted: float | None = None) -> float:
        longest = self._max if wanted is None else wanted
        return max(longest, self._waiters / self._max_polls_per_second)

    def planner(self, max_interval: float | None = None) -> PollPlanner:
        """A new planner sharing this client's execution-time statistics (``max_interval``: its own longest gap)."""
        longest = self._max if max_interval is None else max_interval
        return PollPlanner(self.stats, min_interval=self._min, max_interval=longest, rng=self._rng)

    async def refresh(self, job_id: UUID, *, background: bool = False) -> JobData:
        """Fetch the job's status, joining a request already in flight for the same job."""
        while True:
            flight = self._inflight.get(job_id)
            if flight is None:
                break
            await flight.done.wait()
            if flight.result is not None:
                return flight.result
            if flight.error is not None:
                raise flight.error
            # the leader was cancelled before it got an answer: try again ourselves
        flight = _Flight()
        self._inflight[job_id] = flight
        try:
            flight.result = await self._fetch(job_id, background=background)
            return flight.result
        except Exception as exc:
            flight.error = exc
            raise
        finally:
            del self._inflight[job_id]
            flight.done.set()

    async def wait(
        self,
        job_id: UUID,
        current: JobData,
        *,
        received_at: float | None = None,
        max_wait: float | None,
        on_update: Callable[[JobData], None] | None = None,
        max_interval: float | None = None,
    ) -> JobData:
        """Poll until the job is terminal or ``max_wait`` seconds have passed; return the last status seen.

        ``received_at`` is the monotonic time when ``current`` arrived. A status younger than
        ``FRESH_SECONDS`` (a submission response, say) is planned from directly; an older one, or one
        of unknown age, is refreshed at once. ``max_interval`` replaces the longest gap between
        polls for this wait (never below what the client-wide poll budget allows).
        """
        self._waiters += 1
        try:
            now = anyio.current_time()
            deadline = None if max_wait is None else now + max_wait
            planner = self.planner(max_interval)
            fresh = received_at is not None and now - received_at < FRESH_SECONDS
            planner.observe(current, received_at if received_at is not None else now)
            data = current
            del current  # the caller's copy is replaced by on_update; don't keep it alive for the whole wait
            if not data.status.is_terminal and not fresh:
                data = await self._poll(job_id, planner, on_update)
            while not data.status.is_terminal:
                now = anyio.current_time()
                delay = planner.next_delay(now, max_interval=self._max_interval(max_interval))
                if deadline is not None:
                    if now >= deadline:
                        return data
                    delay = min(delay, deadline - now)
                del data
                await anyio.sleep(delay)
                data = await self._poll(job_id, planner, on_update)
            return data
        finally:
            self._waiters -= 1

    async def _poll(
        self, job_id: UUID, planner: PollPlanner, on_update: Callable[[JobData], None] | None
    ) -> JobData:
        sent = anyio.current_time()
        data = await self.refresh(job_id, background=True)
        received = anyio.current_time()
        planner.observe(data, received, round_trip=received - sent)
        if on_update is not None:
            on_update(data)
        return data
