"""The client's job poller: one per client, serving every job that is being waited on.

No background task: each waiting coroutine sleeps for the delay its ``PollPlanner`` chose, then asks
the poller for a fresh status. Every status seen feeds the client's ``QueueModel``; when the model's
epoch moves on (it learnt something that brings plans earlier), the sleepers wake and re-plan — never
later than planned, and without a request of their own. Waking them all is the only per-waiter work, and
it happens once per epoch, a logarithmic number of times; an observation itself costs no per-waiter
work. Long sleepers share alarms, so that 10,000 of them hold a few hundred timers, not 10,000.

The poller guarantees at most one status request in flight per job
(concurrent waiters on the same job share it), and all requests go through the client's request
budget. Cancelling a waiter stops its polling at once and leaves nothing running.

Jobs that can wait (deep in a queue, or with no hint of when they finish) are polled at most every
``max_interval`` seconds — or less often when so many jobs wait that together they would send more
than ``max_polls_per_second``: then each such job is polled every ``waiting jobs / max_polls_per_second``
seconds. Jobs expected to finish soon are polled on their own schedule.
"""

from __future__ import annotations

import math
import random
from collections.abc import Awaitable, Callable
from uuid import UUID

import anyio

from ._poll_planning import JobShape, PollPlanner, QueueModel
from .models import JobData

__all__ = ["FRESH_SECONDS", "JobPoller"]

FRESH_SECONDS = 1.0
SHORT_SLEEP_SECONDS = 0.05
_FINEST_GRID = 1 / 256


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
        self.model = QueueModel()
        self._epoch_seen = 0
        self._epoch_moved: anyio.Event | None = None
        self._alarms: dict[float, anyio.Event] = {}
        self._min = min_interval
        self._max = max_interval
        self._max_polls_per_second = max_polls_per_second
        self._waiters = 0
        self._rng = random.Random(seed)

    @property
    def waiters(self) -> int:
        """Jobs being waited on now."""
        return self._waiters

    def _max_interval(self, longest: float | None = None) -> float:
        """The longest gap between polls (``longest``, or the client's), never below the poll budget's share."""
        return max(self._max if longest is None else longest, self._waiters / self._max_polls_per_second)

    def planner(self, shape: JobShape | None = None, max_interval: float | None = None) -> PollPlanner:
        """A new planner sharing this client's queue model (``max_interval``: its own longest gap)."""
        longest = self._max if max_interval is None else max_interval
        return PollPlanner(
            self.model, shape=shape, min_interval=self._min, max_interval=longest, rng=self._rng
        )

    def _epoch_event(self) -> anyio.Event:
        """Set when the model's epoch next moves on."""
        if self._epoch_moved is None:
            self._epoch_moved = anyio.Event()
        return self._epoch_moved

    def _publish_epoch(self) -> None:
        if self.model.epoch != self._epoch_seen:
            self._epoch_seen = self.model.epoch
            if self._epoch_moved is not None:
                self._epoch_moved.set()
                self._epoch_moved = None

    def _pause(self, wake_at: float) -> Awaitable[None] | None:
        """What to await on the way to ``wake_at`` (None once it has come).

        A sleep of at most ``SHORT_SLEEP_SECONDS`` is a plain one: little is to be gained by moving it.
        A longer one waits on an alarm shared by the sleepers whose wake-up times round up to the same
        instant (on a grid of about 1/64 of the time left): the first of them holds the timer and rings
        the alarm when it is due, when the model's epoch moves on, or when it is cancelled itself (the
        others then go back to sleep). A sleeper costs a waiter on an event, not a timer of its own.
        """
        left = wake_at - anyio.current_time()
        if left <= 0:
            return None
        if left <= SHORT_SLEEP_SECONDS:
            return anyio.sleep(left)
        grid = 2.0 ** math.floor(math.log2(max(left / 64, _FINEST_GRID)))
        at = math.ceil(wake_at / grid) * grid
        alarm = self._alarms.get(at)
        if alarm is not None:
            return alarm.wait()
        alarm = self._alarms[at] = anyio.Event()
        return self._hold_alarm(at, alarm)

    async def _hold_alarm(self, at: float, alarm: anyio.Event) -> None:
        try:
            with anyio.move_on_after(at - anyio.current_time()):
                await self._epoch_event().wait()
        finally:
            if self._alarms.get(at) is alarm:
                del self._alarms[at]
            alarm.set()

    def _replanned(
        self, planner: PollPlanner, wake_at: float, deadline: float | None, longest: float | None = None
    ) -> float:
        """After a pause: the wake-up time, moved earlier (never later) if the model's news allows."""
        now = anyio.current_time()
        if now >= wake_at:
            return wake_at
        replanned = now + planner.next_delay(now, max_interval=self._max_interval(longest))
        return min(wake_at, replanned if deadline is None else min(replanned, deadline))

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
        shape: JobShape | None = None,
        max_interval: float | None = None,
    ) -> JobData:
        """Poll until the job is terminal or ``max_wait`` seconds have passed; return the last status seen.

        ``received_at`` is the monotonic time when ``current`` arrived. A status younger than
        ``FRESH_SECONDS`` (a submission response, say) is planned from directly; an older one, or one
        of unknown age, is refreshed at once. ``shape`` selects the running times the job is planned with;
        ``max_interval`` replaces the longest gap between polls for this wait (never below what the
        client-wide poll budget allows).
        """
        self._waiters += 1
        planner: PollPlanner | None = None
        try:
            now = anyio.current_time()
            deadline = None if max_wait is None else now + max_wait
            planner = self.planner(shape, max_interval)
            fresh = received_at is not None and now - received_at < FRESH_SECONDS
            planner.observe(current, received_at if received_at is not None else now)
            self._publish_epoch()
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
                wake_at = now + delay
                while (pause := self._pause(wake_at)) is not None:
                    await pause
                    wake_at = self._replanned(planner, wake_at, deadline, max_interval)
                data = await self._poll(job_id, planner, on_update)
            return data
        finally:
            self._waiters -= 1
            if planner is not None:
                planner.close()

    async def _poll(
        self, job_id: UUID, planner: PollPlanner, on_update: Callable[[JobData], None] | None
    ) -> JobData:
        sent = anyio.current_time()
        data = await self.refresh(job_id, background=True)
        received = anyio.current_time()
        planner.observe(data, received, round_trip=received - sent)
        self._publish_epoch()
        if on_update is not None:
            on_update(data)
        return data
