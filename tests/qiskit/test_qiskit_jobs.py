"""Qiskit jobs on the emulator: primitives, async use, batches, retrieval, cancellation, errors."""

from __future__ import annotations

import math
from typing import Any
from uuid import UUID

import anyio
import httpx
import numpy as np
import pytest

pytest.importorskip("qiskit")

from qiskit import QuantumCircuit, transpile
from qiskit.circuit import ClassicalRegister, Parameter, QuantumRegister
from qiskit.primitives import BackendEstimatorV2, BackendSamplerV2
from qiskit.providers import JobStatus as QiskitJobStatus
from qiskit.quantum_info import SparsePauliOp, Statevector
from qiskit_helpers import SEED

from iqm_client_async import AsyncIQMClient, CircuitCompilationOptions, HeraldingMode, IQMError
from iqm_client_async.emulator import Emulator
from iqm_client_async.qiskit import IQMBackend, IQMJob, IQMProvider

pytest_plugins = ["qiskit_fixtures"]  # this directory has no conftest.py

SHOTS = 2000


def bits_circuit(value: int, width: int = 4) -> QuantumCircuit:
    """Prepare |value> (qubit i = bit i) and measure it into two registers of two bits."""
    qc = QuantumCircuit(QuantumRegister(width), ClassicalRegister(2, "low"), ClassicalRegister(2, "high"))
    qc.name = f"bits-{value}"
    for i in range(width):
        if value >> i & 1:
            qc.x(i)
    qc.measure(range(width), range(width))
    return qc


def expected_bits(value: int) -> str:
    """Qiskit's key for ``bits_circuit(value)``: high register first, highest bit first in each."""
    return f"{value >> 3 & 1}{value >> 2 & 1} {value >> 1 & 1}{value & 1}"


def bell() -> QuantumCircuit:
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1)
    return qc


def test_sampler_gives_bell_and_rotation_statistics(backend: Any) -> None:
    measured = bell()
    measured.measure_all()
    theta = Parameter("theta")
    rotation = QuantumCircuit(1)
    rotation.ry(theta, 0)
    rotation.measure_all()
    angles = np.array([0.3, 1.2, 2.5])
    sampler = BackendSamplerV2(backend=backend)
    circuits = transpile([measured, rotation], backend, seed_transpiler=1)
    result = sampler.run([circuits[0], (circuits[1], angles[:, None])], shots=SHOTS).result()
    counts = result[0].data.meas.get_counts()
    assert set(counts) == {"00", "11"} and abs(counts["00"] - SHOTS / 2) < 5 * math.sqrt(SHOTS / 4)
    for angle, bit_array in zip(angles, [result[1].data.meas[i] for i in range(3)], strict=True):
        p = math.sin(angle / 2) ** 2
        ones = bit_array.get_counts().get("1", 0)
        assert abs(ones - SHOTS * p) <= 3 * math.sqrt(SHOTS * p * (1 - p))


def test_estimator_matches_exact_expectations(backend: Any) -> None:
    theta = 1.1
    state = bell()
    state.ry(theta, 0)
    observable = SparsePauliOp.from_list([("ZZ", 1.0), ("XX", 0.5), ("IZ", -1.0), ("XI", 0.25)])
    exact = float(np.real(Statevector(state).expectation_value(observable)))
    transpiled = transpile(state, backend, seed_transpiler=1)
    estimator = BackendEstimatorV2(backend=backend, options={"default_precision": 0.01})
    data = estimator.run([(transpiled, observable.apply_layout(transpiled.layout))]).result()[0].data
    assert abs(float(data.evs) - exact) <= 4 * float(data.stds) + 1e-9, (
        float(data.evs),
        exact,
        float(data.stds),
    )


class GatedTransport(httpx.AsyncBaseTransport):
    """Holds job submissions until ``wanted`` of them are in flight at once (or a generous fallback passes)."""

    def __init__(self, wanted: int) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.wanted = wanted
        self.in_flight = 0
        self.most_in_flight = 0
        self.gate: anyio.Event | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method != "POST" or not request.url.path.endswith("/circuit"):
            return await self.inner.handle_async_request(request)
        self.gate = self.gate or anyio.Event()
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        if self.in_flight >= self.wanted:
            self.gate.set()
        with anyio.move_on_after(10):
            await self.gate.wait()
        try:
            return await self.inner.handle_async_request(request)
        finally:
            self.in_flight -= 1

    async def aclose(self) -> None:
        await self.inner.aclose()


def test_the_jobs_of_one_primitive_call_are_submitted_concurrently(providers: dict[str, Any]) -> None:
    transport = GatedTransport(wanted=3)
    emulator = providers["garnet"].embedded_emulator
    before = emulator.stats()["jobs_created"]
    with IQMProvider(emulator.url, transport=transport) as provider:
        backend = provider.get_backend()
        backend.max_circuits = 2
        circuits = [transpile(bits_circuit(value), backend, seed_transpiler=1) for value in range(5)]
        result = BackendSamplerV2(backend=backend).run(circuits, shots=100).result()
    assert transport.most_in_flight == 3  # 5 circuits, 2 per job: 3 jobs, all in flight at once
    assert emulator.stats()["jobs_created"] - before == 3
    for value, pub in enumerate(result):
        assert pub.join_data().get_counts() == {expected_bits(value).replace(" ", ""): 100}


def test_blocking_job_api(providers: dict[str, Any]) -> None:
    backend = providers["garnet"].get_backend()
    circuits = [transpile(bits_circuit(value), backend, seed_transpiler=1) for value in (5, 10)]
    job = backend.run(circuits, shots=50)
    assert isinstance(job, IQMJob)
    result = job.result()
    assert job.status() == QiskitJobStatus.DONE
    assert job.queue_position() is None and job.error_message() is None
    assert result.job_id == job.job_id()
    assert result.get_counts(circuits[0]) == {expected_bits(5): 50}
    assert result.get_counts("bits-10") == {expected_bits(10): 50}
    retrieved = backend.retrieve_job(job.job_id())
    assert retrieved.result().get_counts("bits-10") == {expected_bits(10): 50}
    assert retrieved.result().get_memory(0) == [expected_bits(5)] * 50


def test_cancel(providers: dict[str, Any]) -> None:
    with IQMProvider.emulator("garnet", seed=SEED, job_duration_ms=60_000) as provider:
        backend = provider.get_backend()
        circuit = transpile(bits_circuit(1), backend, seed_transpiler=1)
        running = backend.run(circuit, shots=10)
        waiting = backend.run(circuit, shots=10)
        assert waiting.status() in (QiskitJobStatus.QUEUED, QiskitJobStatus.RUNNING)
        position = waiting.queue_position(refresh=True)
        assert position is None or position >= 0
        assert running.cancel() and waiting.cancel()
        assert waiting.status() == QiskitJobStatus.CANCELLED
        with pytest.raises(IQMError, match="cancelled"):
            waiting.result()


def test_options_and_errors(providers: dict[str, Any]) -> None:
    backend = providers["garnet"].get_backend()
    circuit = transpile(bits_circuit(3), backend, seed_transpiler=1)
    with pytest.warns(UserWarning, match="noise_model"):
        backend.run(circuit, shots=5, noise_model="x").result()
    backend.run(circuit, shots=5, seed_simulator=None, memory=True).result()  # as Qiskit's primitives call it
    untranspiled = bits_circuit(3)
    with pytest.raises(ValueError, match="'x' is not a native IQM operation"):
        backend.run(untranspiled)
    with pytest.raises(ValueError, match="Number of shots"):
        backend.run(circuit, shots=0)
    with pytest.raises(TypeError, match="CircuitCompilationOptions"):
        backend.run(circuit, circuit_compilation_options={"heralding_mode": "zeros"})


def test_a_backend_pinned_to_a_calibration_set_submits_with_it(providers: dict[str, Any]) -> None:
    calibration_set_id = providers["garnet"].get_backend().architecture.calibration_set_id
    backend = providers["garnet"].get_backend(calibration_set_id=calibration_set_id)
    assert repr(backend) == f"IQMBackend('garnet', 20 qubits, calibration_set_id={calibration_set_id})"
    job = backend.run(transpile(bits_circuit(2), backend, seed_transpiler=1), shots=10)
    assert job.result().get_counts() == {expected_bits(2): 10}
    _, parameters = providers["garnet"].client().get_job(UUID(job.job_id())).payload()
    assert parameters.calibration_set_id == calibration_set_id


@pytest.mark.asyncio
async def test_a_blocking_backend_refuses_another_event_loop(providers: dict[str, Any]) -> None:
    backend = providers["garnet"].get_backend()
    circuit = transpile(bits_circuit(1), backend, seed_transpiler=1)
    with pytest.raises(IQMError, match="made by IQMProvider"):
        await backend.arun(circuit)
    with pytest.raises(IQMError, match="made by IQMProvider"):
        async with backend.batch():
            pass
    job = await anyio.to_thread.run_sync(lambda: backend.run(circuit, shots=10))
    with pytest.raises(IQMError, match="made by IQMProvider"):
        await job
    result = await anyio.to_thread.run_sync(job.result)  # the blocking methods work from a worker thread
    assert result.get_counts() == {expected_bits(1): 10}


@pytest.mark.asyncio
@pytest.mark.parametrize("qpu", ["garnet", "deneb"])
async def test_async_backend_job_and_batch(qpu: str) -> None:
    async with Emulator(qpu=qpu, seed=SEED) as emulator, AsyncIQMClient(emulator.url) as client:
        backend = await IQMBackend.create(client)
        circuits = [transpile(bits_circuit(value), backend, seed_transpiler=1) for value in range(16)]
        job = await backend.arun(circuits[:2], shots=20)
        result = await job
        assert result.get_counts(circuits[1]) == {expected_bits(1): 20}
        assert await job.astatus() == QiskitJobStatus.DONE
        assert job.result() is result  # already fetched: no event loop needed
        with pytest.raises(IQMError, match="await"):
            job.status()
        with pytest.raises(IQMError, match="arun"):
            backend.run(circuits[0])

        seen: dict[int, dict[str, int]] = {}
        async with backend.batch(timeout=60) as batch:
            for circuit in circuits:
                batch.submit_soon(circuit, shots=20)
            async for outcome in batch.as_completed():
                assert outcome.ok and outcome.result is not None
                seen[outcome.index] = outcome.result.get_counts(circuits[outcome.index])
        assert seen == {value: {expected_bits(value): 20} for value in range(16)}
        retrieved = await backend.aretrieve_job(job.job_id())
        assert (await retrieved).get_counts("bits-0") == {expected_bits(0): 20}


def test_a_failed_job_reports_the_servers_errors(providers: dict[str, Any]) -> None:
    backend = providers["garnet"].get_backend()
    groups = [sorted(group) for group in providers["garnet"].client().get_feedback_groups()]
    qc = QuantumCircuit(2, 2)
    qc.h(0)
    qc.measure(0, 0)
    with qc.if_test((qc.clbits[0], 1)):
        qc.x(1)
    qc.measure(1, 1)
    layout = [backend.qubit_name_to_index(groups[0][0]), backend.qubit_name_to_index(groups[1][0])]
    job = backend.run(transpile(qc, backend, initial_layout=layout, seed_transpiler=1), shots=10)
    assert job.status() == QiskitJobStatus.ERROR
    message = job.error_message()
    assert message is not None and "different feedback groups" in message
    with pytest.raises(IQMError, match="different feedback groups"):
        job.result()


def test_compilation_options_and_timeslot_reach_the_server(providers: dict[str, Any]) -> None:
    backend = providers["garnet"].get_backend()
    options = CircuitCompilationOptions(heralding_mode=HeraldingMode.ZEROS)
    circuit = transpile(bits_circuit(0), backend, seed_transpiler=1)
    job = backend.run(circuit, shots=10, circuit_compilation_options=options, use_timeslot=True)
    assert job.result().get_counts() == {expected_bits(0): 10}
    _, parameters = providers["garnet"].client().get_job(UUID(job.job_id())).payload()
    assert parameters.heralding_mode == HeraldingMode.ZEROS
