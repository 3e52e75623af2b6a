"""When to ask for a job's status next: pure scheduling logic, no I/O.

Two layers:

* ``QueueModel``, one per client, learns from every job's observations: how fast jobs leave the queue
  (from any job's position changes, and from jobs first seen at position p and later found started, on
  the server's timestamps), how many jobs run at once (overlapping execution intervals of completed jobs),
  and the running time of each job shape (circuits x shots, instruction count). Its ``epoch`` moves on
  when what it knows changes enough to bring plans earlier: a shape's first running time, a running time
  down by a third, the queue's first pace or its pace up by half. Nothing is done per waiter when a
  status is observed; waiters re-plan only when the epoch moves, which happens a logarithmic number of
  times.
* ``PollPlanner``, one per waiting job, plans its next status request from its own state and the model:

  - waiting, with everything ahead of it this client's own work, once the server has been seen to hold
    jobs in its queue: the queue played forward (``_own_queue``), polling just after the predicted
    finish (or start, with no running time known for its shape); behind a job of unknown running
    time, uncertain (see below); still waiting after its predicted start, back off, doubling;
  - waiting, with the queue's pace known (bounded by the job's own observations: a job stalled at its
    position backs off by doubling its time there): with its shape's running time known too, poll a
    bit before the predicted finish (the queue's part of it shortened by 5 %); else a bit before the
    job reaches the front; at the front, expect it to start in half a service time, then run (with no
    running time known, poll then, to learn when it started);
  - waiting, pace unknown but running times known: plan from a prior (the parallelism seen, or the few
    moves seen), never later than the probes below; at the front, as if it started when seen;
  - running with ``execution.progress``: extrapolate the finish time from the progress rate;
  - running, with its shape's running time known: poll just after the predicted finish (the server's
    timeline timestamps, so clock skew does not matter); once that has passed, back off with the time
    since the predicted finish;
  - anything else is *uncertain*: rather than trust a prediction that may be far too late, a few jobs
    probe — the n-th uncertain job of an epoch probes when n is a power of four, so a burst of N jobs has
    about log4(N) + 1 probes — on a geometric schedule (each probe shifted by a different phase, so that
    together they sample the time finely); the other jobs wait as long as a job with no hint may
    (``max_interval``), to be re-planned when a probe's answer moves the epoch. A probe aimed at an
    estimate (one service time of the queue) backs off from it slowly instead.

A poll aimed at a predicted finish goes just after it, unjittered. Every other delay is jittered, only
ever earlier (by up to 10 %, at most 50 ms), enough to keep many jobs out of lockstep.
"""

from __future__ import annotations

import functools
import math
import random
import statistics
from collections import OrderedDict, deque
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from ._own_queue import DEPTH, Forecast, OwnJob, OwnQueue
from .models import Circuit, JobData, JobStatus

__all__ = ["JobShape", "PollPlanner", "QueueModel"]

_EXECUTION_STARTED = "execution_started"
_FINISHED = ("ready", "completed")
_MARGIN = 0.01
_MAX_JITTER = 0.05
_FASTER = 1.5  # the pace growing by this factor moves the epoch
_SHORTER = 2 / 3  # a shape's running time shrinking to this fraction moves the epoch
_MIN_MOVE_SECONDS = 0.05  # a queue move seen within less counts as taking this long
_MIN_PACE_EVIDENCE_SECONDS = 0.2  # the queue's pace is known once the moves seen span this long,
_MIN_PACE_EVIDENCE_MOVES = 8  # or add up to this many jobs
_PROBE_BASE = 0.1  # first probe of an unknown running time or queue pace, in seconds
_PROBE_RATIO = 1.6  # each probe of a running time waits this factor longer than the one before
_QUEUE_PROBE_RATIO = 3.0  # and of the queue's pace
_CHECKED_PLAN_SECONDS = 0.5  # before the queue is known to hold, longer plans are checked by a forecast
_HOLDING_SECONDS = 0.05  # a job still waiting this long after it was first seen: the queue holds jobs
_GOLDEN = 0.6180339887498949  # probe phases: multiples of it modulo 1 spread evenly


@dataclass(frozen=True, slots=True)
class JobShape:
    """What a job's running time depends on: its circuits, shots and instructions."""

    circuits: int
    shots: int
    instructions: int
    key: tuple[int, int] = field(init=False, repr=False, compare=False)
    """Shapes within half an octave of work and of instructions share their running times."""

    def __post_init__(self) -> None:
        work = round(2 * math.log2(self.circuits * self.shots + 1))
        object.__setattr__(self, "key", (work, round(2 * math.log2(self.instructions + 1))))

    @classmethod
    def of(cls, circuits: Sequence[Circuit | str], shots: int) -> JobShape:
        """The shape of a submission (QIR strings count as circuits without instructions)."""
        instructions = sum(len(c.instructions) for c in circuits if not isinstance(c, str))
        return _interned_shape(len(circuits), shots, instructions)

    @property
    def work(self) -> int:
        """Circuits x shots."""
        return self.circuits * self.shots


@functools.lru_cache(maxsize=256)
def _interned_shape(circuits: int, shots: int, instructions: int) -> JobShape:
    """One shared ``JobShape`` per distinct shape: thousands of jobs in flight mostly have a few shapes."""
    return JobShape(circuits, shots, instructions)


_ANY_SHAPE = (-1, -1)


class QueueModel:
    """What this client has learnt about the server's queue, shared by all its planners.

    Args:
        window: recent samples kept per quantity.
    """

    def __init__(self, window: int = 16) -> None:
        self.window = window
        self.epoch = 0
        self.round_trip = 0.0  # the shortest status round trip seen
        self._durations: dict[tuple[int, int], deque[float]] = {}
        self._typical: dict[tuple[int, int], float] = {}  # the median of each key's samples
        self._shape_work: dict[tuple[int, int], int] = {}
        self._typical_at_epoch: dict[tuple[int, int], float] = {}
        self._moves: OrderedDict[Hashable, tuple[float, float]] = OrderedDict()
        self._pace_at_epoch: float | None = None
        self._runs: OrderedDict[Hashable, tuple[float, float]] = OrderedDict()
        self.own = OwnQueue()
        self.queue_holds = False  # a job was seen waiting for longer than it takes to dispatch one
        self._parallelism = 1
        self._probes: dict[Hashable, int] = {}
        self._group_epochs: dict[str, int] = {}

    # ------------------------------------------------------------------ learning

    def note_round_trip(self, seconds: float) -> None:
        """Record a status request's round trip (the shortest one is kept)."""
        if seconds > 0 and (not self.round_trip or seconds < self.round_trip):
            self.round_trip = seconds

    def add_duration(self, seconds: float, shape: JobShape | None = None) -> None:
        """Record one job's running time (server timestamps)."""
        if seconds < 0:
            return
        keys = [_ANY_SHAPE] if shape is None else [_ANY_SHAPE, shape.key]
        for key in keys:
            samples = self._durations.setdefault(key, deque(maxlen=self.window))
            samples.append(seconds)
            if shape is not None and key != _ANY_SHAPE:
                self._shape_work[key] = shape.work
            typical = self._typical[key] = statistics.median(samples)
            before = self._typical_at_epoch.get(key)
            if before is None or typical <= _SHORTER * before:
                self._typical_at_epoch[key] = typical
                self._advance("running")

    def add_interval(self, started: float, ended: float, job: Hashable | None = None) -> None:
        """Record when a job ran (server POSIX times), to learn how many jobs run at once.

        ``ended``: when it finished, or when it was last seen running (``job`` then names it, so that a
        later sighting replaces the interval).
        """
        if ended < started:
            return
        key = object() if job is None else job
        self._runs[key] = (started, ended)
        self._runs.move_to_end(key)
        while len(self._runs) > 4 * self.window:
            self._runs.popitem(last=False)
        runs = self._runs.values()
        events = sorted([(t, 1) for t, _ in runs] + [(t, -1) for _, t in runs])
        running = most = 0
        for _, step in events:
            running += step
            most = max(most, running)
        self._parallelism = most

    def add_queue_move(self, job: Hashable, moved: int, seconds: float) -> None:
        """Record that ``job`` saw ``moved`` jobs leave the queue ahead of it within ``seconds``."""
        if moved <= 0 or seconds <= 0:
            return
        # a job can be seen queued an instant before a free slot takes it: such a jump is no pace
        self._moves[job] = (moved, max(seconds, _MIN_MOVE_SECONDS))
        self._moves.move_to_end(job)
        while len(self._moves) > self.window:
            self._moves.popitem(last=False)
        pace = self.pace()
        if pace is None:
            return
        if self._pace_at_epoch is None or pace >= _FASTER * self._pace_at_epoch:
            self._pace_at_epoch = pace
            self._advance("queue")

    def _advance(self, group: str) -> None:
        self.epoch += 1
        self._group_epochs[group] = self._group_epochs.get(group, 0) + 1
        for kind in [kind for kind in self._probes if _group(kind) == group]:
            del self._probes[kind]

    def group_epoch(self, kind: Hashable) -> int:
        """How often what the plans of this kind depend on has changed."""
        return self._group_epochs.get(_group(kind), 0)

    # ------------------------------------------------------------------ knowledge

    def pace(self, *, tentative: bool = False) -> float | None:
        """Jobs leaving the queue per second, from recent jobs' position changes (None while unknown).

        ``tentative``: also from fewer moves than make it known (None only before any).
        """
        moved = sum(m for m, _ in self._moves.values())
        seconds = sum(s for _, s in self._moves.values())
        if not moved or (
            not tentative and seconds < _MIN_PACE_EVIDENCE_SECONDS and moved < _MIN_PACE_EVIDENCE_MOVES
        ):
            return None
        return moved / seconds

    @property
    def parallelism(self) -> int:
        """Most jobs seen running at once (at least 1)."""
        return max(self._parallelism, 1)

    def running_time(self, shape: JobShape | None) -> tuple[float | None, bool]:
        """The typical running time of a job of this shape, and whether it was measured for the shape.

        Without a measurement of the shape: the longest running time of a smaller shape (a lower bound,
        not confident), or None.
        """
        typical = self._typical.get(_ANY_SHAPE if shape is None else shape.key)
        if typical is not None or shape is None:
            return typical, typical is not None
        smaller = [self._typical[key] for key, work in self._shape_work.items() if work <= shape.work]
        return (max(smaller), False) if smaller else (None, False)

    def note_waited(self, seconds: float) -> None:
        """A job was seen still waiting ``seconds`` after it was first seen waiting."""
        if not self.queue_holds and seconds >= max(_HOLDING_SECONDS, 4 * self.round_trip):
            self.queue_holds = True
            self._advance("queue")  # the waiting jobs can now be planned from the queue played forward

    def measured_running_time(self, shape: JobShape) -> float | None:
        """The typical running time measured for this shape, None if none was."""
        typical, measured = self.running_time(shape)
        return typical if measured else None

    def forecast(self, job: OwnJob, position: int, seen: float) -> Forecast | None:
        """Play the queue forward for one of this client's jobs (see ``OwnQueue.forecast``).

        Trusted only once ``queue_holds``: a wide server shows a burst's jobs queued for the moment it
        takes to hand them to free slots, which says nothing of its width.
        """
        return self.own.forecast(job, position, seen, self.measured_running_time, self.parallelism)

    def probe_number(self, kind: Hashable) -> int:
        """The 1-based count of uncertain plans of this kind in the current epoch, this one included."""
        number = self._probes.get(kind, 0) + 1
        self._probes[kind] = number
        return number


def _group(kind: Hashable) -> str:
    """Probe kinds are "queue" or ("running", shape key)."""
    return kind if isinstance(kind, str) else "running"


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


def _is_power_of_four(number: int) -> bool:
    return number & (number - 1) == 0 and (number.bit_length() - 1) % 2 == 0


class PollPlanner:
    """Plans the status requests of one job. Feed it every ``JobData`` seen; ask it for the next delay.

    Args:
        model: the client's queue model, shared by its planners.
        shape: the job's shape, when known (jobs submitted by this client).
        min_interval: shortest delay between two status requests of this job.
        max_interval: longest delay between two status requests of this job.
        rng: random source for the jitter.
    """

    __slots__ = (
        "_first_position",
        "_max",
        "_min",
        "_missed",
        "_model",
        "_own",
        "_position",
        "_position_seen",
        "_position_since",
        "_probe",
        "_progress",
        "_rng",
        "_running_since_local",
        "_server_offset",
        "_shape",
        "_state_since",
        "_status",
    )

    def __init__(
        self,
        model: QueueModel,
        *,
        shape: JobShape | None = None,
        min_interval: float = 0.025,
        max_interval: float = 5.0,
        rng: random.Random | None = None,
    ) -> None:
        self._model = model
        self._shape = shape
        self._min = min_interval
        self._max = max(max_interval, min_interval)
        self._rng = rng or random.Random()
        self._status: JobStatus | None = None
        self._state_since = 0.0
        self._first_position: tuple[float, int] | None = None
        self._position: int | None = None
        self._position_seen = 0.0
        self._position_since = 0.0
        self._running_since_local: float | None = None
        self._progress: float | None = None
        self._server_offset: float | None = None  # local monotonic time minus server timestamp
        self._probe: tuple[Hashable, int, int] | None = None  # kind, its epoch, and this job's probe number
        self._own: OwnJob | None = None  # this job in the client's own queue, while it waits or runs
        self._missed: float | None = None  # when a forecast finish passed without the job finishing

    def observe(self, data: JobData, now: float, *, round_trip: float | None = None) -> None:
        """Record a status response received at monotonic time ``now`` after ``round_trip`` seconds."""
        if round_trip is not None:
            self._model.note_round_trip(round_trip)
        if data.status != self._status:
            self._status = data.status
            self._state_since = now
        created = data.timeline[0].timestamp if data.timeline else None
        if self._server_offset is None and created is not None:
            self._server_offset = now - created.timestamp()
        if data.status == JobStatus.WAITING and data.queue_position is not None:
            if self._first_position is None:
                self._first_position = (now, data.queue_position)
            else:
                since, first = self._first_position
                self._model.add_queue_move(data.id, first - data.queue_position, now - since)
                self._model.note_waited(now - since)
            if data.queue_position != self._position:
                self._position_since = now
            self._position = data.queue_position
            self._position_seen = now
        started = _timeline_time(data, (_EXECUTION_STARTED,))
        if started is not None and self._first_position is not None and self._server_offset is not None:
            since, first = self._first_position
            # first seen at position p >= 1, started later: p + 1 jobs left the queue meanwhile (itself
            # included); at position 0 it may just have found a free slot, which says nothing of the pace
            if first:
                self._model.add_queue_move(
                    data.id, first + 1, started.timestamp() + self._server_offset - since
                )
        if data.status == JobStatus.PROCESSING:
            if started is not None and self._server_offset is not None:
                self._running_since_local = started.timestamp() + self._server_offset
            elif self._running_since_local is None:
                self._running_since_local = now
            fraction = _progress_fraction(data)
            if fraction is not None:
                self._progress = fraction
        if data.status == JobStatus.COMPLETED and started is not None:
            finished = _timeline_time(data, _FINISHED)
            if finished is not None:
                self._model.add_duration((finished - started).total_seconds(), self._shape)
                self._model.add_interval(started.timestamp(), finished.timestamp(), data.id)
        elif data.status == JobStatus.PROCESSING and started is not None and self._server_offset is not None:
            self._model.add_interval(started.timestamp(), now - self._server_offset, data.id)
        self._track_own(data, created, now)

    def _track_own(self, data: JobData, created: datetime | None, now: float) -> None:
        """Keep this job's place in the client's own queue (jobs of this client near the front or running)."""
        own = self._model.own
        if data.status.is_terminal:
            if self._own is not None:
                finished = _timeline_time(data, _FINISHED)
                offset = self._server_offset
                at = now if finished is None or offset is None else finished.timestamp() + offset
                began = _timeline_time(data, (_EXECUTION_STARTED,))
                if began is not None and offset is not None:
                    self._own.started = began.timestamp() + offset
                own.release(self._own, finished=at)
                self._own = None
            return
        if self._own is None:
            near = data.status == JobStatus.PROCESSING or (
                data.queue_position is not None and data.queue_position <= DEPTH
            )
            if self._shape is None or created is None or not near:
                return
            self._own = own.track(data.id, created.timestamp(), self._shape, now)
        if data.status == JobStatus.WAITING and data.queue_position is not None:
            own.seen_waiting(self._own, data.queue_position, now)
        elif self._running_since_local is not None:
            own.seen_started(self._own, self._running_since_local, now)

    def close(self) -> None:
        """Stop tracking the job: its waiter is done."""
        if self._own is not None:
            self._model.own.release(self._own)
            self._own = None

    def _clamp(self, delay: float, max_interval: float | None) -> float:
        return min(max(self._max, max_interval or 0.0), max(self._min, delay))

    def _probe_number(self, kind: Hashable) -> int:
        epoch = self._model.group_epoch(kind)
        if self._probe is None or self._probe[:2] != (kind, epoch):
            self._probe = (kind, epoch, self._model.probe_number(kind))
        return self._probe[2]

    def _uncertain_delay(
        self, elapsed: float, base: float, kind: Hashable, ratio: float, *, estimated: bool = False
    ) -> float:
        """Probe on a geometric schedule (if this job is a probe), else wait long for the model to learn.

        ``estimated``: ``base`` is an estimate (one service time of the queue), not only a lower
        bound: the probe aims at it, then backs off from it slowly.
        """
        number = self._probe_number(kind)
        if not _is_power_of_four(number):
            return math.inf  # the longest delay allowed: wait for the probes to teach the model
        if estimated:  # aim at the estimate, then back off from it as an overdue job does
            return base - elapsed if elapsed + self._min < base else self._min + 0.5 * (elapsed - base)
        phase = (_GOLDEN * math.log(number, 4)) % 1.0
        # the first target of base * ratio ** (k + phase) that lies a minimum interval ahead
        ahead = max(elapsed + self._min, base) / base
        step = max(math.ceil(math.log(ahead) / math.log(ratio) - phase), 0)
        return base * math.pow(ratio, step + phase) - elapsed

    def _running_delay(self, now: float, started: float) -> tuple[float, bool]:
        """The delay, and whether it aims at a predicted finish (such polls get no jitter)."""
        elapsed = now - started  # negative while the job is only predicted to start
        if self._progress is not None and elapsed > 0:
            return elapsed * (
                1 - self._progress
            ) / self._progress - self._model.round_trip / 2 + _MARGIN, True
        typical, measured = self._model.running_time(self._shape)
        if not measured:
            kind = ("running", None if self._shape is None else self._shape.key)
            pace = self._model.pace()
            # a job runs at least as long as a smaller one, and as one service time of the queue
            service = 1 / pace if pace else 0.0
            base = max(typical or 0.0, service, _PROBE_BASE)
            estimated = base == service  # on a one-slot queue, the running time itself
            return self._uncertain_delay(elapsed, base, kind, _PROBE_RATIO, estimated=estimated), False
        assert typical is not None
        if typical > elapsed:
            # sent half a round trip early, the request reaches the server as the job finishes
            return typical - elapsed - self._model.round_trip / 2 + _MARGIN, True
        return self._min + 0.25 * (elapsed - typical), False  # overdue: back off from the predicted finish

    def _own_pace_bound(self) -> float:
        """The fastest pace its own observations allow: (m + 1) / T after moving m places in T seconds."""
        if self._first_position is None or self._position is None:
            return math.inf
        since, first = self._first_position
        # only what was seen counts: the last observation, not the time since
        waited, at_position = self._position_seen - since, self._position_seen - self._position_since
        bound = (first - self._position + 1) / waited if waited > 0 else math.inf
        # nobody has left the queue ahead of it since it reached this position
        return min(bound, 1 / at_position) if at_position > 0 else bound

    def _forecast_delay(self, forecast: Forecast, now: float) -> tuple[float, bool]:
        if forecast.start is None:  # behind a job of unknown running time: uncertain, a few jobs probe
            elapsed = now - self._state_since
            return self._uncertain_delay(elapsed, _PROBE_BASE, "queue", _QUEUE_PROBE_RATIO), False
        target = forecast.start if forecast.finish is None else forecast.finish
        target -= self._model.round_trip / 2 - _MARGIN  # sent half a round trip early, it arrives just after
        if not forecast.overdue and target > now:
            self._missed = None
            return target - now, True
        if not forecast.overdue and self._position_seen < target:
            return 0.0, False  # due, and not looked at since
        # still waiting after it was due: back off, doubling the time since it was first seen so
        if self._missed is None:
            self._missed = self._position_seen
        return now - self._missed, False

    def _waiting_delay(self, now: float) -> tuple[float, bool]:
        if self._own is None or self._position is None:
            return self._pace_delay(now)
        if self._model.queue_holds:
            forecast = self._model.forecast(self._own, self._position, self._position_seen)
            return self._pace_delay(now) if forecast is None else self._forecast_delay(forecast, now)
        # not yet trusted (the queue seen may be a wide server's moment of dispatch, where the forecast
        # errs late), but a long plan from the queue's pace that is later still is the worse one
        delay, aimed = self._pace_delay(now)
        if delay < _CHECKED_PLAN_SECONDS or self._model.pace() is None:
            return delay, aimed  # short, or the probes' to make: not worth playing the queue forward
        forecast = self._model.forecast(self._own, self._position, self._position_seen)
        if forecast is not None and forecast.start is not None and not forecast.overdue:
            alternative, aimed_there = self._forecast_delay(forecast, now)
            if alternative < delay:
                return alternative, aimed_there
        return delay, aimed

    def _pace_delay(self, now: float) -> tuple[float, bool]:
        position = self._position or 0
        since_seen = now - self._position_seen
        pace = self._model.pace()
        if pace is None:
            typical, measured = self._model.running_time(self._shape)
            elapsed = now - self._state_since
            probe = self._uncertain_delay(elapsed, _PROBE_BASE, "queue", _QUEUE_PROBE_RATIO)
            service, known = self._model.running_time(None)  # of any job ahead
            if not (measured and typical and known and service):
                return probe, False
            if not position:
                # at the front it starts as soon as a slot frees (on a wide server, at once), the
                # server having answered half a round trip before it was seen
                return self._running_delay(now, self._position_seen - self._model.round_trip / 2)
            # a prior, to be probed: as many at once as seen so far, or as fast as the few moves seen
            prior = max(self._model.parallelism / service, self._model.pace(tentative=True) or 0.0)
            pace = min(prior, self._own_pace_bound())
            planned = (0.9 * position / pace if position else 0.5 / pace + typical) - since_seen
            return min(planned, probe), False
        own = self._own_pace_bound()
        stalled = own < pace  # slower for this job than for the queue as a whole: it may start moving
        pace = min(pace, own)
        typical, measured = self._model.running_time(self._shape)
        # one job at a time, as far as seen: a job runs for about one service time of the queue
        serial = None if measured and typical else 0.95 / pace if self._model.parallelism == 1 else None
        if position:
            if measured and typical:
                # aim at the finish, a little early on the queue's part: too early costs a poll, too late latency
                delay = 0.95 * (position + 0.5) / pace + typical - since_seen
            else:
                delay = 0.95 * (position + 0.5) / pace + (serial or 0.0) - since_seen
            # a stalled job backs off no faster than doubling its time at the position
            stall = self._position_seen - self._position_since
            return (min(delay, max(stall, self._min) - since_seen) if stalled else delay), False
        # at the front: expect it to start half a service time after it was seen there, then run for
        # its shape's running time; with none known, poll then, to learn when it started
        started = self._position_seen + 0.5 / pace
        if measured and typical:
            return self._running_delay(now, started)
        return started + (serial or 0.0) - now, False

    def next_delay(self, now: float, *, max_interval: float | None = None) -> float:
        """Seconds to wait before the next status request, as of monotonic time ``now``.

        ``max_interval`` raises the longest delay above the planner's own (the poller does that when
        many jobs wait at once).
        """
        aimed = False
        if self._status == JobStatus.PROCESSING:
            started = self._running_since_local
            delay, aimed = self._running_delay(now, self._state_since if started is None else started)
        elif self._status == JobStatus.WAITING:
            delay, aimed = self._waiting_delay(now)
        else:
            delay = self._min
        if not aimed:
            delay -= self._rng.uniform(0, min(0.1 * max(delay, 0.0), _MAX_JITTER))
        return self._clamp(delay, max_interval)

    def started_by(self, now: float) -> bool:
        """Whether the job has probably started: seen running, or waited past its predicted start."""
        if self._status == JobStatus.PROCESSING:
            return True
        if self._status != JobStatus.WAITING or self._position is None:
            return False
        pace = self._model.pace()
        return pace is not None and now - self._position_seen >= (self._position + 1) / pace
