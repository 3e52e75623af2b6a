"""MOVE routing: turn CZs between qubits of a star architecture into MOVE + CZ through a resonator.

On deneb every qubit couples only to the computational resonator. A CZ between qubits ``a`` and ``b``
is done by moving ``a``'s state into the resonator, a CZ between ``b`` and the resonator, and moving
``a`` back. The pass keeps a qubit in the resonator while it takes part in consecutive CZs (a GHZ
fan-out from one qubit needs two MOVEs in all, not two per CZ), and moves it back before anything
else acts on it (only barriers may touch a moved qubit) and at the end of the circuit.
"""

from __future__ import annotations

from qiskit.circuit import Barrier, Qubit
from qiskit.circuit.library import CZGate
from qiskit.dagcircuit import DAGCircuit, DAGOpNode
from qiskit.transpiler import TransformationPass, TranspilerError

from ..move_gate import MoveGate
from ..target import ComponentIndex, IQMTarget

__all__ = ["MoveRouting"]


class MoveRouting(TransformationPass):  # type: ignore[misc]  # qiskit is untyped
    """Insert MOVE gates for CZs between qubits that meet in a computational resonator.

    The input is a circuit laid out on the qubits of ``IQMTarget(include_resonators=False)`` (qubit ``i``
    is the target's qubit ``i``); the output has the resonators as extra qubits after them, as in
    ``IQMTarget(include_resonators=True)``. CZs on a calibrated pair are left alone.

    Args:
        target: the backend's target (its component index says which MOVEs and CZs exist).
    """

    def __init__(self, target: IQMTarget) -> None:
        super().__init__()
        self.components: ComponentIndex = target.components

    def run(self, dag: DAGCircuit) -> DAGCircuit:
        """Route the CZs of ``dag`` through the resonators."""
        components = self.components
        if not components.resonators:
            return dag
        n_qubits = len(components.qubits)
        if dag.num_qubits() != n_qubits:
            raise TranspilerError(
                f"MOVE routing needs a circuit laid out on the {n_qubits} qubits of the backend, "
                f"got {dag.num_qubits()} qubits (transpile with the backend first)."
            )
        nodes = list(dag.topological_op_nodes())
        if any(node.op.name == "move" for node in nodes):
            return dag  # MOVEs written by the user are trusted as they are
        out = dag.copy_empty_like()
        resonator_bits = [Qubit() for _ in components.resonators]
        out.add_qubits(resonator_bits)
        name_of = {bit: components.qubits[dag.find_bit(bit).index] for bit in dag.qubits}
        bit_of = {name: bit for bit, name in name_of.items()}
        bit_of.update(zip(components.resonators, resonator_bits, strict=True))
        router = _Router(components, out, bit_of, _cz_runs(nodes, name_of))
        for position, node in enumerate(nodes):
            names = [name_of[bit] for bit in node.qargs]
            if node.op.name == "cz" and len(names) == 2:
                router.cz(position, names[0], names[1])
            else:
                if not isinstance(node.op, Barrier):
                    router.evict(names)
                out.apply_operation_back(node.op, node.qargs, node.cargs, check=False)
        router.evict(list(router.resident.values()))
        return out


def _cz_runs(nodes: list[DAGOpNode], name_of: dict[Qubit, str]) -> list[dict[str, int]]:
    """For each node, per qubit of a CZ: how many CZs in a row (this one included) the qubit takes part in
    before another operation acts on it. Barriers do not end a run."""
    runs: list[dict[str, int]] = [{} for _ in nodes]
    ahead: dict[str, int] = {}
    for position in range(len(nodes) - 1, -1, -1):
        node = nodes[position]
        names = [name_of[bit] for bit in node.qargs]
        if node.op.name == "cz":
            for name in names:
                ahead[name] = ahead.get(name, 0) + 1
                runs[position][name] = ahead[name]
        elif not isinstance(node.op, Barrier):
            for name in names:
                ahead[name] = 0
    return runs


class _Router:
    """The resonators' occupants while the output circuit is written."""

    def __init__(
        self,
        components: ComponentIndex,
        out: DAGCircuit,
        bit_of: dict[str, Qubit],
        runs: list[dict[str, int]],
    ) -> None:
        self.components = components
        self.out = out
        self.bit_of = bit_of
        self.runs = runs
        self.resident: dict[str, str] = {}  # resonator -> qubit whose state it holds

    def move(self, qubit: str, resonator: str) -> None:
        self.out.apply_operation_back(
            MoveGate(), (self.bit_of[qubit], self.bit_of[resonator]), (), check=False
        )

    def evict(self, qubits: list[str]) -> None:
        """Move these qubits back home if they are in a resonator."""
        for resonator, occupant in list(self.resident.items()):
            if occupant in qubits:
                self.move(occupant, resonator)
                del self.resident[resonator]

    def cz(self, position: int, a: str, b: str) -> None:
        if frozenset((a, b)) in self.components.cz_pairs:
            self.evict([a, b])
            self._apply_cz(a, b)
            return
        for resonator, occupant in self.resident.items():
            other = b if occupant == a else a if occupant == b else None
            if other is not None and frozenset((other, resonator)) in self.components.cz_pairs:
                self._apply_cz(other, resonator)
                self._release_if_done(position, occupant)
                return
        self.evict([a, b])
        runs = self.runs[position]
        prefer = a if runs.get(a, 0) >= runs.get(b, 0) else b
        route = self.components.star_route(a, b, prefer_moved=prefer)
        if route is None:
            raise TranspilerError(f"No resonator connects {a} and {b} for a CZ.")
        occupant = self.resident.pop(route.resonator, "")
        if occupant:
            self.move(occupant, route.resonator)
        self.move(route.moved, route.resonator)
        self.resident[route.resonator] = route.moved
        self._apply_cz(route.other, route.resonator)
        self._release_if_done(position, route.moved)

    def _release_if_done(self, position: int, occupant: str) -> None:
        """Move a qubit back as soon as its run of CZs ends (a resonator keeps a state for less long)."""
        if self.runs[position].get(occupant, 0) <= 1:
            self.evict([occupant])

    def _apply_cz(self, first: str, second: str) -> None:
        self.out.apply_operation_back(CZGate(), (self.bit_of[first], self.bit_of[second]), (), check=False)
