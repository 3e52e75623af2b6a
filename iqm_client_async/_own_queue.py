"""This client's own jobs in the server's queue order, and a first-in-first-out forecast of their finishes.

When everything ahead of a waiting job is this client's own work (its queue position is no larger than
the number of its own jobs created before it and not yet started), the client knows the shapes of those
jobs and, once each shape's running time is known, can play the server's queue forward: W slots, each
freed when its job's running time is over, the jobs ahead taking them in order. That predicts when a job
starts and finishes however mixed the running times are, where the queue's average pace cannot (a queue
of long and short jobs stalls behind the long ones, then moves in bursts).

First in, first out also means that a job seen at the front of the queue (position 0) or started has no
job of this client waiting ahead of it any more: those are marked started, at an estimated time between
their last sighting and this one. No I/O, no per-waiter work: a forecast walks at most ``_WALK`` records
back from its own job.
"""

from __future__ import annotations

import bisect
import heapq
import math
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._poll_planning import JobShape

__all__ = ["DEPTH", "Forecast", "OwnJob", "OwnQueue"]

DEPTH = 512  # jobs deeper in the queue than this are planned from the queue's pace alone
_WALK = 1024  # records looked at per forecast, at most


class OwnJob:
    """One tracked job: when it was created (server time, orders the queue), its shape, when it started."""

    __slots__ = (
        "created",
        "done",
        "finished",
        "job_id",
        "last_seen",
        "seq",
        "shape",
        "started",
        "started_by",
        "waiters",
    )

    def __init__(self, job_id: Hashable, created: float, seq: int, shape: JobShape, seen: float) -> None:
        self.job_id = job_id
        self.created = created
        self.seq = seq
        self.shape = shape
        self.started: float | None = None  # seen started at (local monotonic time)
        self.started_by: float | None = None  # inferred to have started by then (FIFO)
        self.last_seen = seen  # when it was last seen waiting (local monotonic time)
        self.done = False  # finished, or nobody waits on it any more
        self.finished: float | None = None  # when it finished, if it did (local monotonic time)
        self.waiters = 1

    @property
    def order(self) -> tuple[float, int]:
        return self.created, self.seq


@dataclass(frozen=True, slots=True)
class Forecast:
    """A job's predicted start and finish (local monotonic times).

    ``start`` is None while a job ahead (or holding a slot) has no known running time; ``finish`` is None
    while the job's own running time is unknown. ``overdue``: it was still waiting after the predicted
    start (a job ahead runs longer than its shape's typical time, or the server has fewer slots free).
    """

    start: float | None
    finish: float | None
    overdue: bool = False


class OwnQueue:
    """This client's jobs near the front of the queue or running, in the order the server created them."""

    def __init__(self) -> None:
        self._jobs: list[OwnJob] = []
        self._by_id: dict[Hashable, OwnJob] = {}
        self._seq = 0
        self._done = 0

    def __len__(self) -> int:
        return len(self._jobs) - self._done

    def track(self, job_id: Hashable, created: float, shape: JobShape, seen: float) -> OwnJob:
        """Start tracking a job (a second waiter on the same job shares its record)."""
        record = self._by_id.get(job_id)
        if record is not None and not record.done:
            record.waiters += 1
            return record
        self._seq += 1
        record = OwnJob(job_id, created, self._seq, shape, seen)
        bisect.insort(self._jobs, record, key=lambda job: job.order)
        self._by_id[job_id] = record
        return record

    def release(self, record: OwnJob, *, finished: float | None = None) -> None:
        """A waiter stopped waiting (``finished``: the job is terminal, and finished then)."""
        record.waiters -= 1
        if record.done or (record.waiters > 0 and finished is None):
            return
        record.done = True
        record.finished = finished
        self._done += 1
        if self._by_id.get(record.job_id) is record:
            del self._by_id[record.job_id]
        if self._done > 32 and 2 * self._done > len(self._jobs):
            self._jobs = [job for job in self._jobs if not job.done]
            self._done = 0

    def _index(self, record: OwnJob) -> int:
        return bisect.bisect_left(self._jobs, record.order, key=lambda job: job.order)

    def seen_waiting(self, record: OwnJob, position: int, now: float) -> None:
        """The job was seen waiting at ``position``: at the front, nothing of ours waits ahead of it."""
        record.last_seen = now
        if position == 0:
            self._started_before(self._index(record), now)

    def seen_started(self, record: OwnJob, started: float, now: float) -> None:
        """The job was seen started (at local time ``started``): so has everything of ours ahead of it."""
        record.started = started
        self._started_before(self._index(record), now)

    def _started_before(self, index: int, now: float) -> None:
        """First in, first out: the jobs created before ``index`` have started by ``now``."""
        for job in reversed(self._jobs[max(0, index - _WALK) : index]):
            if job.done:
                continue
            if job.started is not None or (job.started_by is not None and job.started_by <= now):
                return  # and so has everything before it
            job.started_by = now

    def forecast(
        self,
        record: OwnJob,
        position: int,
        seen: float,
        running_time: Callable[[JobShape], float | None],
        parallelism: int,
    ) -> Forecast | None:
        """Play the queue forward for a job seen waiting at ``position`` at local time ``seen``.

        The jobs ahead that were seen started hold slots until their running time is over; the others
        take the slots in order, each no earlier than it was last seen waiting and no later than it is
        known to have started. None when the jobs ahead are not all this client's (or too many): the
        caller plans from the queue's pace.
        """
        if position > DEPTH:
            return None
        index = self._index(record)
        ahead: list[OwnJob] = []
        ends: list[float] = []  # when the jobs that started freed (or will free) their slots
        running = 0  # of ours seen started, not seen finished
        observed = 0  # of ours seen started and running when it was seen waiting
        queued: list[OwnJob] = []  # of ours not known to have started when it was seen waiting
        for job in reversed(self._jobs[max(0, index - _WALK) : index]):
            known = job.started if job.started is not None else job.started_by
            if known is None or known > seen:
                queued.append(job)
            if job.done:
                if job.finished is not None:
                    ends.append(job.finished)
                    observed += job.started is not None and job.started <= seen < job.finished
                continue
            if job.started is None:
                ahead.append(job)
                continue
            duration = running_time(job.shape)
            if duration is None:
                return self._started_anyway(record, running_time)
            ends.append(job.started + duration)
            running += 1
            observed += job.started <= seen < job.started + duration
        if len(queued) < position:
            return None  # somebody else's jobs wait ahead of it
        ahead.reverse()
        queued.reverse()
        for job in queued[: len(queued) - position]:  # it was not behind them when seen: they had started
            if job.done or job.started is not None:
                continue
            job.started_by = seen
        # every slot was busy when it was seen waiting: at least as many slots as jobs of ours running then
        width = max(parallelism, running, observed)
        played = self._play(ahead, ends, width, seen, running_time)
        if played is not None and observed + played[1] > width:  # more ran then than the width played with
            width = observed + played[1]
            played = self._play(ahead, ends, width, seen, running_time)
        if played is None:
            return self._started_anyway(record, running_time)
        free = played[0]
        if free == -math.inf and record.started_by is None:
            return None  # it takes a slot that none of ours has used: somebody else's, or unknown
        start = max(free, seen) if record.started_by is None else min(max(free, seen), record.started_by)
        own_time = running_time(record.shape)
        overdue = free < seen and record.started_by is None
        return Forecast(start, None if own_time is None else start + own_time, overdue)

    @staticmethod
    def _play(
        ahead: list[OwnJob],
        ends: list[float],
        width: int,
        seen: float,
        running_time: Callable[[JobShape], float | None],
    ) -> tuple[float, int] | None:
        """The jobs ahead take ``width`` slots in order (each slot free from the latest of ``ends`` in it;
        slots none of ours used, free from the start). Returns when the next slot frees, and how many of
        the jobs ahead ran at ``seen``; None if one of them has no known running time.
        """
        slots = heapq.nlargest(width, ends)
        slots += [-math.inf] * (width - len(slots))
        heapq.heapify(slots)
        running_then = 0
        for job in ahead:
            duration = running_time(job.shape)
            if duration is None:
                return None
            start = max(heapq.heappop(slots), job.last_seen)
            if job.started_by is not None:
                start = min(start, job.started_by)
            running_then += start <= seen < start + duration
            heapq.heappush(slots, start + duration)
        return slots[0], running_then

    @staticmethod
    def _started_anyway(record: OwnJob, running_time: Callable[[JobShape], float | None]) -> Forecast:
        """A job ahead has no known running time: only a job known to have started can still be planned."""
        own_time = running_time(record.shape)
        if record.started_by is None or own_time is None:
            return Forecast(None, None)
        return Forecast(record.started_by, record.started_by + own_time)
