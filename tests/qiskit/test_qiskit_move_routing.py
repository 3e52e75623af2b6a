"""MOVE routing on a star architecture: valid for the server's strict MOVE rules, and the same quantum state."""

from __future__ import annotations

import random

import numpy as np
import pytest

pytest.importorskip("qiskit")

from qiskit import QuantumCircuit, transpile
from qiskit.circuit.library import RGate
from qiskit.quantum_info import Statevector
from qiskit_helpers import star_architecture

from iqm_client_async import MoveGateValidationMode
from iqm_client_async.qiskit import IQMTarget, MoveRouting, serialize_circuit
from iqm_client_async.validation import validate_circuits_dynamic, validate_circuits_static

ARCHITECTURE = star_architecture()
TARGET = IQMTarget(ARCHITECTURE)


def route(circuit: QuantumCircuit) -> QuantumCircuit:
    routed: QuantumCircuit = MoveRouting(TARGET)(circuit)
    return routed


def assert_valid_on_the_server_rules(routed: QuantumCircuit) -> None:
    circuit, _ = serialize_circuit(routed, TARGET.components)
    normalized = validate_circuits_static([circuit])
    validate_circuits_dynamic(normalized, ARCHITECTURE, None, MoveGateValidationMode.STRICT)


def qubit_state(routed: QuantumCircuit) -> Statevector:
    """The state of the qubits, checking that the resonator ends empty."""
    state = Statevector(routed.remove_final_measurements(inplace=False))
    probabilities = state.probabilities([routed.num_qubits - 1])
    assert probabilities[0] == pytest.approx(1.0)
    return Statevector(state.data[: 2 ** (routed.num_qubits - 1)])


def test_a_fan_out_keeps_the_shared_qubit_in_the_resonator() -> None:
    qc = QuantumCircuit(3)
    qc.append(RGate(np.pi / 2, np.pi / 2), [0])
    qc.cz(0, 1)
    qc.cz(0, 2)
    routed = route(qc)
    assert routed.num_qubits == 4
    assert routed.count_ops() == {"move": 2, "cz": 2, "r": 1}
    assert_valid_on_the_server_rules(routed)
    assert qubit_state(routed).equiv(Statevector(qc))


def test_the_qubit_that_cannot_move_is_never_moved() -> None:
    qc = QuantumCircuit(3)
    qc.cz(2, 1)
    routed = route(qc)
    moves = [instr for instr in routed.data if instr.operation.name == "move"]
    assert {routed.find_bit(instr.qubits[0]).index for instr in moves} == {1}


def test_a_moved_qubit_comes_back_before_anything_else_touches_it() -> None:
    qc = QuantumCircuit(3, 1)
    qc.cz(0, 1)
    qc.barrier()
    qc.cz(0, 2)
    qc.append(RGate(0.3, 0.0), [0])
    qc.cz(1, 0)
    qc.measure(0, 0)
    routed = route(qc)
    assert_valid_on_the_server_rules(routed)
    assert routed.data[-1].operation.name == "measure"


def random_circuit(rng: random.Random, gates: int) -> QuantumCircuit:
    qc = QuantumCircuit(3)
    for _ in range(gates):
        if rng.random() < 0.5:
            a, b = rng.sample(range(3), 2)
            qc.cz(a, b)
        else:
            qc.append(RGate(rng.uniform(0, np.pi), rng.uniform(-np.pi, np.pi)), [rng.randrange(3)])
    return qc


@pytest.mark.parametrize("seed", range(20))
def test_random_circuits_keep_their_state_and_pass_validation(seed: int) -> None:
    qc = random_circuit(random.Random(seed), 30)
    routed = route(qc)
    assert_valid_on_the_server_rules(routed)
    assert qubit_state(routed).equiv(Statevector(qc))
    assert routed.count_ops().get("cz", 0) == qc.count_ops().get("cz", 0)


def test_circuits_not_laid_out_on_the_backend_are_refused() -> None:
    from qiskit.transpiler import TranspilerError

    with pytest.raises(TranspilerError, match="laid out on the 3 qubits"):
        route(QuantumCircuit(2))


def test_transpile_with_the_target_alone_leaves_virtual_czs_for_the_serializer() -> None:
    qc = QuantumCircuit(3)
    qc.h(0)
    qc.cx(0, 1)
    qc.cx(0, 2)
    out = transpile(qc, target=TARGET, seed_transpiler=1)
    assert "move" not in out.count_ops() and out.num_qubits == 3
