"""Execution slots are a count, not tasks: a huge ``workers`` costs nothing idle, and every ended job frees its slot."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import httpx
import pytest

from iqm_client_async.emulator import Emulator
from iqm_client_async.emulator.jobs import timestamp
from iqm_client_async.models.jobs import JobStatus

from .server_helpers import run_request, submit, wait_for

JOBS = 50


@pytest.mark.asyncio
async def test_huge_worker_count_keeps_submissions_cheap_and_spawns_no_idle_tasks() -> None:
    loop = asyncio.get_running_loop()
    async with (
        Emulator(serve_http=False, workers=100_000, job_duration_ms=1500, seed=1) as emulator,
        httpx.AsyncClient(transport=emulator.transport(), base_url="http://emulator") as client,
    ):
        idle_tasks = len(asyncio.all_tasks())
        started = loop.time()
        ids = [(await submit(client)).json()["id"] for _ in range(JOBS)]
        submitting = loop.time() - started
        await wait_for(client, ids[-1], {"processing"})
        counters = (await client.get("/about")).json()["counters"]
        running_tasks = len(asyncio.all_tasks())

        done = [await wait_for(client, job_id) for job_id in ids]

        assert idle_tasks < 10  # was one task per slot: 100,000
        assert submitting < 5  # was ~0.4 s of CPU per submission, waking every idle slot
        assert counters["jobs_running"] == JOBS  # all at once: there are slots enough
        assert running_tasks <= idle_tasks + JOBS  # one task per running job, none per idle slot
        assert [job["status"] for job in done] == ["completed"] * JOBS
        await asyncio.sleep(0)  # let the ended jobs' callbacks free their slots
        assert len(asyncio.all_tasks()) <= idle_tasks
        assert not emulator.core.jobs.running_jobs()


@pytest.mark.asyncio
async def test_a_job_cancelled_before_its_task_first_runs_frees_its_slot() -> None:
    async with Emulator(serve_http=False, workers=1, job_duration_ms=5000) as emulator:
        jobs = emulator.core.jobs
        prepared = await jobs.prepare(json.dumps(run_request()).encode())
        first, _ = await jobs.submit(prepared, quantum_computer="garnet", received_at=timestamp())
        second, _ = await jobs.submit(prepared, quantum_computer="garnet", received_at=timestamp())
        await _until(lambda: first.status is JobStatus.PROCESSING, pause=0)  # seen as soon as it starts
        assert first.timeline[-1]["status"] == "validation_ended"  # its task has not run yet

        await jobs.cancel(first)  # its task is cancelled before its first step: its body never runs

        await _until(lambda: second.status is JobStatus.PROCESSING)
        assert first.status is JobStatus.CANCELLED
        assert jobs.queue_length() == 0


@pytest.mark.asyncio
async def test_stopping_leaves_running_jobs_unfinished_and_starts_no_waiting_one() -> None:
    async with Emulator(serve_http=False, workers=2, job_duration_ms=5000) as emulator:
        async with httpx.AsyncClient(transport=emulator.transport(), base_url="http://emulator") as client:
            ids = [(await submit(client)).json()["id"] for _ in range(3)]
            await wait_for(client, ids[1], {"processing"})
        jobs = emulator.core.jobs
        records = [jobs.get(job_id) for job_id in ids]

    statuses = [record.status if record is not None else None for record in records]
    assert statuses == [JobStatus.PROCESSING, JobStatus.PROCESSING, JobStatus.WAITING]


async def _until(condition: Callable[[], bool], *, pause: float = 0.01) -> None:
    """Wait (at most 5 s) until ``condition()`` holds, checking every ``pause`` seconds."""
    async with asyncio.timeout(5):
        while True:
            if condition():
                return
            await asyncio.sleep(pause)
