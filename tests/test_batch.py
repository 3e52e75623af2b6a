"""Batches against the emulator over loopback HTTP: results as completed, deadline, cleanup, detach."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from math import pi

import anyio
import pytest
import pytest_asyncio

from iqm_client_async import (
    AsyncIQMClient,
    Circuit,
    CircuitOperation,
    IQMClient,
    JobStatus,
    JobTimeoutError,
)
from iqm_client_async.emulator import BlockingEmulator, Emulator


def flip(qubit: str = "QB1", angle: float = pi) -> Circuit:
    return Circuit(
        f"flip-{qubit}",
        (
            CircuitOperation("prx", (qubit,), {"angle": angle, "phase": 0.0}),
            CircuitOperation("measure", (qubit,), {"key": "m"}),
        ),
    )


@pytest_asyncio.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with Emulator(qpu="garnet", seed=3, workers=4, job_duration_ms=30) as emu:
        yield emu


async def job_statuses(emu: Emulator, client: AsyncIQMClient, ids: list[object]) -> list[JobStatus]:
    return [(await client.get_job_data(i)).status for i in ids]  # type: ignore[arg-type]


@pytest.mark.asyncio
async def test_results_as_each_job_completes(emulator: Emulator) -> None:
    async with AsyncIQMClient(emulator.url) as client, client.batch(timeout=60, progress=False) as batch:
        for qubit in ("QB1", "QB2", "QB3", "QB4", "QB5", "QB6"):
            await batch.submit([flip(qubit)], shots=20)
        seen = []
        async for outcome in batch.as_completed():
            assert outcome.ok and outcome.status == JobStatus.COMPLETED
            assert outcome.result == [{"m": [[1]] * 20}]
            seen.append(outcome.index)
        assert sorted(seen) == list(range(6))
        progress = batch.progress()
        assert (progress.submitted, progress.done, progress.failed) == (6, 6, 0)


@pytest.mark.asyncio
async def test_clean_exit_waits_for_every_job(emulator: Emulator) -> None:
    async with AsyncIQMClient(emulator.url) as client:
        async with client.batch(progress=False) as batch:
            for _ in range(5):
                await batch.submit([flip()], shots=5)
        assert all(job.status == JobStatus.COMPLETED for job in batch.jobs)


@pytest.mark.asyncio
async def test_error_in_scope_cancels_unfinished_jobs_on_server() -> None:
    async with Emulator(qpu="garnet", seed=3, workers=1, job_duration_ms=2000) as emu:
        async with AsyncIQMClient(emu.url) as client:
            with pytest.raises(RuntimeError, match="boom"):
                async with client.batch(progress=False) as batch:
                    for _ in range(3):
                        await batch.submit([flip()], shots=5)
                    raise RuntimeError("boom")
            ids = [job.job_id for job in batch.jobs]
            assert await job_statuses(emu, client, ids) == [JobStatus.CANCELLED] * 3


@pytest.mark.asyncio
async def test_deadline_covers_the_whole_batch_and_cancels() -> None:
    async with Emulator(qpu="garnet", seed=3, workers=1, job_duration_ms=3000) as emu:
        async with AsyncIQMClient(emu.url) as client:
            started = anyio.current_time()
            with pytest.raises(JobTimeoutError, match=r"did not finish within 0\.5 s"):
                async with client.batch(timeout=0.5, progress=False) as batch:
                    await batch.submit([flip()], shots=5)
                    await batch.submit([flip()], shots=5)
                    async for _ in batch.as_completed():
                        pass
            assert anyio.current_time() - started < 3
            assert (
                await job_statuses(emu, client, [j.job_id for j in batch.jobs]) == [JobStatus.CANCELLED] * 2
            )


@pytest.mark.asyncio
async def test_outer_cancellation_cancels_jobs() -> None:
    async with Emulator(qpu="garnet", seed=3, workers=1, job_duration_ms=3000) as emu:
        async with AsyncIQMClient(emu.url) as client:
            with anyio.move_on_after(0.5):
                async with client.batch(progress=False) as batch:
                    await batch.submit([flip()], shots=5)
                    async for _ in batch.as_completed():
                        pass
            assert await job_statuses(emu, client, [j.job_id for j in batch.jobs]) == [JobStatus.CANCELLED]


@pytest.mark.asyncio
async def test_detach_keeps_jobs_running() -> None:
    async with Emulator(qpu="garnet", seed=3, workers=1, job_duration_ms=300) as emu:
        async with AsyncIQMClient(emu.url) as client:
            with pytest.raises(RuntimeError):
                async with client.batch(progress=False) as batch:
                    job = await batch.submit([flip()], shots=5)
                    batch.detach()
                    raise RuntimeError("leave the job alone")
            assert await job.wait_for_completion(timeout_secs=10) == JobStatus.COMPLETED


@pytest.mark.asyncio
async def test_progress_events(emulator: Emulator) -> None:
    async with AsyncIQMClient(emulator.url) as client, client.batch(progress=False) as batch:
        for _ in range(4):
            await batch.submit([flip()], shots=5)
        snapshots = [p async for p in batch.progress_events()]
    assert snapshots[-1].done == 4 and snapshots[-1].submitted == 4
    assert all(s.finished <= s.submitted for s in snapshots)


@pytest.mark.asyncio
async def test_failed_submission_surfaces_from_as_completed(emulator: Emulator) -> None:
    bad = Circuit("bad", (CircuitOperation("measure", ("QB1",), {"key": "__HERALD"}),))
    async with AsyncIQMClient(emulator.url) as client:
        with pytest.raises(Exception, match="__HERALD"):
            async with client.batch(progress=False) as batch:
                batch.submit_soon([bad], shots=5)
                async for _ in batch.as_completed():
                    pass


def test_blocking_batch_from_a_script() -> None:
    with (
        BlockingEmulator(qpu="garnet", seed=5, workers=2, job_duration_ms=20) as emu,
        IQMClient(emu.url) as client,
    ):
        with client.batch(timeout=60, progress=False) as batch:
            for qubit in ("QB1", "QB2", "QB3"):
                batch.submit([flip(qubit)], shots=10)
            outcomes = list(batch.as_completed())
        assert sorted(o.index for o in outcomes) == [0, 1, 2]
        assert all(o.result == [{"m": [[1]] * 10}] for o in outcomes)
        assert [job.status for job in batch.jobs] == [JobStatus.COMPLETED] * 3


def test_blocking_batch_error_cancels() -> None:
    with (
        BlockingEmulator(qpu="garnet", seed=5, workers=1, job_duration_ms=3000) as emu,
        IQMClient(emu.url) as client,
    ):
        with pytest.raises(KeyError), client.batch(progress=False) as batch:
            batch.submit([flip()], shots=10)
            raise KeyError("user code failed")
        assert [client.get_job_data(j.job_id).status for j in batch.jobs] == [JobStatus.CANCELLED]
    assert threading.active_count() >= 1


@pytest.mark.asyncio
async def test_submit_soon_indices_follow_call_order(emulator: Emulator) -> None:
    qubits = [f"QB{i}" for i in range(1, 13)]
    async with AsyncIQMClient(emulator.url, requests_per_second=1000) as client:
        async with client.batch(progress=False) as batch:
            indices = [batch.submit_soon([flip(q)], shots=4) for q in qubits]
            assert indices == list(range(12))
            outcomes = {o.index: o async for o in batch.as_completed()}  # iterated right away
        assert sorted(outcomes) == indices
        for index, qubit in enumerate(qubits):
            assert outcomes[index].job.data.id == batch.jobs[index].job_id
            payload, _ = await outcomes[index].job.payload()
            assert payload[0].name == f"flip-{qubit}"  # type: ignore[union-attr]


def test_blocking_submit_soon() -> None:
    with BlockingEmulator(qpu="garnet", seed=5, workers=4) as emu, IQMClient(emu.url) as client:
        with client.batch(progress=False) as batch:
            assert [batch.submit_soon([flip(q)], shots=2) for q in ("QB1", "QB2")] == [0, 1]
            assert sorted(o.index for o in batch.as_completed()) == [0, 1]
