"""IQM's own iqm-client 36 drives the emulator over loopback HTTP: its whole circuit-job flow.

Runs in the nox ``compat`` session (the 36.0.0 parametrization); skipped where iqm-client 36 is not installed.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from importlib import metadata
from uuid import UUID

import pytest

iqm_client = pytest.importorskip("iqm.iqm_client")
if int(metadata.version("iqm-client").split(".")[0]) < 36:
    pytest.skip("needs iqm-client 36", allow_module_level=True)

from iqm.iqm_client import (  # noqa: E402
    Circuit,
    CircuitCompilationOptions,
    CircuitJobDefinition,
    CircuitJobTracker,
    CircuitOperation,
    ConflictError,
    HeraldingMode,
    InvalidOperationError,
    IQMClient,
    NotFoundError,
)
from iqm.station_control.client.authentication import ClientConfigurationError  # noqa: E402
from iqm.station_control.interface.models.jobs_new import JobStatus  # noqa: E402

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
    return IQMClient.from_url(emulator.url, quantum_computer="garnet", token=TOKEN)


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


def test_about_health_and_name(client: IQMClient) -> None:
    about = client.get_about()
    assert about["idempotency_key_supported"] is True
    assert about["about_station"]["version"]
    assert isinstance(client.get_health(), dict)
    assert client.quantum_computer_name == "garnet"


def test_chip_label_and_topology(client: IQMClient) -> None:
    assert client.get_chip_label() == GARNET.dut_label
    topology = client.get_chip_topology()
    assert topology.qubits == frozenset(GARNET.qubits)
    assert set(topology.coupler_to_components.values()) == {
        tuple(pair) for pair in GARNET.couplers().values()
    }


def test_architectures_and_calibration(client: IQMClient) -> None:
    static = client.get_static_quantum_architecture()
    dynamic = client.get_dynamic_quantum_architecture()
    assert tuple(static.qubits) == GARNET.qubits
    assert dynamic.calibration_set_id == UUID(GARNET.calibration_set_id)
    calibration_set = client.get_calibration_set()
    assert str(calibration_set.observation_set_id) == GARNET.calibration_set_id
    metrics = client.get_quality_metric_set()
    assert metrics.observations
    finder = client.get_calibration_quality_metrics()
    fidelity = finder.get_gate_fidelity("cz", "tgss", ("QB1", "QB2"))
    assert fidelity is not None and 0.9 < fidelity < 1
    expected = {frozenset(qubits) for qubits in GARNET.probe_lines().values()}
    assert set(client.get_feedback_groups()) == expected


def test_submit_track_results_and_payload(client: IQMClient) -> None:
    options = CircuitCompilationOptions(heralding_mode=HeraldingMode.ZEROS, active_reset_cycles=1)
    definition = client.create_circuit_job_definition([bell()], shots=100, options=options)
    assert isinstance(definition, CircuitJobDefinition)
    tracker = client.submit_circuit_job(definition)
    assert isinstance(tracker, CircuitJobTracker)

    progress: list[object] = []
    assert tracker.wait_for_completion(
        timeout_secs=30, polling_interval=0.05, progress_callback=progress.append
    )
    assert tracker.status == JobStatus.COMPLETED
    results = tracker.result()
    assert results is not None
    assert {tuple(shot) for shot in results[0]["m"]} <= {(0, 0), (1, 1)}
    counts = tracker.result_counts()
    assert counts is not None and sum(counts[0].counts.values()) == 100
    assert tracker.errors == ""
    assert tracker.job_data.compilation is not None
    assert str(tracker.job_data.compilation.calibration_set_id) == GARNET.calibration_set_id
    assert tracker.find_timeline_entry("ready", source="iqm-station-control") is not None
    assert client.get_job_measurements(tracker.job_id)[0].keys() == {"m"}

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fetched = client.get_job(tracker.job_id)
    assert isinstance(fetched, CircuitJobTracker)
    payload = fetched.payload()  # from the server this time
    assert payload.shots == 100
    assert payload.heralding_mode == HeraldingMode.ZEROS
    assert [circuit.name for circuit in payload.circuits] == ["bell"]
    assert payload.circuits[0].metadata == {"experiment": "bell"}


def test_submit_circuits_with_qubit_mapping(client: IQMClient) -> None:
    circuit = Circuit(
        name="mapped",
        instructions=(
            CircuitOperation("prx", ("a",), {"angle": math.pi, "phase": 0.0}),
            CircuitOperation("measure", ("a", "b"), {"key": "m"}),
        ),
    )
    tracker = client.submit_circuits([circuit], qubit_mapping={"a": "QB3", "b": "QB4"}, shots=5)
    tracker.wait_for_completion(timeout_secs=30, polling_interval=0.05, progress_callback=lambda _: None)
    assert tracker.result() == [{"m": [[1, 0]] * 5}]


def test_cancel_delete_and_errors(emulator: BlockingEmulator) -> None:
    with BlockingEmulator(qpu="garnet", job_duration_ms=5000) as slow:
        client = IQMClient.from_url(slow.url)
        running = client.submit_circuits([bell()], shots=10)
        waiting = client.submit_circuits([bell()], shots=10)

        client.cancel_job(waiting.job_id)
        client.cancel_job(running.job_id)
        client.delete_job(running.job_id)

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
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


def test_unknown_quantum_computer_is_a_configuration_error(emulator: BlockingEmulator) -> None:
    with pytest.raises(ClientConfigurationError, match="does not exist"):
        IQMClient.from_url(emulator.url, quantum_computer="nope", token=TOKEN)


@pytest.mark.parametrize("qpu", ["garnet", "deneb", "adonis", "apollo", "aphrodite"])
def test_our_chip_topology_matches_the_references(qpu: str) -> None:
    from exa.common.qcm_data.chip_topology import ChipTopology as ReferenceTopology

    from iqm_client_async import ChipTopology

    record = load_preset(qpu).chip_design_record()
    ours = ChipTopology.from_chip_design_record(record)
    theirs = ReferenceTopology.from_chip_design_record(record)

    assert ours.qubits == theirs.qubits and ours.qubits_sorted == theirs.qubits_sorted
    assert ours.computational_resonators == theirs.computational_resonators
    assert ours.couplers_sorted == theirs.couplers_sorted
    assert dict(ours.coupler_to_components) == theirs.coupler_to_components
    assert dict(ours.probe_line_to_components) == theirs.probe_line_to_components
    assert ours.mask_set_name == theirs.mask_set_name and ours.variant == theirs.variant
    some_qubit = ours.qubits_sorted[0]
    assert ours.get_neighbor_couplers([some_qubit]) == theirs.get_neighbor_couplers([some_qubit])
