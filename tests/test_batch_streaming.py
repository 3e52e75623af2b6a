"""A batch with a producer and a consumer at once, and its progress: fresh positions, running jobs."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import AsyncIterator
from math import pi
from typing import Any

import anyio
import pytest
import pytest_asyncio

from iqm_client_async import AsyncIQMClient, Circuit, CircuitOperation, IQMClient, IQMError
from iqm_client_async.batch import JobBatch
from iqm_client_async.emulator import BlockingEmulator, Emulator
from iqm_client_async.models import JobData


def flip(qubit: str = "QB1") -> Circuit:
    return Circuit(
        f"flip-{qubit}",
        (
            CircuitOperation("prx", (qubit,), {"angle": pi, "phase": 0.0}),
            CircuitOperation("measure", (qubit,), {"key": "m"}),
        ),
    )


@pytest_asyncio.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with Emulator(qpu="garnet", seed=3, workers=4, job_duration_ms=30) as emu:
        yield emu


@pytest.mark.asyncio
async def test_a_consumer_sees_every_job_a_slower_producer_submits(emulator: Emulator) -> None:
    async with (
        AsyncIQMClient(emulator.url) as client,
        client.batch(timeout=60, progress=False) as batch,
        anyio.create_task_group() as tg,
    ):
        batch.keep_open()

        async def produce() -> None:
            try:
                for _ in range(20):
                    await batch.submit([flip()], shots=3)
                    await anyio.sleep(0.1)  # the consumer catches up between submissions
            finally:
                batch.close()

        tg.start_soon(produce)
        seen = [outcome.index async for outcome in batch.as_completed()]
    assert sorted(seen) == list(range(20))
    assert batch.closed


@pytest.mark.asyncio
async def test_progress_events_run_until_the_batch_is_closed(emulator: Emulator) -> None:
    async with AsyncIQMClient(emulator.url) as client, client.batch(progress=False) as batch:
        batch.keep_open()

        async def produce() -> None:
            for _ in range(3):
                await batch.submit([flip()], shots=3)
                await anyio.sleep(0.2)
            batch.close()

        async with anyio.create_task_group() as tg:
            tg.start_soon(produce)
            snapshots = [p async for p in batch.progress_events()]
    assert snapshots[-1].submitted == snapshots[-1].done == 3


@pytest.mark.asyncio
async def test_a_closed_batch_refuses_submissions(emulator: Emulator) -> None:
    async with AsyncIQMClient(emulator.url) as client, client.batch(progress=False) as batch:
        await batch.submit([flip()], shots=3)
        batch.close()
        with pytest.raises(IQMError, match="closed"):
            await batch.submit([flip()], shots=3)
        with pytest.raises(IQMError, match="closed"):
            batch.submit_soon([flip()], shots=3)
        assert [o.index async for o in batch.as_completed()] == [0]


def test_blocking_producer_thread_and_consumer() -> None:
    with (
        BlockingEmulator(qpu="garnet", seed=5, workers=2, job_duration_ms=20) as emu,
        IQMClient(emu.url) as client,
        client.batch(timeout=60, progress=False) as batch,
    ):
        batch.keep_open()

        def produce() -> None:
            try:
                for _ in range(5):
                    batch.submit([flip()], shots=2)
                    time.sleep(0.1)
            finally:
                batch.close()

        producer = threading.Thread(target=produce)
        producer.start()
        indices = sorted(o.index for o in batch.as_completed())
        producer.join()
    assert indices == list(range(5))


def _data(job_id: uuid.UUID, status: str, position: int | None = None) -> JobData:
    body: dict[str, Any] = {"id": str(job_id), "status": status, "queue_position": position, "timeline": []}
    return JobData.model_validate(body)


class _Services:
    """Enough of a client's services for a batch that is only fed statuses."""


def _fed_batch(jobs: int) -> tuple[JobBatch, list[uuid.UUID]]:
    batch = JobBatch(_Services())  # type: ignore[arg-type]
    ids = [uuid.uuid4() for _ in range(jobs)]
    for index, job_id in enumerate(ids):
        batch._indices[job_id] = index
        batch._submitted += 1
        batch._note(_data(job_id, "waiting", position=index))
    return batch, ids


@pytest.mark.asyncio
async def test_running_counts_the_jobs_a_later_job_has_passed() -> None:
    batch, ids = _fed_batch(5)
    assert (batch.progress().queued, batch.progress().running) == (5, 0)
    batch._note(_data(ids[3], "completed"))  # jobs 0, 1 and 2 went ahead of it: they have started
    progress = batch.progress()
    assert (progress.queued, progress.running, progress.done) == (1, 3, 1)
    assert progress.best_queue_position == 4  # the only job still known to wait
    batch._note(_data(ids[0], "completed"))
    assert (batch.progress().running, batch.progress().done) == (2, 2)


@pytest.mark.asyncio
async def test_a_queue_position_is_only_shown_while_fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    batch, _ = _fed_batch(2)
    assert batch.progress().best_queue_position == 0
    later = time.monotonic() + 10
    monkeypatch.setattr(time, "monotonic", lambda: later)
    assert batch.progress().best_queue_position is None


@pytest.mark.asyncio
async def test_progress_bookkeeping_stays_proportional_to_the_jobs() -> None:
    batch, ids = _fed_batch(10)
    for round_ in range(200):  # every job seen waiting again and again, its position dropping
        for index, job_id in enumerate(ids):
            batch._note(_data(job_id, "waiting", position=max(index + 200 - round_, 0)))
    assert len(batch._position_heap) <= 2 * 10 + 64 + 1
    assert len(batch._waiting_heap) <= 2 * 10 + 64 + 1
    assert batch.progress().best_queue_position == 1


def test_the_progress_bar_is_on_by_default_only_in_a_jupyter_kernel_with_widgets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib.util
    import sys

    from iqm_client_async import batch as batch_module

    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)
    assert not batch_module._interactive()  # a terminal: no bar to interleave with the user's prints
    monkeypatch.setitem(sys.modules, "ipykernel", object())
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "ipywidgets" else real_find_spec(name, *a),
    )
    assert not batch_module._interactive()  # a notebook without widgets: no "IProgress not found"
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object())
    assert batch_module._interactive()
