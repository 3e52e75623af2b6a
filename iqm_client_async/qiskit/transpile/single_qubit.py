"""Single-qubit gates as one ``r`` each, Z rotations kept virtual.

A single-qubit unitary is ``Rz(a) · R(theta, phi)`` for some angles, and Z rotations commute with CZ
and do not change measurement outcomes. So every run of single-qubit gates becomes at most one ``r``
gate, while the Z rotation left over is carried along as a frame change (later ``r`` gates on the
qubit get their phase shifted) until a measurement or reset makes it irrelevant. Qiskit's own
``r``-basis synthesis needs two ``r`` gates per run instead.

A frame still pending where the circuit ends is written out exactly (two ``r`` gates at most), as
Qiskit's primitives append basis changes to transpiled circuits. Only the global phase changes.

Unitaries are kept in SU(2) as the pair ``(alpha, beta)`` of ``[[alpha, -beta*], [beta, alpha*]]``:
composing two is a few complex multiplications, far cheaper than numpy on 2x2 matrices.
"""

from __future__ import annotations

import cmath
import math
from typing import Any

import numpy as np
from qiskit.circuit import IfElseOp, QuantumCircuit, Qubit
from qiskit.circuit.library import RGate
from qiskit.dagcircuit import DAGCircuit, DAGOpNode
from qiskit.transpiler import TransformationPass, TranspilerError

__all__ = ["OptimizeSingleQubitGates"]

SU2 = tuple[complex, complex]
_IDENTITY: SU2 = (1 + 0j, 0j)
_EPSILON = 1e-10
_FRAME_NEUTRAL = frozenset(
    {"cz", "move", "barrier", "delay"}
)  # commute with a Z rotation (a MOVE carries it)
_NOT_UNITARY = frozenset({"measure", "reset", "barrier", "delay", "if_else"})


def _compose(first: SU2, then: SU2) -> SU2:
    """``then · first``."""
    a1, b1 = first
    a2, b2 = then
    return a2 * a1 - b2.conjugate() * b1, b2 * a1 + a2.conjugate() * b1


def _r(theta: float, phi: float) -> SU2:
    return complex(math.cos(theta / 2)), -1j * math.sin(theta / 2) * cmath.exp(1j * phi)


def _rz(angle: float) -> SU2:
    return cmath.exp(-0.5j * angle), 0j


def _from_matrix(matrix: Any) -> SU2:
    m = np.asarray(matrix, dtype=complex)
    root = cmath.sqrt(m[0, 0] * m[1, 1] - m[0, 1] * m[1, 0])
    return complex(m[0, 0] / root), complex(m[1, 0] / root)


def _split(u: SU2) -> tuple[float, float, float]:
    """``(theta, phi, a)`` with ``u = Rz(a) · R(theta, phi)`` up to a sign."""
    alpha, beta = u
    a = -2 * cmath.phase(alpha) if abs(alpha) > _EPSILON else 0.0
    theta = 2 * math.atan2(abs(beta), abs(alpha))
    phi = cmath.phase(beta) + math.pi / 2 - a / 2 if abs(beta) > _EPSILON else 0.0
    return theta, phi, a


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
        self.pending: dict[Qubit, SU2] = {}
        self.z: dict[Qubit, float] = {}

    def apply(self, node: DAGOpNode) -> None:
        name = node.name
        qubits = node.qargs
        if name == "r":
            theta, phi = node.params
            if type(theta) is float and type(phi) is float:
                self._merge(qubits[0], _r(theta, phi))
                return
            if not (_is_parametrized(theta) or _is_parametrized(phi)):
                self._merge(qubits[0], _r(float(theta), float(phi)))
                return
            self.flush(qubits)
            self._emit(RGate(theta, phi - self.z.get(qubits[0], 0.0)), qubits, ())
            return
        if len(qubits) == 1 and not node.cargs and name not in _NOT_UNITARY:
            op = node.op
            if op.is_parameterized():
                raise TranspilerError(f"Cannot merge the unbound single-qubit gate '{name}'; bind it first.")
            self._merge(qubits[0], _from_matrix(op.to_matrix()))
            return
        if name in ("measure", "reset"):
            if name == "reset":
                self.pending.pop(qubits[0], None)
            self.flush(qubits)
            self.z[qubits[0]] = 0.0  # a basis state: its frame no longer matters
            self._emit(node.op, qubits, node.cargs)
            return
        self.flush(qubits)
        op = node.op
        if name == "if_else":
            op = self._rephased(op, qubits)
        elif name not in _FRAME_NEUTRAL:
            for qubit in qubits:
                if abs(self.z.get(qubit, 0.0)) > _EPSILON:
                    raise TranspilerError(
                        f"'{name}' does not commute with the virtual Z rotation of its qubit; "
                        "it cannot follow single-qubit gates in an IQM circuit."
                    )
        self._emit(op, qubits, node.cargs)

    def _merge(self, qubit: Qubit, u: SU2) -> None:
        self.pending[qubit] = _compose(self.pending.get(qubit, _IDENTITY), u)

    def flush(self, qubits: tuple[Qubit, ...] | list[Qubit]) -> None:
        """Write the pending unitaries of these qubits as one ``r`` each (or none, for a Z rotation)."""
        for qubit in qubits:
            u = self.pending.pop(qubit, None)
            if u is None:
                continue
            theta, phi, a = _split(u)
            # u · Rz(z) = Rz(a) R(theta, phi) Rz(z) = Rz(a + z) R(theta, phi - z)
            z = self.z.get(qubit, 0.0)
            if theta > _EPSILON:
                self._emit(RGate(theta, _wrap(phi - z)), (qubit,), ())
            self.z[qubit] = _wrap(z + a)

    def finish(self, qubits: list[Qubit]) -> None:
        """Write what is pending at the end of the circuit exactly: the unitary and the frame together."""
        for qubit in qubits:
            u = _compose(_rz(self.z.pop(qubit, 0.0)), self.pending.pop(qubit, _IDENTITY))
            theta, phi, a = _split(u)
            a = _wrap(a)
            if theta > _EPSILON:
                self._emit(RGate(theta, _wrap(phi)), (qubit,), ())
            if abs(a) > _EPSILON:  # Rz(a) = R(pi, a/2) · R(pi, 0), up to a global phase
                self._emit(RGate(math.pi, 0.0), (qubit,), ())
                self._emit(RGate(math.pi, a / 2), (qubit,), ())

    def _emit(self, op: Any, qubits: Any, clbits: Any) -> None:
        self.out.apply_operation_back(op, tuple(qubits), tuple(clbits), check=False)

    def _rephased(self, op: IfElseOp, qubits: tuple[Qubit, ...]) -> IfElseOp:
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


def _is_parametrized(value: Any) -> bool:
    return bool(getattr(value, "parameters", None))


def _wrap(angle: float) -> float:
    """The angle in (-pi, pi]."""
    wrapped = math.remainder(angle, 2 * math.pi)
    return math.pi if wrapped == -math.pi else wrapped
