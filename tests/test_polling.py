"""The poll planner: pure scheduling decisions from what the job looks like."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import pytest

from iqm_client_async._job_poller import JobPoller
from iqm_client_async._poll_planning import PollPlanner, QueueModel
from iqm_client_async.models import JobData

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def job(
    status: str,
    *,
    position: int | None = None,
    started: float | None = None,
    finished: float | None = None,
    progress: tuple[int, int] | None = None,
) -> JobData:
    timeline: list[dict[str, Any]] = [
        {"source": "iqm-server", "status": "created", "timestamp": T0.isoformat()}
    ]
    if started is not None:
        timeline.append(
            {
                "source": "s",
                "status": "execution_started",
                "timestamp": (T0 + timedelta(seconds=started)).isoformat(),
            }
        )
    if finished is not None:
        timeline.append(
            {"source": "s", "status": "ready", "timestamp": (T0 + timedelta(seconds=finished)).isoformat()}
        )
    body: dict[str, Any] = {
        "id": "3c3fcda3-e860-46bf-92a4-bcc59fa76ce9",
        "status": status,
        "queue_position": position,
        "timeline": timeline,
    }
    if progress is not None:
        body["execution"] = {"progress": {"shots": {"value": progress[0], "max_value": progress[1]}}}
    return JobData.model_validate(body)


def planner(stats: QueueModel | None = None, **kw: float) -> PollPlanner:
    return PollPlanner(stats or QueueModel(), rng=random.Random(0), **kw)


def test_delays_are_clamped() -> None:
    p = planner(min_interval=0.05, max_interval=2.0)
    p.observe(job("waiting", position=500), 0.0)
    assert 0.05 <= p.next_delay(1000.0) <= 2.0
    p.observe(job("processing", started=0.0), 0.0)
    assert p.next_delay(0.0) >= 0.05


def test_deep_in_the_queue_polls_slowly_near_the_front_quickly() -> None:
    model = QueueModel()
    model.add_queue_move("another job", 1, 1.0)  # the queue's pace is known
    deep, near = planner(model, max_interval=30), planner(model, max_interval=30)
    deep.observe(job("waiting", position=50), 0.0)
    near.observe(job("waiting", position=0), 0.0)
    assert deep.next_delay(5.0) > 2 * near.next_delay(5.0)


def test_queue_rate_predicts_the_start() -> None:
    p = planner(max_interval=60)
    p.observe(job("waiting", position=10), 0.0)
    p.observe(job("waiting", position=9), 1.0)  # one job per second
    delay = p.next_delay(1.0)
    # the job ahead is half done on average: it starts after 9.5 service times, aimed 5 % early; with
    # one job at a time seen so far, it then runs for about one service time
    assert 0.9 * 0.95 * 10.5 <= delay <= 1.1 * 0.95 * 10.5


def test_progress_extrapolates_the_finish() -> None:
    p = planner(max_interval=60)
    p.observe(job("waiting", position=0), 0.0)  # the submission response, at creation
    p.observe(job("processing", started=0.0, progress=(1, 4)), 2.0)  # a quarter done after 2 s
    assert 5.4 <= p.next_delay(2.0) <= 6.7


def test_earlier_jobs_teach_the_running_time() -> None:
    stats = QueueModel()
    first = planner(stats)
    first.observe(job("completed", started=0.0, finished=0.2), 0.3)
    assert stats.running_time(None) == (pytest.approx(0.2), True)
    second = planner(stats)
    second.observe(job("waiting", position=0), 100.0)  # submitted at local time 100 = server T0
    second.observe(job("processing", started=10.0), 110.05)  # started at local 110
    delay = second.next_delay(110.05)
    assert 0.14 <= delay <= 0.19  # finish expected 0.2 s after start: ~0.15 s from now plus a margin


def test_unknown_running_time_backs_off_with_time_in_state() -> None:
    p = planner(max_interval=10)
    p.observe(job("processing"), 0.0)
    early, late = p.next_delay(0.1), p.next_delay(8.0)
    assert early < 0.1 and late > 1.0


def test_jitter_spreads_identical_jobs() -> None:
    delays = set()
    for seed in range(5):
        p = PollPlanner(QueueModel(), rng=random.Random(seed), max_interval=30)
        p.observe(job("waiting", position=20), 0.0)
        delays.add(round(p.next_delay(3.0), 6))
    assert len(delays) == 5


def test_jitter_only_ever_makes_a_poll_earlier() -> None:
    nominal = planner(max_interval=60)
    nominal.observe(job("waiting", position=10), 0.0)
    nominal.observe(job("waiting", position=9), 1.0)
    for seed in range(50):
        p = PollPlanner(QueueModel(), rng=random.Random(seed), max_interval=60)
        p.observe(job("waiting", position=10), 0.0)
        p.observe(job("waiting", position=9), 1.0)
        assert 0.95 * 10.5 - 0.05 <= p.next_delay(1.0) <= 0.95 * 10.5


def test_at_the_front_expect_the_job_ahead_half_done() -> None:
    p = planner(max_interval=60)
    p.observe(job("waiting", position=2), 0.0)
    p.observe(job("waiting", position=0), 2.0)  # one job per second
    # it starts in half a service time, then runs about one (one job at a time seen so far)
    assert 0.45 + 0.9 <= p.next_delay(2.0) <= 0.5 + 0.95


def test_a_larger_max_interval_from_the_poller_lets_deep_jobs_wait_longer() -> None:
    model = QueueModel()
    model.add_queue_move("another job", 1, 1.0)
    p = planner(model, max_interval=5)
    p.observe(job("waiting", position=5000), 0.0)
    assert p.next_delay(1.0) <= 5.0
    assert p.next_delay(1.0, max_interval=40.0) > 30.0


@pytest.mark.asyncio
async def test_many_waiting_jobs_together_stay_under_the_poll_rate() -> None:
    polls = 0

    async def fetch(job_id: object, *, background: bool) -> JobData:
        nonlocal polls
        polls += 1
        return job("waiting", position=1000)

    poller = JobPoller(fetch, min_interval=0.01, max_interval=0.1, max_polls_per_second=20)
    async with anyio.create_task_group() as tg:
        for _ in range(40):
            tg.start_soon(lambda: poller.wait(job("waiting").id, job("waiting"), max_wait=None))
        await anyio.sleep(0.5)
        assert poller.waiters == 40
        settled = polls  # each status refreshed at the start, a few more while the waiters were counted
        await anyio.sleep(1.5)
        tg.cancel_scope.cancel()
    assert 40 <= settled < 80
    # without the shared cap: 40 jobs every 0.1 s, ~600 polls in 1.5 s; with it: 20 per second, plus
    # the probes of the queue's unknown pace (jobs 1, 4 and 16, on a doubling schedule: 2 polls each)
    assert polls - settled <= 40 + 2 * 3
    assert poller.waiters == 0


def test_a_poll_aimed_at_the_finish_is_unjittered_and_sent_half_a_round_trip_early() -> None:
    stats = QueueModel()
    stats.add_duration(1.0)
    delays = set()
    for seed in range(5):
        p = PollPlanner(stats, rng=random.Random(seed), max_interval=30)
        p.observe(job("waiting", position=0), 100.0)  # local 100 = server T0
        p.observe(job("processing", started=0.0), 100.2, round_trip=0.04)
        delays.add(round(p.next_delay(100.2), 9))
    assert delays == {round(1.0 - 0.2 - 0.02 + 0.01, 9)}


def test_overdue_jobs_are_polled_again_soon_then_less_often() -> None:
    stats = QueueModel()
    stats.add_duration(1.0)
    p = planner(stats, max_interval=30)
    p.observe(job("waiting", position=0), 100.0)
    p.observe(job("processing", started=0.0), 101.05)
    just_overdue, long_overdue = p.next_delay(101.05), p.next_delay(111.0)
    assert just_overdue <= 0.05 and long_overdue > 2.0
