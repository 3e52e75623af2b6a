"""When to ask for a job's status next: pure scheduling logic, no I/O.

The next status request depends on what the job looks like:

* waiting in the queue: from how fast the queue has been moving, estimate when the job reaches
  the front; poll a bit before that, never more often than the minimum interval. At the front, expect
  the job ahead to be half done and this one to take one service time (1 / queue rate) or the typical
  running time;
* running with ``execution.progress``: extrapolate the finish time from the progress rate;
* running without progress: use the running time of this client's earlier jobs (the server's own
  timeline timestamps, so clock skew does not matter), else the queue's service time seen while
  waiting, else back off with the time in state.

A poll aimed at a predicted finish goes just after it, unjittered; once that instant has passed the job
is polled again soon, backing off with the time since the predicted finish. Every other delay is jittered,
only ever earlier (by up to 10 %, at most 50 ms), enough to keep many jobs out of lockstep.
"""

from __future__ import annotations

import random
import statistics
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime

from .models import JobData, JobStatus

__all__ = ["DurationStats", "PollPlanner"]

_EXECUTION_STARTED = "execution_started"
_FINISHED = ("ready", "completed")
_MARGIN = 0.01
_MAX_JITTER = 0.05


@dataclass
class DurationStats:
    """Recent execution times of this client's jobs (server timestamps), shared by all its planners."""

    window: int = 32
    _samples: deque[float] = field(default_factory=deque)

    def add(self, seconds: float) -> None:
        """Record one job's execution time."""
        if seconds >= 0:
            self._samples.append(seconds)
            while len(self._samples) > self.window:
                self._samples.popleft()

    def typical(self) -> float | None:
        """Median of the recent execution times, or None before the first finished job."""
        return statistics.median(self._samples) if self._samples else None


def _timeline_time(data: JobData, statuses: tuple[str, ...]) -> datetime | None:
    for entry in data.timeline:
        if entry.status in statuses:
            return entry.timestamp
    return None


def _progress_fraction(data: JobData) -> float | None:
    if data.execution is None or not data.execution.progress:
        return None
    value = sum(p.value for p in data.execution.progress.values())
    total = sum(p.max_value for p in data.execution.progress.values())
    if total <= 0 or value <= 0 or value >= total:
        return None
    return value / total


class PollPlanner:
    """Plans the status requests of one job. Feed it every ``JobData`` seen; ask it for the next delay.

    Args:
        stats: execution-time statistics shared by the client's jobs.
        min_interval: shortest delay between two status requests of this job.
        max_interval: longest delay between two status requests of this job.
        rng: random source for the jitter.
    """

    __slots__ = (
        "_first_position",
        "_max",
        "_min",
        "_position",
        "_progress",
        "_progress_seen",
        "_rng",
        "_rtt",
        "_running_since_local",
        "_server_offset",
        "_service_time",
        "_state_since",
        "_stats",
        "_status",
    )

    def __init__(
        self,
        stats: DurationStats,
        *,
        min_interval: float = 0.025,
        max_interval: float = 5.0,
        rng: random.Random | None = None,
    ) -> None:
        self._stats = stats
        self._min = min_interval
        self._max = max(max_interval, min_interval)
        self._rng = rng or random.Random()
        self._status: JobStatus | None = None
        self._state_since = 0.0
        self._first_position: tuple[float, int] | None = None
        self._position: int | None = None
        self._running_since_local: float | None = None
        self._progress_seen: tuple[float, float] | None = None
        self._progress: float | None = None
        self._server_offset: float | None = None  # local monotonic time minus server timestamp
        self._service_time: float | None = None  # 1 / queue rate, learnt while waiting
        self._rtt = 0.0  # shortest status round trip seen

    def observe(self, data: JobData, now: float, *, round_trip: float | None = None) -> None:
        """Record a status response received at monotonic time ``now`` after ``round_trip`` seconds."""
        if round_trip is not None and (not self._rtt or round_trip < self._rtt):
            self._rtt = round_trip
        if data.status != self._status:
            self._status = data.status
            self._state_since = now
        created = data.timeline[0].timestamp if data.timeline else None
        if self._server_offset is None and created is not None:
            self._server_offset = now - created.timestamp()
        if data.status == JobStatus.WAITING and data.queue_position is not None:
            if self._first_position is None:
                self._first_position = (now, data.queue_position)
            self._position = data.queue_position
        started = _timeline_time(data, (_EXECUTION_STARTED,))
        if data.status == JobStatus.PROCESSING:
            if started is not None and self._server_offset is not None:
                self._running_since_local = started.timestamp() + self._server_offset
            elif self._running_since_local is None:
                self._running_since_local = now
            fraction = _progress_fraction(data)
            if fraction is not None:
                self._progress = fraction
                if self._progress_seen is None:
                    self._progress_seen = (now, fraction)
        if data.status == JobStatus.COMPLETED and started is not None:
            finished = _timeline_time(data, _FINISHED)
            if finished is not None:
                self._stats.add((finished - started).total_seconds())

    def _clamp(self, delay: float, max_interval: float | None) -> float:
        return min(max(self._max, max_interval or 0.0), max(self._min, delay))

    def _queue_rate(self, now: float) -> float | None:
        if self._first_position is None or self._position is None:
            return None
        since, first = self._first_position
        moved = first - self._position
        return moved / (now - since) if moved > 0 and now > since else None

    def _running_delay(self, now: float) -> tuple[float, bool]:
        """The delay, and whether it aims at a predicted finish (such polls get no jitter)."""
        started = self._running_since_local if self._running_since_local is not None else self._state_since
        elapsed = max(now - started, 0.0)
        if self._progress is not None and elapsed > 0:
            return elapsed * (1 - self._progress) / self._progress - self._rtt / 2 + _MARGIN, True
        typical = self._duration_hint()
        if typical is None:
            return self._min + 0.25 * elapsed, False
        if typical > elapsed:
            # sent half a round trip early, the request reaches the server as the job finishes
            return typical - elapsed - self._rtt / 2 + _MARGIN, True
        return self._min + 0.25 * (elapsed - typical), False  # overdue: back off from the predicted finish

    def _duration_hint(self) -> float | None:
        typical = self._stats.typical()
        return typical if typical is not None else self._service_time

    def _waiting_delay(self, now: float) -> float:
        in_state = now - self._state_since
        position = self._position or 0
        rate = self._queue_rate(now)
        if rate:
            self._service_time = 1 / rate
            if position:
                return 0.9 * position / rate
            typical = self._stats.typical()
            return 0.5 / rate + (typical if typical is not None else self._service_time)
        typical = self._stats.typical()
        if typical is not None:
            return 0.9 * position * typical if position else max(typical / 2, self._min)
        return 0.1 + 0.25 * in_state + 0.05 * position

    def next_delay(self, now: float, *, max_interval: float | None = None) -> float:
        """Seconds to wait before the next status request, as of monotonic time ``now``.

        ``max_interval`` raises the longest delay above the planner's own (the poller does that when
        many jobs wait at once).
        """
        aimed = False
        if self._status == JobStatus.PROCESSING:
            delay, aimed = self._running_delay(now)
        elif self._status == JobStatus.WAITING:
            delay = self._waiting_delay(now)
        else:
            delay = self._min
        if not aimed:
            delay -= self._rng.uniform(0, min(0.1 * delay, _MAX_JITTER))
        return self._clamp(delay, max_interval)
