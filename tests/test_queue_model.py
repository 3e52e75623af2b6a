"""The client-wide queue model, probing, and the re-planning of sleeping jobs when the model learns."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import pytest

from iqm_client_async._job_poller import JobPoller
from iqm_client_async._poll_planning import JobShape, PollPlanner, QueueModel
from iqm_client_async.models import JobData

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SHORT = JobShape(circuits=1, shots=100, instructions=5)
LONG = JobShape(circuits=1, shots=4000, instructions=5)


def job(
    status: str,
    *,
    job_id: uuid.UUID | None = None,
    position: int | None = None,
    started: float | None = None,
    finished: float | None = None,
) -> JobData:
    timeline: list[dict[str, Any]] = [{"source": "s", "status": "created", "timestamp": T0.isoformat()}]
    for name, at in (("execution_started", started), ("ready", finished)):
        if at is not None:
            timeline.append(
                {"source": "s", "status": name, "timestamp": (T0 + timedelta(seconds=at)).isoformat()}
            )
    return JobData.model_validate(
        {
            "id": str(job_id or uuid.uuid4()),
            "status": status,
            "queue_position": position,
            "timeline": timeline,
        }
    )


def planner(model: QueueModel, shape: JobShape | None = None, max_interval: float = 1000.0) -> PollPlanner:
    return PollPlanner(model, shape=shape, rng=random.Random(0), max_interval=max_interval)


def test_a_job_without_history_plans_from_the_pace_other_jobs_saw() -> None:
    model = QueueModel()
    other = planner(model)
    other.observe(job("waiting", position=40), 0.0)
    other.observe(job("waiting", position=20), 1.0)  # 20 jobs left the queue in 1 s
    fresh = planner(model)
    fresh.observe(job("waiting", position=100), 1.0)
    assert model.pace() == pytest.approx(20.0)
    assert fresh.next_delay(1.0) == pytest.approx(0.95 * 100.5 / 20, rel=0.02)


def test_a_job_first_seen_at_p_then_started_teaches_the_pace() -> None:
    model = QueueModel()
    p = planner(model)
    p.observe(job("waiting", position=9), 100.0)  # local 100 = server T0
    p.observe(job("processing", started=0.5), 100.6)  # 10 jobs left (itself included) within 0.5 s
    assert model.pace() == pytest.approx(20.0)


def test_parallelism_from_overlapping_runs() -> None:
    model = QueueModel()
    for start in (0.0, 0.01, 0.02, 0.5):
        model.add_interval(start, start + 0.2)
    assert model.parallelism == 3


def test_running_time_per_shape_keeps_a_long_job_from_looking_overdue() -> None:
    model = QueueModel()
    for _ in range(5):
        model.add_duration(0.05, SHORT)
    model.add_duration(2.0, LONG)
    long_job = planner(model, LONG)
    long_job.observe(job("waiting", position=0), 100.0)
    long_job.observe(job("processing", started=0.0), 100.5)
    # aimed at its own shape's finish (2 s after its start), not at the short jobs' median
    assert long_job.next_delay(100.5) == pytest.approx(1.5 + 0.01, abs=0.01)


def test_an_unmeasured_shape_is_not_trusted_with_a_smaller_shapes_time() -> None:
    model = QueueModel()
    model.add_duration(0.05, SHORT)
    assert model.running_time(LONG) == (0.05, False)  # a lower bound, not a prediction
    assert model.running_time(SHORT) == (0.05, True)
    assert model.running_time(JobShape(1, 10, 5)) == (None, False)  # nothing smaller was measured


def _probes_in_a_burst(jobs: int) -> int:
    model = QueueModel()
    early = 0
    for _ in range(jobs):
        p = planner(model, SHORT)
        p.observe(job("processing", started=0.0), 100.0)  # nothing known about this shape yet
        early += p.next_delay(100.0) < 1000.0  # non-probes wait the longest delay allowed
    return early


def test_probes_per_burst_grow_logarithmically() -> None:
    assert _probes_in_a_burst(1) == 1
    assert _probes_in_a_burst(300) == 5  # jobs 1, 4, 16, 64 and 256 of the burst
    assert _probes_in_a_burst(10_000) == 7


def test_a_probe_keeps_probing_and_a_non_probe_keeps_waiting_within_an_epoch() -> None:
    model = QueueModel()
    probe, other = planner(model, SHORT), planner(model, SHORT)
    probe.observe(job("processing", started=0.0), 100.0)
    probe.next_delay(100.0)
    other.observe(job("processing", started=0.0), 100.0)
    other.next_delay(100.0)
    third = planner(model, SHORT)
    third.observe(job("processing", started=0.0), 100.0)
    assert other.next_delay(100.0) == third.next_delay(100.0) == 1000.0  # the 2nd and 3rd are no probes
    assert probe.next_delay(100.5) < 1.0  # asked again: still a probe, on its geometric schedule
    model.add_duration(0.3, SHORT)  # the epoch moves on: everyone plans from the measurement
    assert third.next_delay(100.05) == pytest.approx(0.3 - 0.05 + 0.01, abs=0.01)


def test_the_epoch_moves_only_when_plans_come_earlier() -> None:
    model = QueueModel()
    model.add_queue_move("a", 1, 1.0)
    epoch = model.epoch
    model.add_queue_move("b", 1, 2.0)  # slower: no reason to wake anyone
    model.add_queue_move("c", 1, 0.9)
    assert model.epoch == epoch
    model.add_queue_move("d", 10, 0.1)  # much faster
    assert model.epoch == epoch + 1
    model.add_duration(1.0, SHORT)
    epoch = model.epoch
    model.add_duration(1.2, SHORT)
    assert model.epoch == epoch
    model.add_duration(0.1, SHORT)
    model.add_duration(0.1, SHORT)  # the median drops below two thirds
    assert model.epoch > epoch


class _FakeServer:
    """Answers status requests from a dict the test edits, counting them per job."""

    def __init__(self) -> None:
        self.states: dict[uuid.UUID, JobData] = {}
        self.polls: dict[uuid.UUID, int] = {}
        self.polled = anyio.Event()

    async def fetch(self, job_id: uuid.UUID, *, background: bool) -> JobData:
        self.polls[job_id] = self.polls.get(job_id, 0) + 1
        self.polled.set()
        self.polled = anyio.Event()
        return self.states[job_id]


@pytest.mark.asyncio
async def test_a_sleeper_is_moved_earlier_by_another_jobs_evidence() -> None:
    server = _FakeServer()
    poller = JobPoller(server.fetch, max_interval=1000.0)
    poller.model.add_queue_move("earlier job", 1, 10.0)  # a slow queue so far: 0.1 job/s
    sleeper, witness = uuid.uuid4(), uuid.uuid4()
    server.states[sleeper] = job("waiting", job_id=sleeper, position=50)
    now = anyio.current_time()
    async with anyio.create_task_group() as tg:
        tg.start_soon(lambda: poller.wait(sleeper, server.states[sleeper], received_at=now, max_wait=None))
        await anyio.sleep(0.05)
        assert server.polls == {}  # planned 0.9 x 50 / 0.1 = 450 s ahead
        # another job, last seen at position 400 two seconds ago, is now at the front: 200 jobs/s
        server.states[witness] = job("waiting", job_id=witness, position=0)
        seen_before = job("waiting", job_id=witness, position=400)
        tg.start_soon(lambda: poller.wait(witness, seen_before, received_at=now - 2.0, max_wait=None))
        # the shared pace is now (1 + 400) / (10 + 2) s: re-planned to 0.9 x 50 / 33 = 1.3 s; 450 s without
        with anyio.fail_after(10):
            while sleeper not in server.polls:
                await server.polled.wait()
        tg.cancel_scope.cancel()


@pytest.mark.asyncio
async def test_a_sleeper_is_never_moved_later() -> None:
    server = _FakeServer()
    poller = JobPoller(server.fetch, max_interval=1000.0)
    poller.model.add_queue_move("earlier job", 10, 1.0)  # 10 jobs/s
    sleeper, witness = uuid.uuid4(), uuid.uuid4()
    server.states[sleeper] = job("waiting", job_id=sleeper, position=30)
    now = anyio.current_time()
    async with anyio.create_task_group() as tg:
        tg.start_soon(
            lambda: poller.wait(sleeper, server.states[sleeper], received_at=now, max_wait=None, shape=SHORT)
        )
        await anyio.sleep(0.05)  # planned 0.9 x 30 / 10 = 2.7 s ahead
        # another job of the same shape turns out to have run 500 s: the epoch moves on, and planned
        # afresh (aimed at its finish) the sleeper would wait 500 s more
        server.states[witness] = job("completed", job_id=witness, started=0.0, finished=500.0)
        seen_before = job("waiting", job_id=witness, position=0)
        tg.start_soon(
            lambda: poller.wait(witness, seen_before, received_at=now - 2.0, max_wait=None, shape=SHORT)
        )
        with anyio.fail_after(10):
            while sleeper not in server.polls:
                await server.polled.wait()
        assert poller.model.running_time(SHORT) == (500.0, True)
        tg.cancel_scope.cancel()


@pytest.mark.asyncio
async def test_long_sleepers_share_alarms_and_outlive_a_cancelled_holder() -> None:
    server = _FakeServer()
    poller = JobPoller(server.fetch, max_interval=1000.0)
    poller.model.add_queue_move("earlier job", 10, 1.0)  # 10 jobs/s: a job at position 20 waits ~1.8 s
    now = anyio.current_time()
    ids = [uuid.uuid4() for _ in range(200)]
    for job_id in ids:
        server.states[job_id] = job("waiting", job_id=job_id, position=20)
    async with anyio.create_task_group() as tg:
        scopes = []
        for job_id in ids:
            scope = anyio.CancelScope()
            scopes.append(scope)

            async def wait(job_id: uuid.UUID = job_id, scope: anyio.CancelScope = scope) -> None:
                with scope:
                    await poller.wait(job_id, server.states[job_id], received_at=now, max_wait=None)

            tg.start_soon(wait)
        await anyio.sleep(0.05)
        assert 1 <= len(poller._alarms) <= 10  # 200 sleepers, a handful of timers
        scopes[0].cancel()  # the first sleeper holds an alarm others share
        with anyio.fail_after(10):
            while len(server.polls) < len(ids) - 1:
                await server.polled.wait()
        assert ids[0] not in server.polls
        tg.cancel_scope.cancel()
