"""Transpiled Qiskit circuits -> IQM ``Circuit``\\ s, with what is needed to read their results back.

Each Qiskit ``measure`` becomes one IQM ``measure`` with its own key, named after the classical bit it
writes (``<register>_<register size>_<register index>_<bit index>``, as IQM's adapter names them); the
``ClassicalLayout`` maps every key to the circuit's classical bit, so the results come back in Qiskit's
bit order. It travels with the circuit as metadata, so a job retrieved later decodes the same way.

``if_test`` on one measured bit (value 1) whose body is ``r`` gates becomes ``cc_prx`` with the
measurement's key as feedback key.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from qiskit.circuit import ClassicalRegister, Clbit, IfElseOp, QuantumCircuit, Qubit

from iqm_client_async.models import Circuit, CircuitOperation

from .target import ComponentIndex

__all__ = ["ClassicalLayout", "QiskitSerializationError", "serialize_circuit"]

_METADATA_KEY = "qiskit_classical_layout"
_SECONDS_PER_UNIT = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9, "ps": 1e-12}


class QiskitSerializationError(ValueError):
    """A Qiskit circuit cannot be expressed in IQM's native operations (it needs transpiling, or uses
    something IQM hardware cannot do)."""


@dataclass(frozen=True)
class ClassicalLayout:
    """Where each measurement of a circuit lands among its classical bits.

    Attributes:
        name: the circuit's name.
        creg_sizes: ``(name, size)`` of the classical registers, in the circuit's order.
        memory_slots: number of classical bits.
        clbits: measurement key -> indices of the classical bits it writes (one per measured component),
            in execution order (a later measurement of the same bit overwrites an earlier one).
        metadata: the Qiskit circuit's metadata (kept in memory only, for the result header).
    """

    name: str
    creg_sizes: tuple[tuple[str, int], ...]
    memory_slots: int
    clbits: dict[str, tuple[int, ...]]
    metadata: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_metadata(self) -> dict[str, Any]:
        """The layout as JSON-compatible circuit metadata."""
        return {
            _METADATA_KEY: {
                "creg_sizes": [list(pair) for pair in self.creg_sizes],
                "memory_slots": self.memory_slots,
                "clbits": {key: list(bits) for key, bits in self.clbits.items()},
            }
        }

    @classmethod
    def from_circuit(cls, circuit: Circuit) -> ClassicalLayout:
        """The layout stored in a submitted circuit's metadata, or one bit per measurement key (in the order
        of first appearance) for circuits not serialized by this module."""
        stored = (circuit.metadata or {}).get(_METADATA_KEY)
        if isinstance(stored, dict):
            return cls(
                name=circuit.name,
                creg_sizes=tuple((str(name), int(size)) for name, size in stored["creg_sizes"]),
                memory_slots=int(stored["memory_slots"]),
                clbits={str(key): tuple(int(i) for i in bits) for key, bits in stored["clbits"].items()},
            )
        clbits: dict[str, tuple[int, ...]] = {}
        slots = 0
        for operation in circuit.instructions:
            if operation.name == "measure":
                clbits[operation.args["key"]] = tuple(range(slots, slots + len(operation.locus)))
                slots += len(operation.locus)
        return cls(name=circuit.name, creg_sizes=(("c", slots),), memory_slots=slots, clbits=clbits)


def serialize_circuit(circuit: QuantumCircuit, components: ComponentIndex) -> tuple[Circuit, ClassicalLayout]:
    """Convert a transpiled circuit into an IQM ``Circuit`` on the named components.

    Args:
        circuit: a circuit in the backend's native gates (``r``, ``cz``, ``move``, ``measure``, ``reset``,
            ``delay``, ``barrier``, ``if_else``), on the backend's qubit indices (resonators after the qubits).
        components: the backend's component index.

    Returns:
        The IQM circuit and the classical layout for reading its results.

    Raises:
        QiskitSerializationError: an instruction is not native, a parameter is unbound, a qubit index is
            out of range, or a conditional is not a single-bit ``if_test`` with an ``r`` body.
    """
    names = components.components
    if circuit.num_qubits > len(names):
        raise QiskitSerializationError(
            f"Circuit '{circuit.name}' has {circuit.num_qubits} qubits; the backend has {len(names)} components."
        )
    writer = _Writer(circuit, names)
    writer.write()
    layout = ClassicalLayout(
        name=circuit.name,
        creg_sizes=tuple((register.name, register.size) for register in circuit.cregs),
        memory_slots=circuit.num_clbits,
        clbits=writer.keys,
        metadata=dict(circuit.metadata or {}),
    )
    return Circuit(name=circuit.name, instructions=writer.instructions, metadata=layout.to_metadata()), layout


class _Writer:
    """Walks one circuit's instructions and writes the IQM operations."""

    def __init__(self, circuit: QuantumCircuit, names: tuple[str, ...]) -> None:
        self.circuit = circuit
        self.qubit_names: dict[Qubit, str] = dict(zip(circuit.qubits, names, strict=False))
        self.clbit_index: dict[Clbit, int] = {bit: i for i, bit in enumerate(circuit.clbits)}
        self.key_stem = {bit: self._key_stem(bit) for bit in circuit.clbits}
        self.feedback_bits = self._feedback_bits()
        self.instructions: list[CircuitOperation] = []
        self.keys: dict[str, tuple[int, ...]] = {}
        self.last_measurement: dict[Clbit, tuple[str, str]] = {}  # clbit -> (key, measured qubit)

    def _key_stem(self, bit: Clbit) -> str:
        registers = self.circuit.find_bit(bit).registers
        if registers:
            register, index = registers[0]
            return f"{register.name}_{register.size}_{self.circuit.cregs.index(register)}_{index}"
        return f"c_{self.circuit.num_clbits}_-1_{self.clbit_index[bit]}"

    def _feedback_bits(self) -> set[Clbit]:
        bits: set[Clbit] = set()
        for instruction in self.circuit.data:
            if isinstance(instruction.operation, IfElseOp):
                bits.add(self._condition_bit(instruction.operation))
        return bits

    def fail(self, position: int, message: str) -> QiskitSerializationError:
        return QiskitSerializationError(f"Circuit '{self.circuit.name}', instruction {position}: {message}")

    def write(self) -> None:
        # CircuitInstruction's name and params are read without building the operation object (costly in Qiskit 2)
        qubit_names = self.qubit_names
        append = self.instructions.append
        for position, instruction in enumerate(self.circuit.data):
            name = instruction.name
            try:
                locus = tuple([qubit_names[bit] for bit in instruction.qubits])
            except KeyError:
                raise self.fail(position, f"'{name}' acts on a qubit outside the backend") from None
            if name == "r":
                theta, phi = instruction.params
                if not (type(theta) is float and type(phi) is float and math.isfinite(theta + phi)):
                    theta, phi = self._angle(position, theta), self._angle(position, phi)
                append(CircuitOperation("prx", locus, {"angle": theta, "phase": phi}))
            elif name in ("cz", "move", "reset"):
                append(CircuitOperation(name, locus))
            elif name == "barrier":
                if locus:
                    self.instructions.append(CircuitOperation("barrier", locus))
            elif name == "measure":
                self._measure(locus[0], instruction.clbits[0])
            elif name == "delay":
                delay = instruction.operation
                duration = self._seconds(position, delay.duration, delay.unit)
                append(CircuitOperation("delay", locus, {"duration": duration}))
            elif name == "id":
                continue
            elif name == "if_else":
                self._if_else(position, instruction.operation, instruction.qubits)
            else:
                raise self.fail(
                    position,
                    f"'{name}' is not a native IQM operation; transpile the circuit for the backend first "
                    "(qiskit.transpile(circuit, backend) or transpile_to_IQM(circuit, backend))",
                )

    def _measure(self, qubit: str, bit: Clbit) -> None:
        stem = self.key_stem[bit]
        key = stem
        repeat = 1
        while key in self.keys:
            key = f"{stem}_m{repeat}"
            repeat += 1
        self.keys[key] = (self.clbit_index[bit],)
        args = {"key": key}
        if bit in self.feedback_bits:
            args["feedback_key"] = key
            self.last_measurement[bit] = (key, qubit)
        self.instructions.append(CircuitOperation("measure", (qubit,), args))

    def _condition_bit(self, operation: IfElseOp) -> Clbit:
        condition = operation.condition
        if not isinstance(condition, tuple):
            raise QiskitSerializationError(
                f"Circuit '{self.circuit.name}': only if_test((bit, 1)) conditions are supported, not {condition!r}"
            )
        target, value = condition
        if isinstance(target, ClassicalRegister):
            if target.size != 1:
                raise QiskitSerializationError(
                    f"Circuit '{self.circuit.name}': if_test on register '{target.name}' of {target.size} bits; "
                    "IQM hardware branches on a single measured bit"
                )
            target = target[0]
        if int(value) != 1:
            raise QiskitSerializationError(
                f"Circuit '{self.circuit.name}': if_test on a bit being 0 is not supported; "
                "IQM hardware applies a gate when the measured bit is 1"
            )
        return target

    def _if_else(self, position: int, operation: IfElseOp, qubits: tuple[Qubit, ...]) -> None:
        bit = self._condition_bit(operation)
        then_body, else_body = (
            operation.blocks[0],
            (operation.blocks[1] if len(operation.blocks) > 1 else None),
        )
        if else_body is not None and any(item.operation.name != "barrier" for item in else_body.data):
            raise self.fail(position, "if_test with an else branch is not supported")
        measured = self.last_measurement.get(bit)
        if measured is None:
            raise self.fail(position, "if_test on a bit that no earlier measurement wrote")
        key, source = measured
        outer = dict(zip(then_body.qubits, qubits, strict=True))
        for item in then_body.data:
            body_op = item.operation
            if body_op.name == "barrier":
                continue
            if body_op.name != "r":
                raise self.fail(
                    position,
                    f"'{body_op.name}' inside if_test; only single-qubit r gates (x, rx, ... after "
                    "transpiling) can be conditioned on IQM hardware",
                )
            angle, phase = (self._angle(position, value) for value in body_op.params)
            qubit = self.qubit_names[outer[item.qubits[0]]]
            self.instructions.append(
                CircuitOperation(
                    "cc_prx",
                    (qubit,),
                    {"angle": angle, "phase": phase, "feedback_qubit": source, "feedback_key": key},
                )
            )

    def _angle(self, position: int, value: Any) -> float:
        try:
            result = float(value)
        except TypeError:
            raise self.fail(position, f"unbound parameter {value}; bind parameters before running") from None
        if not math.isfinite(result):
            raise self.fail(position, f"angle {result} is not finite")
        return result

    def _seconds(self, position: int, duration: Any, unit: str) -> float:
        if unit not in _SECONDS_PER_UNIT:
            raise self.fail(position, f"delay in unit '{unit}'; give delays in s, ms, us, ns or ps")
        return float(duration) * _SECONDS_PER_UNIT[unit]
