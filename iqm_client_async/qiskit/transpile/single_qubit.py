"""Single-qubit gates as one ``r`` each, Z rotations kept virtual.

A single-qubit unitary is ``Rz(a) · R(theta, phi)`` for some angles, and Z rotations commute with CZ
and do not change measurement outcomes. So every run of single-qubit gates becomes at most one ``r``
gate, while the Z rotation left over is carried along as a frame change (later ``r`` gates on the
qubit get their phase shifted) until a measurement or reset makes it irrelevant. Qiskit's own
``r``-basis synthesis needs two ``r`` gates per run instead.

A frame still pending where the circuit ends is written out exactly (two ``r`` gates at most), as
Qiskit's primitives append basis changes to transpiled circuits. Only the global phase changes.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from qiskit.circuit import Barrier, Delay, IfElseOp, Measure, QuantumCircuit, Qubit, Reset
from qiskit.circuit.library import RGate, RZGate
from qiskit.dagcircuit import DAGCircuit, DAGOpNode
from qiskit.synthesis import OneQubitEulerDecomposer
from qiskit.transpiler import TransformationPass, TranspilerError

__all__ = ["OptimizeSingleQubitGates"]

_ZYZ = OneQubitEulerDecomposer(basis="ZYZ")
_RR = OneQubitEulerDecomposer(basis="RR")
_EPSILON = 1e-10
_DIAGONAL = frozenset({"cz", "move"})  # commute with a Z rotation (a MOVE carries it along with the state)


class OptimizeSingleQubitGates(TransformationPass):  # type: ignore[misc]  # qiskit is untyped
    """Merge each run of single-qubit gates into at most one ``r`` gate, keeping Z rotations virtual.

    Barriers end runs (gates are not merged across them); ``r`` gates inside ``if_test`` bodies get
    the frame of their qubit; parametrized ``r`` gates are kept and rephased.
    """

    def run(self, dag: DAGCircuit) -> DAGCircuit:
        """Rewrite ``dag``'s single-qubit gates."""
        out = dag.copy_empty_like()
        frames = _Frames(out)
        for node in dag.topological_op_nodes():
            frames.apply(node)
        frames.finish(list(out.qubits))
        return out


class _Frames:
    """Per qubit: the single-qubit unitary not yet written, and the virtual Z rotation of its frame."""

    def __init__(self, out: DAGCircuit) -> None:
        self.out = out
        self.pending: dict[Qubit, np.ndarray[Any, Any]] = {}
        self.z: dict[Qubit, float] = {}

    def apply(self, node: DAGOpNode) -> None:
        op = node.op
        qubits = list(node.qargs)
        if _is_unitary_1q(op):
            matrix = _matrix(op)
            if matrix is not None:
                qubit = qubits[0]
                self.pending[qubit] = matrix @ self.pending.get(qubit, np.eye(2, dtype=complex))
                return
            if op.name != "r":
                raise TranspilerError(
                    f"Cannot merge the unbound single-qubit gate '{op.name}'; bind it first."
                )
            self.flush(qubits)
            theta, phi = op.params
            self._emit(RGate(theta, phi - self.z.get(qubits[0], 0.0)), qubits, ())
            return
        if isinstance(op, (Measure, Reset)):
            if isinstance(op, Reset):
                self.pending.pop(qubits[0], None)
            self.flush(qubits)
            self.z[qubits[0]] = 0.0  # a basis state: its frame no longer matters
            self._emit(op, qubits, node.cargs)
            return
        self.flush(qubits)
        if isinstance(op, IfElseOp):
            op = self._rephased(op, qubits)
        elif not (isinstance(op, (Barrier, Delay)) or op.name in _DIAGONAL):
            for qubit in qubits:
                if abs(self.z.get(qubit, 0.0)) > _EPSILON:
                    raise TranspilerError(
                        f"'{op.name}' does not commute with the virtual Z rotation of its qubit; "
                        "it cannot follow single-qubit gates in an IQM circuit."
                    )
        self._emit(op, qubits, node.cargs)

    def flush(self, qubits: list[Qubit]) -> None:
        """Write the pending unitaries of these qubits as one ``r`` each (or none, for a Z rotation)."""
        for qubit in qubits:
            matrix = self.pending.pop(qubit, None)
            if matrix is None:
                continue
            theta, phi, lam = _ZYZ.angles(matrix)
            # Rz(phi) Ry(theta) Rz(lam) = Rz(phi + lam) R(theta, pi/2 - lam), and the frame z shifts the phase.
            z = self.z.get(qubit, 0.0)
            if abs(theta) > _EPSILON:
                self._emit(RGate(theta, _wrap(math.pi / 2 - lam - z)), [qubit], ())
            self.z[qubit] = _wrap(z + phi + lam)

    def finish(self, qubits: list[Qubit]) -> None:
        """Write what is pending at the end of the circuit exactly: the unitary and the frame together."""
        for qubit in qubits:
            matrix = self.pending.pop(qubit, np.eye(2, dtype=complex))
            total = matrix @ RZGate(self.z.pop(qubit, 0.0)).to_matrix()
            if abs(abs(np.trace(total)) - 2.0) < _EPSILON:
                continue  # the identity, up to a global phase
            for item in _RR(total).data:
                self._emit(item.operation, [qubit], ())

    def _emit(self, op: Any, qubits: list[Qubit], clbits: Any) -> None:
        self.out.apply_operation_back(op, tuple(qubits), tuple(clbits), check=False)

    def _rephased(self, op: IfElseOp, qubits: list[Qubit]) -> IfElseOp:
        """The conditional with its ``r`` gates in the frames of their qubits."""
        body: QuantumCircuit = op.blocks[0]
        outer = dict(zip(body.qubits, qubits, strict=True))
        rephased = body.copy_empty_like()
        for item in body.data:
            if item.operation.name == "r":
                theta, phi = item.operation.params
                z = self.z.get(outer[item.qubits[0]], 0.0)
                rephased.append(RGate(theta, phi - z if z else phi), item.qubits, item.clbits)
            else:
                rephased.append(item.operation, item.qubits, item.clbits)
        false_body = op.blocks[1] if len(op.blocks) > 1 else None
        return IfElseOp(op.condition, rephased, false_body, op.label)


def _is_unitary_1q(op: Any) -> bool:
    return (
        op.num_qubits == 1
        and op.num_clbits == 0
        and not isinstance(op, (Barrier, Delay, Measure, Reset, IfElseOp))
        and not getattr(op, "_directive", False)
    )


def _matrix(op: Any) -> np.ndarray[Any, Any] | None:
    if op.is_parameterized():
        return None
    try:
        return np.asarray(op.to_matrix(), dtype=complex)
    except Exception:  # a gate without a matrix definition
        return None


def _wrap(angle: float) -> float:
    """The angle in (-pi, pi]."""
    wrapped = math.remainder(angle, 2 * math.pi)
    return math.pi if wrapped == -math.pi else wrapped
