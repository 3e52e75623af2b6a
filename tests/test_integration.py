"""Both clients against the emulator over real loopback HTTP: every endpoint a user meets."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from math import pi

import anyio
import pytest
import pytest_asyncio

from iqm_client_async import (
    AsyncIQMClient,
    AuthenticationError,
    Circuit,
    CircuitCompilationOptions,
    CircuitOperation,
    CircuitValidationError,
    ConflictError,
    HeraldingMode,
    IQMClient,
    JobStatus,
    NotFoundError,
    ObservationFinder,
)
from iqm_client_async.emulator import BlockingEmulator, Emulator

SHOTS = 200


def bell(a: str = "QB1", b: str = "QB2") -> Circuit:
    return Circuit(
        "bell",
        (
            CircuitOperation("prx", (a,), {"angle": pi / 2, "phase": pi / 2}),
            CircuitOperation("prx", (b,), {"angle": pi / 2, "phase": pi / 2}),
            CircuitOperation("cz", (a, b)),
            CircuitOperation("prx", (b,), {"angle": pi / 2, "phase": 3 * pi / 2}),
            CircuitOperation("measure", (a, b), {"key": "m"}),
        ),
        metadata={"experiment": "bell"},
    )


def x_then_measure(qubit: str) -> Circuit:
    return Circuit(
        "x",
        (
            CircuitOperation("prx", (qubit,), {"angle": pi, "phase": 0}),
            CircuitOperation("measure", (qubit,), {"key": "z"}),
        ),
    )


@pytest_asyncio.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator(qpu="garnet", seed=11) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def blocking_emu() -> Iterator[BlockingEmulator]:
    with BlockingEmulator(qpu="garnet", seed=12) as emulator:
        yield emulator


@pytest.mark.asyncio
async def test_async_client_every_endpoint(emu: Emulator) -> None:
    async with AsyncIQMClient(emu.url, client_signature="integration-test") as client:
        assert client.quantum_computer_name == "garnet"
        assert isinstance(await client.get_health(), dict)
        assert await client.get_about()
        sqa = await client.get_static_quantum_architecture()
        assert len(sqa.qubits) == 20 and ["QB1", "QB2"] in [list(c) for c in sqa.connectivity]
        assert await client._get_dut_label() == sqa.dut_label
        groups = await client.get_feedback_groups()
        assert set().union(*groups) == set(sqa.qubits)
        dqa = await client.get_dynamic_quantum_architecture()
        assert {"prx", "cz", "measure", "cc_prx"} <= set(dqa.gates)
        assert await client.get_dynamic_quantum_architecture(dqa.calibration_set_id) is dqa
        calset = await client.get_calibration_set()
        assert calset.observation_set_id == dqa.calibration_set_id
        metrics = await client.get_quality_metric_set(dqa.calibration_set_id)
        assert metrics.describes_id == dqa.calibration_set_id
        finder = await client._get_calibration_quality_metrics()
        assert isinstance(finder, ObservationFinder)
        t1, t2 = finder.get_coherence_times(["QB1"])
        assert 0 < t1["QB1"] < 1e-2 and 0 < t2["QB1"] < 1e-2

        job = await client.submit_circuits([bell(), x_then_measure("QB3")], shots=SHOTS)
        assert await job.wait_for_completion(timeout_secs=30) == JobStatus.COMPLETED
        assert (
            job.data.compilation is not None
            and job.data.compilation.calibration_set_id == dqa.calibration_set_id
        )
        assert job.find_timeline_entry("ready") is not None
        results = await job.result()
        assert results is not None
        shots = results[0]["m"]
        assert len(shots) == SHOTS and {tuple(s) for s in shots} <= {(0, 0), (1, 1)}
        assert 0.3 < sum(s[0] for s in shots) / SHOTS < 0.7
        assert results[1]["z"] == [[1]] * SHOTS
        counts = await client.get_job_measurement_counts(job.job_id)
        assert counts[0].measurement_keys == ["m"] and set(counts[0].counts) <= {"00", "11"}
        assert sum(counts[0].counts.values()) == SHOTS and counts[1].counts == {"1": SHOTS}
        assert await client.get_job_measurements(job.job_id) == results
        circuits, params = await job.payload()
        assert [c.name for c in circuits if isinstance(c, Circuit)] == ["bell", "x"]
        assert params.shots == SHOTS and circuits[0].metadata == {"experiment": "bell"}  # type: ignore[union-attr]
        again = await client.get_job(job.job_id)
        assert again.status == JobStatus.COMPLETED
        await client.delete_job(job.job_id)
        with pytest.raises(NotFoundError):
            await client.get_job_data(job.job_id)


@pytest.mark.asyncio
async def test_cancel_and_artifacts_of_unfinished_jobs() -> None:
    async with Emulator(qpu="garnet", seed=1, workers=1, job_duration_ms=2000) as emu:
        async with AsyncIQMClient(emu.url) as client:
            running = await client.submit_circuits([bell()], shots=10)
            queued = await client.submit_circuits([bell()], shots=10)
            await queued.update()
            assert queued.status == JobStatus.WAITING and queued.data.queue_position is not None
            with pytest.raises((ConflictError, NotFoundError)):
                await client.get_job_measurements(queued.job_id)
            await queued.cancel()
            await running.cancel()
            for job in (queued, running):
                assert await job.wait_for_completion(timeout_secs=10) == JobStatus.CANCELLED
                assert await job.result() is None


@pytest.mark.asyncio
async def test_validation_errors_before_submission(emu: Emulator) -> None:
    async with AsyncIQMClient(emu.url) as client:
        uncalibrated = Circuit("far", (CircuitOperation("cz", ("QB1", "QB20")),))
        with pytest.raises(CircuitValidationError, match="not allowed as locus for 'cz'"):
            await client.submit_circuits([uncalibrated])
        with pytest.raises(ValueError, match="greater than zero"):
            await client.submit_circuits([bell()], shots=0)
    assert emu.stats()["jobs_created"] == 0


@pytest.mark.asyncio
async def test_logical_names_heralding_and_many_concurrent_jobs(emu: Emulator) -> None:
    async with AsyncIQMClient(emu.url) as client:
        options = CircuitCompilationOptions(heralding_mode=HeraldingMode.ZEROS, active_reset_cycles=1)
        logical = Circuit(
            "logical",
            (
                CircuitOperation("prx", ("a",), {"angle": pi, "phase": 0.0}),
                CircuitOperation("measure", ("a", "b"), {"key": "m"}),
            ),
        )

        async def run(i: int) -> None:
            job = await client.submit_circuits(
                [logical], qubit_mapping={"a": "QB4", "b": "QB5"}, shots=50, options=options
            )
            assert await job.wait_for_completion(timeout_secs=30) == JobStatus.COMPLETED
            result = await job.result()
            assert result == [{"m": [[1, 0]] * 50}]

        async with anyio.create_task_group() as tg:
            for i in range(20):
                tg.start_soon(run, i)
    assert emu.stats()["jobs_created"] == 20


@pytest.mark.asyncio
async def test_wrong_token_is_a_clear_authentication_error() -> None:
    async with Emulator(qpu="garnet", token="right-token") as emu:
        with pytest.raises(AuthenticationError) as info:
            async with AsyncIQMClient(emu.url, token="wrong-token"):
                pass
        assert info.value.status_code == 401 and "wrong-token" not in str(info.value)
        async with AsyncIQMClient(emu.url, token="right-token") as client:
            assert client.quantum_computer_name == "garnet"


@pytest.mark.asyncio
async def test_deneb_move_round_trip() -> None:
    async with Emulator(qpu="deneb", seed=4) as emu, AsyncIQMClient(emu.url) as client:
        dqa = await client.get_dynamic_quantum_architecture()
        qubit, resonator = dqa.gates["move"].loci[0]
        circuit = Circuit(
            "move",
            (
                CircuitOperation("prx", (qubit,), {"angle": pi, "phase": 0.0}),
                CircuitOperation("move", (qubit, resonator)),
                CircuitOperation("move", (qubit, resonator)),
                CircuitOperation("measure", (qubit,), {"key": "q"}),
            ),
        )
        job = await client.submit_circuits([circuit], shots=20)
        await job.wait_for_completion(timeout_secs=30)
        assert await job.result() == [{"q": [[1]] * 20}]


def test_blocking_client_every_endpoint(blocking_emu: BlockingEmulator) -> None:
    with IQMClient(blocking_emu.url) as client:
        assert client.quantum_computer_name == "garnet"
        assert client.get_health() is not None and client.get_about()
        assert len(client.get_static_quantum_architecture().qubits) == 20
        assert client.get_feedback_groups()
        dqa = client.get_dynamic_quantum_architecture()
        assert client.get_calibration_set(dqa.calibration_set_id).observations
        assert client.get_quality_metric_set().observations
        assert client.get_calibration_quality_metrics().get_coherence_times(["QB2"])[0]["QB2"] > 0
        request = client.create_run_request([bell("QB3", "QB4")], shots=SHOTS)
        job = client.submit_run_request(request)
        assert job.wait_for_completion(timeout_secs=30) == JobStatus.COMPLETED
        result = job.result()
        assert result is not None and len(result[0]["m"]) == SHOTS
        counts = client.get_job_measurement_counts(job.job_id)
        assert set(counts[0].counts) <= {"00", "11"}
        assert client.get_job_measurements(job.job_id) == result
        assert client._get_submit_circuits_payload(job.job_id).shots == SHOTS
        assert job.payload()[1].shots == SHOTS
        second = client.submit_circuits([x_then_measure("QB7")], shots=5)
        second.cancel()
        client.cancel_job(second.job_id)
        assert second.wait_for_completion(timeout_secs=10) in (JobStatus.CANCELLED, JobStatus.COMPLETED)
        client.delete_job(job.job_id)
        with pytest.raises(NotFoundError):
            client.get_job(job.job_id)
        with pytest.raises(NotFoundError):
            client.get_job(uuid.uuid4())


@pytest.mark.asyncio
async def test_token_never_in_debug_logs_or_reprs(caplog: pytest.LogCaptureFixture) -> None:
    secret = "tok-9f8e7d6c5b4a"
    caplog.set_level(logging.DEBUG)  # every logger, httpx and httpcore included
    async with Emulator(qpu="adonis", token=secret) as emu:
        async with AsyncIQMClient(emu.url, token=secret) as client:
            job = await client.submit_circuits([x_then_measure("QB1")], shots=3)
            await job.wait_for_completion(timeout_secs=10)
            texts = [repr(client), repr(client.settings), repr(job), str(client._http)]
        with pytest.raises(AuthenticationError) as info:
            async with AsyncIQMClient(emu.url, token=secret + "-wrong"):
                pass
    assert caplog.records
    assert secret not in caplog.text
    assert all(secret not in t for t in texts)
    assert secret not in str(info.value) and secret not in repr(info.value.__dict__)


def test_blocking_emulator_stops_from_a_thread_running_a_loop() -> None:
    async def notebook_cell() -> None:
        emulator = BlockingEmulator(qpu="adonis")
        emulator.start()
        with IQMClient(emulator.url) as client:
            assert client.quantum_computer_name == "adonis"
        emulator.stop()  # used to fail with "Cannot run the event loop while another loop is running"

    anyio.run(notebook_cell)
