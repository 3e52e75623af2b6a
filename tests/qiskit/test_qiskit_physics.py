"""Physics on the emulator through the Qiskit backend, over loopback HTTP, on garnet and deneb."""

from __future__ import annotations

import math
from typing import Any

import pytest

pytest.importorskip("qiskit")

from qiskit import QuantumCircuit, transpile
from qiskit.circuit import Parameter

from iqm_client_async.qiskit import transpile_to_IQM

pytest_plugins = ["qiskit_fixtures"]  # this directory has no conftest.py

SHOTS = 2000


def assert_even_split(counts: dict[str, int], outcomes: set[str], shots: int) -> None:
    """Only ``outcomes`` occur, each within 5 sigma of an even split."""
    assert set(counts) == outcomes, counts
    assert sum(counts.values()) == shots
    p = 1 / len(outcomes)
    sigma = math.sqrt(shots * p * (1 - p))
    assert all(abs(n - shots * p) < 5 * sigma for n in counts.values()), counts


def ghz(n: int) -> QuantumCircuit:
    qc = QuantumCircuit(n, n, name=f"ghz{n}")
    qc.h(0)
    for i in range(1, n):
        qc.cx(0, i)
    qc.measure(range(n), range(n))
    return qc


def test_bell_and_ghz5_give_only_all_zeros_and_all_ones(backend: Any) -> None:
    bell = ghz(2)
    circuits = [bell, ghz(5)]
    job = backend.run(transpile(circuits, backend, seed_transpiler=1), shots=SHOTS)
    result = job.result()
    assert_even_split(result.get_counts(bell), {"00", "11"}, SHOTS)
    assert_even_split(result.get_counts("ghz5"), {"00000", "11111"}, SHOTS)


def test_star_architecture_circuits_carry_moves(providers: dict[str, Any]) -> None:
    backend = providers["deneb"].get_backend()
    transpiled = transpile_to_IQM(ghz(5), backend, seed_transpiler=1)
    assert transpiled.count_ops()["move"] >= 2
    serialized = backend.serialize_circuit(transpiled)
    assert {op.name for op in serialized.instructions} == {"prx", "cz", "move", "measure"}
    unrouted = transpile_to_IQM(ghz(5), backend, seed_transpiler=1, perform_move_routing=False)
    assert "move" not in unrouted.count_ops()
    # run() routes MOVEs itself when the circuit was transpiled without them
    assert_even_split(backend.run(unrouted, shots=SHOTS).result().get_counts(), {"00000", "11111"}, SHOTS)


def test_feedback_gives_deterministic_outcomes(backend: Any) -> None:
    copy = feedback_copy()
    # Active reset: flip a qubit back to 0 whenever it read 1.
    reset = QuantumCircuit(1, 2, name="reset")
    reset.h(0)
    reset.measure(0, 0)
    with reset.if_test((reset.clbits[0], 1)):
        reset.x(0)
    reset.measure(0, 1)
    result = backend.run(transpile([copy, reset], backend, seed_transpiler=3), shots=SHOTS).result()
    assert_even_split(result.get_counts("copy"), {"00", "11"}, SHOTS)
    assert_even_split(result.get_counts("reset"), {"00", "01"}, SHOTS)  # c1 (left) always 0


@pytest.mark.parametrize("axis", ["rx", "ry"])
def test_rotation_probabilities_within_3_sigma(backend: Any, axis: str) -> None:
    theta = Parameter("theta")
    qc = QuantumCircuit(1, 1)
    getattr(qc, axis)(theta, 0)
    qc.measure(0, 0)
    angles = [0.0, 0.4, 1.1, math.pi / 2, 2.3, 2.9, math.pi]
    template = transpile(qc, backend, seed_transpiler=1)
    bound = [template.assign_parameters({template.parameters[0]: angle}) for angle in angles]
    for i, circuit in enumerate(bound):
        circuit.name = f"{axis}-{i}"
    result = backend.run(bound, shots=SHOTS).result()
    for circuit, angle in zip(bound, angles, strict=True):
        p = math.sin(angle / 2) ** 2
        ones = result.get_counts(circuit).get("1", 0)
        sigma = math.sqrt(SHOTS * p * (1 - p))
        if sigma == 0:
            assert ones == round(SHOTS * p), (angle, ones)
        else:
            assert abs(ones - SHOTS * p) <= 3 * sigma, (angle, ones, SHOTS * p)


@pytest.mark.parametrize("qpu", ["garnet", "deneb"])
def test_calibrated_noise_in_one_line(providers: dict[str, Any], qpu: str) -> None:
    backend = providers[f"{qpu}:calibrated"].get_backend()
    counts = backend.run(transpile(ghz(3), backend, seed_transpiler=1), shots=SHOTS).result().get_counts()
    good = counts.get("000", 0) + counts.get("111", 0)
    assert 0.75 * SHOTS < good < SHOTS, counts  # noise shows, but the GHZ state is still there


@pytest.mark.parametrize("qpu", ["adonis", "apollo", "garnet", "aphrodite", "deneb"])
def test_plain_qiskit_transpile_passes_validation_on_every_preset(
    providers: dict[str, Any], qpu: str
) -> None:
    from qiskit.circuit.library import QFTGate

    backend = providers[qpu].get_backend()
    qft = QuantumCircuit(4, name="qft4")
    qft.x([0, 2])
    qft.append(QFTGate(4), range(4))
    qft.measure_all()
    circuits = transpile([ghz(5), qft, feedback_copy()], backend, seed_transpiler=2)
    request = backend.create_run_request(
        circuits, shots=10
    )  # the client's validation against the architecture
    assert len(request.circuits) == 3
    counts = backend.run(circuits, shots=SHOTS).result().get_counts()
    assert_even_split(counts[0], {"00000", "11111"}, SHOTS)
    assert_even_split(counts[2], {"00", "11"}, SHOTS)


def feedback_copy() -> QuantumCircuit:
    """Copy a random bit: measure a qubit in superposition, flip the other one if it read 1."""
    qc = QuantumCircuit(2, 2, name="copy")
    qc.h(0)
    qc.measure(0, 0)
    with qc.if_test((qc.clbits[0], 1)):
        qc.x(1)
    qc.measure(1, 1)
    return qc
