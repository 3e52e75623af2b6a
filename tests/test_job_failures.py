"""Paths a job takes when things go wrong: result_or_raise, a failed poll shared by several waiters, a
failed poll inside a batch."""

from __future__ import annotations

from collections.abc import Iterator
from math import pi

import anyio
import pytest
from conftest import BASE, JOB_ID, FakeServer, job_json

from iqm_client_async import (
    AsyncIQMClient,
    Circuit,
    CircuitOperation,
    ClientConfigurationError,
    IQMError,
    JobTimeoutError,
    NotFoundError,
    set_testing,
)

pytestmark = pytest.mark.asyncio

BELL = Circuit(
    name="bell",
    instructions=(
        CircuitOperation("prx", ("QB1",), {"angle": pi / 2, "phase": pi / 2}),
        CircuitOperation("measure", ("QB1", "QB2"), {"key": "m"}),
    ),
)


@pytest.fixture(autouse=True)
def no_backoff() -> Iterator[None]:
    set_testing(True)
    yield
    set_testing(False)


def client_for(server: FakeServer) -> AsyncIQMClient:
    return AsyncIQMClient(BASE, transport=server.transport(), max_retries=1)


async def test_result_or_raise_returns_the_results_of_a_completed_job(server: FakeServer) -> None:
    server.job_sequence("processing", "completed")
    async with client_for(server) as client:
        job = await client.submit_circuits([BELL], shots=2)
        assert await job.result_or_raise(timeout_secs=10) == [{"m": [[0, 0], [1, 1]]}]


async def test_result_or_raise_names_the_errors_of_a_failed_job(server: FakeServer) -> None:
    failed = job_json("failed", errors=[{"source": "compiler", "message": "no route", "error_code": "x1"}])
    server.job_sequence(failed)
    async with client_for(server) as client:
        job = await client.submit_circuits([BELL], shots=2)
        with pytest.raises(IQMError, match=r"ended with status failed: x1: no route"):
            await job.result_or_raise(timeout_secs=10)


async def test_result_or_raise_times_out_with_a_typed_error(server: FakeServer) -> None:
    server.job_sequence("waiting")
    async with client_for(server) as client:
        job = await client.submit_circuits([BELL], shots=2)
        with pytest.raises(JobTimeoutError, match=r"did not finish within 0\.3 s"):
            await job.result_or_raise(timeout_secs=0.3)


async def test_a_failed_poll_reaches_every_waiter_of_the_job(server: FakeServer) -> None:
    server.job.respond(404, json={"message": "job vanished", "error_code": "not_found"})
    failures: list[BaseException] = []
    async with client_for(server) as client:
        handle = await client.submit_circuits([BELL], shots=2)

        async def waiter() -> None:
            try:
                await handle.wait_for_completion(timeout_secs=10)
            except NotFoundError as exc:
                failures.append(exc)

        async with anyio.create_task_group() as tg:
            for _ in range(3):
                tg.start_soon(waiter)
    assert len(failures) == 3 and all("job vanished" in str(exc) for exc in failures)
    # the waiters shared their status requests: far fewer than one per waiter per retry
    assert server.job.call_count <= 2 * 2


async def test_a_failed_poll_inside_a_batch_is_raised_from_as_completed(server: FakeServer) -> None:
    server.job.respond(500, json={"message": "database down", "error_code": "internal"})
    cancel = server.router.post(f"/api/v1/jobs/{JOB_ID}/cancel").respond(204)
    async with client_for(server) as client:
        with pytest.raises(Exception) as info:
            async with client.batch(progress=False) as batch:
                await batch.submit([BELL], shots=2)
                async for _ in batch.as_completed():
                    pass
    errors = info.value.exceptions if isinstance(info.value, BaseExceptionGroup) else (info.value,)
    assert any("database down" in str(error) for error in errors)
    assert cancel.called, "a batch leaving with an error cancels its unfinished jobs"


@pytest.mark.parametrize(
    ("arguments", "fragment"),
    [
        ({"timeout_secs": "5"}, "timeout_secs must be a number"),
        ({"timeout_secs": float("nan")}, "timeout_secs"),
        ({"timeout_secs": -1}, "timeout_secs"),
        ({"polling_interval": 0}, "polling_interval"),
        ({"polling_interval": True}, "polling_interval"),
        ({"progress_callback": "print"}, "progress_callback must be callable"),
    ],
)
async def test_bad_wait_arguments_are_refused_before_any_poll(
    server: FakeServer, arguments: dict[str, object], fragment: str
) -> None:
    server.job_sequence("waiting")
    async with client_for(server) as client:
        job = await client.submit_circuits([BELL], shots=2)
        polls = server.job.call_count
        with pytest.raises(ClientConfigurationError, match=fragment):
            await job.wait_for_completion(**arguments)  # type: ignore[arg-type]
        assert server.job.call_count == polls
