"""The forecast of this client's own jobs: the server's first-in-first-out queue played forward.

The first tests check the forecast itself; the last ones drive planners against a simulated FIFO server
in virtual time (W slots, known running times) and count status requests per job and how late each
finish is seen, so that they fail when the forecast is taken out.
"""

from __future__ import annotations

import heapq
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from iqm_client_async._own_queue import Forecast, OwnQueue
from iqm_client_async._poll_planning import JobShape, PollPlanner, QueueModel
from iqm_client_async.models import JobData

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SHORT = JobShape(circuits=1, shots=100, instructions=5)
LONG = JobShape(circuits=1, shots=4000, instructions=5)
TIMES = {SHORT: 0.05, LONG: 2.0}


def running_time(shape: JobShape) -> float | None:
    return TIMES.get(shape)


def expect(forecast: Forecast | None, *, start: float, finish: float) -> None:
    assert forecast is not None
    assert forecast.start == pytest.approx(start)
    assert forecast.finish == pytest.approx(finish)


def queue_of(shapes: list[JobShape]) -> tuple[OwnQueue, list[Any]]:
    own = OwnQueue()
    return own, [own.track(index, 0.0, shape, 0.0) for index, shape in enumerate(shapes)]


def test_a_serial_queue_is_played_forward_job_by_job() -> None:
    own, jobs = queue_of([SHORT] * 4)
    own.seen_started(jobs[0], 1.0, 1.0)
    for position, job in enumerate(jobs[1:]):
        own.seen_waiting(job, position, 1.01)
    forecast = own.forecast(jobs[3], 2, 1.01, running_time, parallelism=1)
    assert forecast is not None
    expect(forecast, start=1.0 + 3 * 0.05, finish=1.0 + 4 * 0.05)


def test_mixed_running_times_on_two_slots() -> None:
    own, jobs = queue_of([LONG, SHORT, SHORT, SHORT, LONG, SHORT])
    own.seen_started(jobs[0], 0.0, 0.01)
    own.seen_started(jobs[1], 0.0, 0.01)
    for position, job in enumerate(jobs[2:]):
        own.seen_waiting(job, position, 0.01)
    # short jobs go through the slot the short one frees; the long one then holds it until 2.15
    long_job = own.forecast(jobs[4], 2, 0.01, running_time, parallelism=2)
    after = own.forecast(jobs[5], 3, 0.01, running_time, parallelism=2)
    assert long_job is not None and after is not None
    expect(long_job, start=0.15, finish=2.15)
    expect(after, start=2.0, finish=2.05)


def test_a_job_seen_at_the_front_means_every_earlier_job_started() -> None:
    own, jobs = queue_of([SHORT] * 6)
    for position, job in enumerate(jobs[:5]):
        own.seen_waiting(job, position, 0.0)
    own.seen_waiting(jobs[5], 0, 0.1)  # created last, already at the front: the others have started
    wide = own.forecast(jobs[2], 2, 0.0, running_time, parallelism=8)
    assert wide is not None and not wide.overdue
    expect(wide, start=0.0, finish=0.05)  # no earlier than seen
    serial = own.forecast(jobs[2], 2, 0.0, running_time, parallelism=1)
    assert serial is not None
    # two jobs of 50 ms ahead on one slot would start it at 0.1: no later than it is known to have started
    expect(serial, start=0.1, finish=0.15)


def test_a_job_still_waiting_after_its_predicted_start_is_overdue() -> None:
    own, jobs = queue_of([SHORT] * 2)
    own.seen_started(jobs[0], 0.0, 0.0)
    own.seen_waiting(jobs[1], 0, 0.3)  # the job ahead should have finished at 0.05
    forecast = own.forecast(jobs[1], 0, 0.3, running_time, parallelism=1)
    assert forecast is not None and forecast.overdue


def test_finished_jobs_still_tell_when_their_slots_came_free() -> None:
    own, jobs = queue_of([LONG, LONG, SHORT])
    own.seen_started(jobs[0], 0.0, 0.0)
    own.release(jobs[0], finished=2.0)
    own.seen_waiting(jobs[1], 0, 0.1)  # the long job ahead held the only slot until 2.0
    own.seen_waiting(jobs[2], 1, 0.1)
    forecast = own.forecast(jobs[2], 1, 0.1, running_time, parallelism=1)
    assert forecast is not None
    expect(forecast, start=4.0, finish=4.05)


def test_the_slots_are_at_least_as_many_as_the_jobs_running_while_it_waited() -> None:
    # four jobs start at once, the fifth waits behind them: the server has four slots, whatever the
    # overlaps of finished jobs have shown so far
    own, jobs = queue_of([SHORT] * 12)
    for job in jobs[:4]:
        own.seen_waiting(job, 0, 0.0)
    for position, job in enumerate(jobs[4:]):
        own.seen_waiting(job, position, 0.01)
    forecast = own.forecast(jobs[11], 7, 0.01, running_time, parallelism=1)
    assert forecast is not None
    expect(forecast, start=2 * 0.05, finish=3 * 0.05)  # two rounds of four ahead of it, not eleven of one


def test_somebody_elses_jobs_ahead_leave_the_plan_to_the_pace() -> None:
    own, jobs = queue_of([SHORT] * 3)
    own.seen_started(jobs[0], 0.0, 0.0)
    own.seen_waiting(jobs[1], 0, 0.0)
    own.seen_waiting(jobs[2], 7, 0.0)  # 7 ahead, only 1 of them ours
    assert own.forecast(jobs[2], 7, 0.0, running_time, parallelism=1) is None


def test_behind_a_job_of_unknown_running_time_the_start_is_unknown() -> None:
    own, jobs = queue_of([JobShape(1, 999, 5), SHORT])
    own.seen_started(jobs[0], 0.0, 0.0)
    own.seen_waiting(jobs[1], 0, 0.0)
    forecast = own.forecast(jobs[1], 0, 0.0, running_time, parallelism=1)
    assert forecast is not None and forecast.start is None


def test_released_jobs_no_longer_count_and_records_are_compacted() -> None:
    own, jobs = queue_of([SHORT] * 100)
    for job in jobs[:99]:
        own.release(job, finished=0.5)
    assert len(own) == 1
    forecast = own.forecast(jobs[99], 0, 1.0, running_time, parallelism=1)
    assert forecast is not None and forecast.start == pytest.approx(1.0)
    assert len(own._jobs) < 60  # finished records are dropped once they are the majority


# ---------------------------------------------------------------- a simulated FIFO server


@dataclass
class Simulated:
    polls_per_job: float
    latest: float  # the longest time from a job's finish to its completion being seen
    last_seen: float  # when the last completion was seen


def _status(index: int, at: float, start: list[float], finish: list[float], job_id: uuid.UUID) -> JobData:
    timeline: list[dict[str, Any]] = [{"source": "s", "status": "created", "timestamp": T0.isoformat()}]
    body: dict[str, Any] = {"id": str(job_id), "status": "waiting", "timeline": timeline}
    if at < start[index]:
        body["queue_position"] = sum(1 for j in range(index) if start[j] > at)
    else:
        stamp = (T0 + timedelta(seconds=start[index])).isoformat()
        timeline.append({"source": "s", "status": "execution_started", "timestamp": stamp})
        body["status"] = "processing"
        if at >= finish[index]:
            stamp = (T0 + timedelta(seconds=finish[index])).isoformat()
            timeline.append({"source": "s", "status": "ready", "timestamp": stamp})
            body["status"] = "completed"
    return JobData.model_validate(body)


def simulate(shapes: list[JobShape], durations: list[float], slots: int, rtt: float = 0.02) -> Simulated:
    """Submit every job at t = 0 to a FIFO server with ``slots`` slots; poll as the planners (and epochs) say."""
    free = [0.0] * slots
    start, finish = [], []
    for duration in durations:
        begins = heapq.heappop(free)
        start.append(begins)
        finish.append(begins + duration)
        heapq.heappush(free, begins + duration)
    model = QueueModel()
    rng = random.Random(1)
    ids = [uuid.uuid4() for _ in shapes]
    planners = [PollPlanner(model, shape=shape, rng=rng) for shape in shapes]
    polls = 0
    seen: dict[int, float] = {}
    wake: dict[int, float] = {}
    for index, planner in enumerate(planners):  # the submission responses
        planner.observe(_status(index, 0.0, start, finish, ids[index]), rtt)
    for index, planner in enumerate(planners):
        wake[index] = rtt + planner.next_delay(rtt)
    epoch = model.epoch
    while wake:
        index = min(wake, key=wake.__getitem__)
        now = wake.pop(index)
        polls += 1
        data = _status(index, now - rtt / 2, start, finish, ids[index])
        planners[index].observe(data, now, round_trip=rtt)
        if data.status.is_terminal:
            seen[index] = now
            planners[index].close()
        else:
            wake[index] = now + planners[index].next_delay(now)
        if model.epoch != epoch:  # the poller wakes every sleeper to re-plan, never later
            epoch = model.epoch
            for other in wake:
                wake[other] = min(wake[other], now + planners[other].next_delay(now))
    latest = max(seen[index] - finish[index] for index in seen)
    return Simulated(polls / len(shapes), latest, max(seen.values()))


def test_mixed_jobs_on_four_slots_need_few_polls_and_are_seen_soon_after_they_finish() -> None:
    shapes = [SHORT, LONG] * 10
    result = simulate(shapes, [TIMES[shape] for shape in shapes], slots=4)
    # the reference, polling every second, needs about 5 requests per job here
    assert result.polls_per_job <= 3.0
    makespan = 6.1
    assert result.last_seen <= makespan + 0.2
    # the first long job is found by probes spaced 1.6x apart; the others are planned from it
    assert result.latest <= 1.0


def test_a_serial_queue_is_followed_closely() -> None:
    shapes = [SHORT] * 20
    result = simulate(shapes, [0.2] * 20, slots=1)
    assert result.polls_per_job <= 2.5
    assert result.last_seen <= 20 * 0.2 + 0.1


def test_forecasts_wait_until_the_server_is_seen_holding_a_queue() -> None:
    # a wide server shows a burst queued for the moment it takes to hand the jobs to free slots
    model = QueueModel()
    ahead = model.own.track("ahead", 0.0, SHORT, 0.0)
    model.own.seen_started(ahead, 0.0, 0.0)
    record = model.own.track("a", 0.0, SHORT, 0.0)
    model.add_duration(0.05, SHORT)
    epoch = model.epoch
    model.note_waited(0.01)
    assert not model.queue_holds and model.epoch == epoch
    model.note_waited(0.2)  # still waiting 0.2 s after it was first seen: the queue holds jobs
    assert model.queue_holds and model.epoch == epoch + 1  # every sleeper re-plans, once
    model.note_waited(0.3)
    assert model.epoch == epoch + 1
    assert model.forecast(record, 0, 0.0) is not None
    # until then a waiting planner takes the forecast only where it is earlier than the pace's plan


def test_a_job_that_would_take_a_slot_none_of_ours_used_is_left_to_the_pace() -> None:
    own, jobs = queue_of([SHORT] * 3)
    for position, job in enumerate(jobs):
        own.seen_waiting(job, position, 0.0)  # three slots, all busy with somebody else's jobs
    assert own.forecast(jobs[2], 2, 0.0, running_time, parallelism=3) is None
    assert own.forecast(jobs[2], 2, 0.0, running_time, parallelism=1) is not None


def test_jobs_that_must_have_been_running_while_it_waited_widen_the_queue() -> None:
    # four slots; the first four jobs ran 0.06-0.26 s; at 0.31 the 37th job has 28 ahead of it, so four
    # more had started, and ran then: four slots, though only two jobs were ever seen running at once
    times = {SHORT: 0.2}
    own, jobs = queue_of([SHORT] * 37)
    for job in jobs[:4]:
        own.seen_started(job, 0.06, 0.1)
        own.release(job, finished=0.26)
    for position, job in enumerate(jobs[4:36]):
        own.seen_waiting(job, position, 0.1)
    own.seen_waiting(jobs[36], 28, 0.31)
    forecast = own.forecast(jobs[36], 28, 0.31, times.get, parallelism=2)
    assert forecast is not None
    expect(forecast, start=0.26 + 8 * 0.2, finish=0.26 + 9 * 0.2)  # eight rounds of four
