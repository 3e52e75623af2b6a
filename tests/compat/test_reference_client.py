"""The reference client (iqm-client 35.0.3) drives the emulator over loopback HTTP.

Skipped where another major version of iqm-client is installed (36: ``test_reference_client_36.py``).

Runs in the nox ``compat`` session. By hand::

    /work/refvenv/bin/pip install -e '/work/main[emulator,test]'
    /work/refvenv/bin/pytest tests/compat
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from importlib import metadata
from uuid import UUID

import pytest

iqm_client = pytest.importorskip("iqm.iqm_client")
if int(metadata.version("iqm-client").split(".")[0]) != 35:
    pytest.skip("needs iqm-client 35", allow_module_level=True)

from iqm.iqm_client import (  # noqa: E402
    Circuit,
    CircuitCompilationOptions,
    CircuitOperation,
    ConflictError,
    HeraldingMode,
    InvalidOperationError,
    IQMClient,
    JobStatus,
    NotFoundError,
)

from iqm_client_async.emulator import BlockingEmulator  # noqa: E402
from iqm_client_async.emulator.presets import load_preset  # noqa: E402

GARNET = load_preset("garnet")
TOKEN = "reference-token"


@pytest.fixture(scope="module")
def emulator() -> Iterator[BlockingEmulator]:
    with BlockingEmulator(qpu="garnet", seed=11, token=TOKEN) as running:
        yield running


@pytest.fixture(scope="module")
def client(emulator: BlockingEmulator) -> IQMClient:
    return IQMClient(emulator.url, quantum_computer="garnet", token=TOKEN)


def bell() -> Circuit:
    half = math.pi / 2
    return Circuit(
        name="bell",
        instructions=(
            CircuitOperation("prx", ("QB1",), {"angle": half, "phase": half}),
            CircuitOperation("prx", ("QB2",), {"angle": half, "phase": half}),
            CircuitOperation("cz", ("QB1", "QB2"), {}),
            CircuitOperation("prx", ("QB2",), {"angle": half, "phase": 3 * half}),
            CircuitOperation("measure", ("QB1", "QB2"), {"key": "m"}),
        ),
        metadata={"experiment": "bell"},
    )


def feedback() -> Circuit:
    return Circuit(
        name="feedback",
        instructions=(
            CircuitOperation("prx", ("QB1",), {"angle": math.pi, "phase": 0.0}),
            CircuitOperation("measure", ("QB1",), {"key": "mid", "feedback_key": "fb"}),
            CircuitOperation(
                "cc_prx",
                ("QB2",),
                {"angle": math.pi, "phase": 0.0, "feedback_qubit": "QB1", "feedback_key": "fb"},
            ),
            CircuitOperation("measure", ("QB2",), {"key": "final"}),
        ),
    )


def test_construction_and_quantum_computer(client: IQMClient) -> None:
    assert client.quantum_computer_name == "garnet"
    assert client.get_about()["idempotency_key_supported"] is True
    assert isinstance(client.get_health(), dict)


def test_static_and_dynamic_architecture(client: IQMClient) -> None:
    static = client.get_static_quantum_architecture()
    dynamic = client.get_dynamic_quantum_architecture()

    assert static.dut_label == GARNET.dut_label
    assert tuple(static.qubits) == GARNET.qubits
    assert dynamic.calibration_set_id == UUID(GARNET.calibration_set_id)
    assert ("QB1", "QB2") in dynamic.gates["cz"].loci
    assert client.get_dynamic_quantum_architecture(UUID(GARNET.calibration_set_id)) == dynamic


def test_calibration_set_and_quality_metrics(client: IQMClient) -> None:
    calibration_set = client.get_calibration_set()
    metrics = client.get_quality_metric_set(UUID(GARNET.calibration_set_id))
    finder = client.get_calibration_quality_metrics()

    assert str(calibration_set.observation_set_id) == GARNET.calibration_set_id
    assert str(metrics.describes_id) == GARNET.calibration_set_id
    t1, t2 = finder.get_coherence_times(["QB1", "QB2"])
    assert 0 < t1["QB1"] < 1e-3
    assert 0 < t2["QB2"] < 1e-3
    fidelity = finder.get_gate_fidelity("cz", "tgss", ("QB1", "QB2"))
    assert fidelity is not None
    assert 0.9 < fidelity < 1


def test_feedback_groups(client: IQMClient) -> None:
    groups = client.get_feedback_groups()

    expected = {frozenset(qubits) for qubits in GARNET.probe_lines().values()}
    assert set(groups) == expected


def test_submit_wait_result_counts_and_payload(client: IQMClient) -> None:
    options = CircuitCompilationOptions(heralding_mode=HeraldingMode.ZEROS, active_reset_cycles=1)
    job = client.submit_circuits([bell(), feedback()], shots=100, options=options)

    assert job.wait_for_completion(timeout_secs=30) == JobStatus.COMPLETED
    results = job.result()
    assert results is not None
    assert {tuple(shot) for shot in results[0]["m"]} <= {(0, 0), (1, 1)}
    assert results[1]["final"] == [[1]] * 100
    counts = client.get_job_measurement_counts(job.job_id)
    assert counts[1].measurement_keys == ["mid", "final"]
    assert counts[1].counts == {"11": 100}
    assert job.data.compilation is not None
    assert str(job.data.compilation.calibration_set_id) == GARNET.calibration_set_id
    assert job.find_timeline_entry("ready", source="iqm-station-control") is not None
    circuits, parameters = job.payload()
    assert [circuit["name"] for circuit in circuits] == ["bell", "feedback"]
    assert circuits[0]["metadata"] == {"experiment": "bell"}
    assert parameters.shots == 100
    assert parameters.heralding_mode == HeraldingMode.ZEROS
    assert parameters.active_reset_cycles == 1


def test_qubit_mapping_round_trip(client: IQMClient) -> None:
    circuit = Circuit(
        name="mapped",
        instructions=(
            CircuitOperation("prx", ("a",), {"angle": math.pi, "phase": 0.0}),
            CircuitOperation("measure", ("a", "b"), {"key": "m"}),
        ),
    )
    job = client.submit_circuits([circuit], qubit_mapping={"a": "QB3", "b": "QB4"}, shots=5)

    job.wait_for_completion(timeout_secs=30)

    assert job.result() == [{"m": [[1, 0]] * 5}]
    _, parameters = job.payload()
    assert parameters.qubit_mapping == [
        {"logical_name": "a", "physical_name": "QB3"},
        {"logical_name": "b", "physical_name": "QB4"},
    ]


def test_cancel_and_delete(emulator: BlockingEmulator) -> None:
    with BlockingEmulator(qpu="garnet", job_duration_ms=5000) as slow:
        client = IQMClient(slow.url)
        running = client.submit_circuits([bell()], shots=10)
        waiting = client.submit_circuits([bell()], shots=10)

        client.cancel_job(waiting.job_id)
        client.cancel_job(running.job_id)
        client.delete_job(running.job_id)

        assert client.get_job(waiting.job_id).status == JobStatus.CANCELLED
        with pytest.raises(NotFoundError):
            client.get_job(running.job_id)
        with pytest.raises(ConflictError):
            client.get_job_measurements(waiting.job_id)


def test_server_side_validation_error_surfaces(client: IQMClient) -> None:
    circuit = Circuit(
        name="herald", instructions=(CircuitOperation("measure", ("QB1",), {"key": "__HERALD"}),)
    )

    with pytest.raises(InvalidOperationError, match="reserved"):
        client.submit_circuits([circuit], shots=1)
