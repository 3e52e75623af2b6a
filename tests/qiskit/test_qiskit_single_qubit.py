"""Single-qubit merging: one ``r`` per run, virtual Z frames, exact up to a global phase."""

from __future__ import annotations

import math
import random

import pytest

pytest.importorskip("qiskit")

from qiskit import QuantumCircuit
from qiskit.circuit import Parameter
from qiskit.circuit.library import RGate
from qiskit.quantum_info import Operator

from iqm_client_async.qiskit.transpile import OptimizeSingleQubitGates


def optimize(circuit: QuantumCircuit) -> QuantumCircuit:
    result: QuantumCircuit = OptimizeSingleQubitGates()(circuit)
    return result


def random_circuit(rng: random.Random, gates: int) -> QuantumCircuit:
    qc = QuantumCircuit(3)
    for _ in range(gates):
        choice = rng.random()
        q = rng.randrange(3)
        if choice < 0.2:
            a, b = rng.sample(range(3), 2)
            qc.cz(a, b)
        elif choice < 0.4:
            qc.rz(rng.uniform(-math.pi, math.pi), q)
        elif choice < 0.6:
            qc.append(RGate(rng.uniform(0, math.pi), rng.uniform(-math.pi, math.pi)), [q])
        elif choice < 0.7:
            qc.barrier()
        else:
            getattr(qc, rng.choice(["h", "s", "t", "x", "sx", "y"]))(q)
    return qc


@pytest.mark.parametrize("seed", range(25))
def test_random_circuits_keep_their_unitary_up_to_global_phase(seed: int) -> None:
    qc = random_circuit(random.Random(seed), 40)
    optimized = optimize(qc)
    assert Operator(optimized).equiv(Operator(qc))
    assert set(optimized.count_ops()) <= {"r", "cz", "barrier"}


def test_each_run_becomes_one_r_and_z_rotations_before_measurement_vanish() -> None:
    qc = QuantumCircuit(2, 2)
    qc.h(0)
    qc.s(0)
    qc.t(0)
    qc.cz(0, 1)
    qc.rz(0.3, 1)
    qc.h(0)
    qc.rz(1.1, 0)
    qc.measure([0, 1], [0, 1])
    optimized = optimize(qc)
    assert optimized.count_ops() == {"r": 2, "cz": 1, "measure": 2}


def test_frames_shift_conditional_and_parametrized_r_gates() -> None:
    theta = Parameter("theta")
    qc = QuantumCircuit(2, 1)
    qc.rz(0.7, 1)
    qc.measure(0, 0)
    with qc.if_test((qc.clbits[0], 1)):
        qc.append(RGate(math.pi, 0.0), [1])
    qc.append(RGate(theta, 0.25), [1])
    optimized = optimize(qc)
    body = next(item.operation for item in optimized.data if item.operation.name == "if_else").blocks[0]
    assert [float(p) for p in body.data[0].operation.params] == pytest.approx([math.pi, -0.7])
    parametrized = next(item.operation for item in optimized.data if item.operation.is_parameterized())
    assert parametrized.params[0] == theta
    assert float(parametrized.params[1]) == pytest.approx(0.25 - 0.7)
