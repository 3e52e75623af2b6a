"""Serialization of Qiskit circuits to IQM circuits, and results back in Qiskit's bit order (no network)."""

from __future__ import annotations

import math

import pytest

pytest.importorskip("qiskit")

from qiskit import QuantumCircuit
from qiskit.circuit import ClassicalRegister, Parameter, QuantumRegister
from qiskit.circuit.library import RGate
from qiskit_helpers import line_architecture

from iqm_client_async import Circuit, CircuitOperation
from iqm_client_async.qiskit import (
    ClassicalLayout,
    ComponentIndex,
    QiskitSerializationError,
    build_result,
    serialize_circuit,
)
from iqm_client_async.qiskit.result import shot_values

COMPONENTS = ComponentIndex.from_architecture(line_architecture())


def ops(circuit: Circuit) -> list[tuple[str, tuple[str, ...], dict[str, object]]]:
    return [(op.name, op.locus, op.args) for op in circuit.instructions]


def test_native_instructions_map_one_to_one() -> None:
    qc = QuantumCircuit(3, 2, name="natives")
    qc.append(RGate(0.5, -1.0), [0])
    qc.cz(0, 1)
    qc.barrier(0, 1, 2)
    qc.delay(120, 2, unit="ns")
    qc.delay(2, 1, unit="us")
    qc.reset(2)
    qc.id(1)
    qc.measure(2, 0)
    qc.measure(0, 1)
    circuit, layout = serialize_circuit(qc, COMPONENTS)
    assert circuit.name == "natives"
    assert ops(circuit)[:4] == [
        ("prx", ("QB1",), {"angle": 0.5, "phase": -1.0}),
        ("cz", ("QB1", "QB2"), {}),
        ("barrier", ("QB1", "QB2", "QB3"), {}),
        ("delay", ("QB3",), {"duration": pytest.approx(120e-9)}),
    ]
    assert ops(circuit)[4][2]["duration"] == pytest.approx(2e-6)
    assert ops(circuit)[5:] == [
        ("reset", ("QB3",), {}),
        ("measure", ("QB3",), {"key": "c_2_0_0"}),
        ("measure", ("QB1",), {"key": "c_2_0_1"}),
    ]
    assert layout.clbits == {"c_2_0_0": (0,), "c_2_0_1": (1,)}
    assert ClassicalLayout.from_circuit(circuit) == layout  # the layout travels as metadata


def test_repeated_measurements_of_one_bit_get_distinct_keys_and_the_last_one_wins() -> None:
    qc = QuantumCircuit(1, 1)
    qc.measure(0, 0)
    qc.append(RGate(math.pi, 0.0), [0])
    qc.measure(0, 0)
    circuit, layout = serialize_circuit(qc, COMPONENTS)
    assert [op.args["key"] for op in circuit.instructions if op.name == "measure"] == [
        "c_1_0_0",
        "c_1_0_0_m1",
    ]
    values = shot_values({"c_1_0_0": [[0], [1]], "c_1_0_0_m1": [[1], [0]]}, layout, shots=2)
    assert values == [1, 0]


def test_counts_come_back_in_qiskits_bit_order_with_registers() -> None:
    qc = QuantumCircuit(QuantumRegister(3), ClassicalRegister(2, "a"), ClassicalRegister(1, "b"), name="regs")
    qc.measure(0, 0)  # a[0]
    qc.measure(1, 1)  # a[1]
    qc.measure(2, 2)  # b[0]
    _, layout = serialize_circuit(qc, COMPONENTS)
    # QB1 read 1, QB2 read 0, QB3 read 1 in every shot: a = "01" (a[1] a[0]), b = "1"
    measurements = {key: [[bit]] * 4 for key, bit in zip(layout.clbits, (1, 0, 1), strict=True)}
    result = build_result([measurements], [layout], shots=4, job_id="j", backend_name="b")
    assert result.get_counts("regs") == {"1 01": 4}
    assert result.get_counts(qc) == {"1 01": 4}
    assert result.get_memory(qc) == ["1 01"] * 4
    assert result.results[0].data.memory == ["0x5"] * 4  # hex, as Qiskit backends write it


def test_every_circuit_of_a_batch_is_addressable_by_name_and_object() -> None:
    circuits = []
    layouts = []
    measurements = []
    for i in range(3):
        qc = QuantumCircuit(2, 2, name=f"circuit-{i}")
        qc.measure([0, 1], [0, 1])
        circuits.append(qc)
        _, layout = serialize_circuit(qc, COMPONENTS)
        layouts.append(layout)
        measurements.append({"c_2_0_0": [[i & 1]], "c_2_0_1": [[i >> 1]]})
    result = build_result(measurements, layouts, shots=1, job_id="j", backend_name="b")
    for i, qc in enumerate(circuits):
        expected = f"{i >> 1}{i & 1}"
        assert result.get_counts(qc) == {expected: 1}
        assert result.get_counts(qc.name) == {expected: 1}
    assert result.get_counts() == [{"00": 1}, {"01": 1}, {"10": 1}]


def test_wide_circuits_keep_every_bit() -> None:
    qc = QuantumCircuit(1, 70)
    qc.measure(0, 69)
    _, layout = serialize_circuit(qc, COMPONENTS)
    assert shot_values({"c_70_0_69": [[1], [0]]}, layout, shots=2) == [1 << 69, 0]


def test_circuits_without_measurements_return_zeros() -> None:
    qc = QuantumCircuit(1)
    qc.append(RGate(1.0, 0.0), [0])
    _, layout = serialize_circuit(qc, COMPONENTS)
    result = build_result([{}], [layout], shots=3, job_id="j", backend_name="b")
    assert result.results[0].shots == 3
    assert result.results[0].data.memory == ["0x0"] * 3


def test_if_test_on_a_measured_bit_becomes_cc_prx_with_feedback_keys() -> None:
    qc = QuantumCircuit(2, 2)
    qc.measure(0, 0)
    with qc.if_test((qc.clbits[0], 1)):
        qc.append(RGate(math.pi, 0.0), [1])
        qc.append(RGate(math.pi / 2, 0.25), [0])
    qc.measure(1, 1)
    circuit, _ = serialize_circuit(qc, COMPONENTS)
    assert ops(circuit) == [
        ("measure", ("QB1",), {"key": "c_2_0_0", "feedback_key": "c_2_0_0"}),
        (
            "cc_prx",
            ("QB2",),
            {"angle": math.pi, "phase": 0.0, "feedback_qubit": "QB1", "feedback_key": "c_2_0_0"},
        ),
        (
            "cc_prx",
            ("QB1",),
            {"angle": math.pi / 2, "phase": 0.25, "feedback_qubit": "QB1", "feedback_key": "c_2_0_0"},
        ),
        ("measure", ("QB2",), {"key": "c_2_0_1"}),
    ]


def test_if_test_on_a_one_bit_register() -> None:
    flag = ClassicalRegister(1, "flag")
    qc = QuantumCircuit(QuantumRegister(2), flag)
    qc.measure(0, flag[0])
    with qc.if_test((flag, 1)):
        qc.append(RGate(math.pi, 0.0), [1])
    circuit, _ = serialize_circuit(qc, COMPONENTS)
    assert circuit.instructions[1].name == "cc_prx"
    assert circuit.instructions[1].args["feedback_key"] == "flag_1_0_0"


def unsupported_circuits() -> dict[str, tuple[QuantumCircuit, str]]:
    cases: dict[str, tuple[QuantumCircuit, str]] = {}
    qc = QuantumCircuit(2)
    qc.h(0)
    cases["not native"] = (qc, "'h' is not a native IQM operation; transpile")
    qc = QuantumCircuit(1)
    qc.append(RGate(Parameter("theta"), 0.0), [0])
    cases["unbound"] = (qc, "unbound parameter theta")
    qc = QuantumCircuit(1)
    qc.delay(3, 0, unit="dt")
    cases["dt"] = (qc, "unit 'dt'")
    qc = QuantumCircuit(2, 1)
    qc.measure(0, 0)
    with qc.if_test((qc.clbits[0], 0)):
        qc.append(RGate(math.pi, 0.0), [1])
    cases["on zero"] = (qc, "bit being 0")
    qc = QuantumCircuit(2, 2)
    qc.measure(0, 0)
    with qc.if_test((qc.cregs[0], 1)):
        qc.append(RGate(math.pi, 0.0), [1])
    cases["wide register"] = (qc, "register 'c' of 2 bits")
    qc = QuantumCircuit(2, 1)
    qc.measure(0, 0)
    with qc.if_test((qc.clbits[0], 1)) as otherwise:
        qc.append(RGate(math.pi, 0.0), [1])
    with otherwise:
        qc.append(RGate(math.pi, 0.0), [0])
    cases["else"] = (qc, "else branch")
    qc = QuantumCircuit(2, 1)
    with qc.if_test((qc.clbits[0], 1)):
        qc.append(RGate(math.pi, 0.0), [1])
    cases["unmeasured"] = (qc, "no earlier measurement")
    qc = QuantumCircuit(2, 1)
    qc.measure(0, 0)
    with qc.if_test((qc.clbits[0], 1)):
        qc.cz(0, 1)
    cases["two-qubit body"] = (qc, "'cz' inside if_test")
    cases["too wide"] = (QuantumCircuit(4), "has 4 qubits; the backend has 3")
    return cases


@pytest.mark.parametrize("case", sorted(unsupported_circuits()))
def test_unsupported_circuits_fail_with_a_clear_message(case: str) -> None:
    circuit, message = unsupported_circuits()[case]
    with pytest.raises(QiskitSerializationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        serialize_circuit(circuit, COMPONENTS)


def test_foreign_circuits_get_one_bit_per_measured_component() -> None:
    circuit = Circuit("foreign", [CircuitOperation("measure", ("QB1", "QB2"), {"key": "m"})])
    layout = ClassicalLayout.from_circuit(circuit)
    assert layout.clbits == {"m": (0, 1)}
    result = build_result([{"m": [[1, 0], [0, 1]]}], [layout], shots=2, job_id="j", backend_name="b")
    assert result.get_counts() == {"01": 1, "10": 1}
