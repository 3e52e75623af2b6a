"""Qiskit transpilation targets built from IQM's dynamic quantum architecture.

Qubit indices follow the component names (``QB1`` -> 0, ``QB2`` -> 1, ...; qubits without a calibrated
measurement are left out, as Qiskit's transpiler assumes every qubit can be measured); computational
resonators come after the qubits. ``IQMTarget`` (``include_resonators=False``) is what Qiskit routes on:
on a star architecture (deneb) it offers a CZ between any two qubits that can meet in a resonator
(one moved in, the other coupled to it); the MOVE routing pass turns those into real MOVE + CZ
sequences. ``include_resonators=True`` gives the real connectivity, resonators and MOVE gates included.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from qiskit.circuit import Delay, IfElseOp, Measure, Parameter, Reset
from qiskit.circuit.library import CZGate, RGate
from qiskit.transpiler import InstructionProperties, Target

from iqm_client_async.calibration import ObservationFinder
from iqm_client_async.models import DynamicQuantumArchitecture, GateInfo
from iqm_client_async.models.architecture import component_sort_key

from .move_gate import MoveGate

__all__ = ["ComponentIndex", "IQMTarget", "StarRoute"]

Locus = tuple[str, ...]


@dataclass(frozen=True)
class StarRoute:
    """How two qubits that share no coupler do a CZ: one is moved into a resonator the other couples to.

    Attributes:
        moved: the qubit whose state goes into the resonator (``move`` locus ``(moved, resonator)``).
        other: the qubit that does the CZ with the resonator (``cz`` locus ``(other, resonator)``).
        resonator: the computational resonator.
    """

    moved: str
    other: str
    resonator: str


@dataclass(frozen=True)
class ComponentIndex:
    """Qiskit indices of an architecture's components and the couplings routing needs.

    Attributes:
        qubits: usable qubits (those with a calibrated measurement), index order.
        resonators: computational resonators, indexed after the qubits.
        cz_loci: component pairs with a calibrated CZ, in the architecture's order.
        move_loci: ``(qubit, resonator)`` pairs with a calibrated MOVE.
    """

    qubits: tuple[str, ...]
    resonators: tuple[str, ...]
    cz_loci: tuple[tuple[str, str], ...]
    move_loci: frozenset[tuple[str, str]]
    index: dict[str, int] = field(init=False, repr=False, compare=False)
    cz_pairs: frozenset[frozenset[str]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "index", {name: i for i, name in enumerate(self.components)})
        object.__setattr__(self, "cz_pairs", frozenset(frozenset(locus) for locus in self.cz_loci))

    @classmethod
    def from_architecture(cls, architecture: DynamicQuantumArchitecture) -> ComponentIndex:
        """The usable components of ``architecture`` and their couplings."""
        measurable = {q for locus in _loci(architecture.gates.get("measure")) for q in locus}
        qubits = tuple(sorted((q for q in architecture.qubits if q in measurable), key=component_sort_key))
        resonators = tuple(sorted(architecture.computational_resonators, key=component_sort_key))
        usable = {*qubits, *resonators}
        cz_loci = tuple(
            (locus[0], locus[1])
            for locus in _loci(architecture.gates.get("cz"))
            if len(locus) == 2 and set(locus) <= usable
        )
        move_loci = frozenset(
            (locus[0], locus[1])
            for locus in _loci(architecture.gates.get("move"))
            if len(locus) == 2 and set(locus) <= usable
        )
        return cls(qubits, resonators, cz_loci, move_loci)

    @property
    def components(self) -> tuple[str, ...]:
        """Qubits, then resonators, in index order."""
        return (*self.qubits, *self.resonators)

    def star_route(self, first: str, second: str, prefer_moved: str | None = None) -> StarRoute | None:
        """A way to do CZ(first, second) through a resonator, or None if there is none.

        Args:
            first: one qubit.
            second: the other qubit.
            prefer_moved: the qubit to move into the resonator when either would do.
        """
        routes = [
            StarRoute(moved, other, resonator)
            for resonator in self.resonators
            for moved, other in ((first, second), (second, first))
            if (moved, resonator) in self.move_loci and frozenset((other, resonator)) in self.cz_pairs
        ]
        if not routes:
            return None
        preferred = [route for route in routes if route.moved == prefer_moved]
        return (preferred or routes)[0]


def _loci(gate: GateInfo | None) -> tuple[Locus, ...]:
    return () if gate is None else gate.loci


class IQMTarget(Target):  # type: ignore[misc]  # qiskit is untyped
    """The Qiskit ``Target`` of an IQM quantum computer: ``r`` (IQM's ``prx``), ``cz``, ``measure``, ``reset``,
    ``delay``, ``if_else`` (and ``move`` with ``include_resonators=True``).

    Args:
        architecture: the dynamic quantum architecture of the calibration set.
        metrics: calibration data and quality metrics; with them, gate errors and durations are filled in
            (Qiskit's layout and routing then prefer the better qubits and couplers).
        include_resonators: index the resonators too, with the real CZ and MOVE loci (no virtual CZs).
    """

    def __new__(cls, architecture: DynamicQuantumArchitecture, *args: Any, **kwargs: Any) -> IQMTarget:
        return super().__new__(cls, description=f"IQM calibration set {architecture.calibration_set_id}")  # type: ignore[no-any-return]

    def __init__(
        self,
        architecture: DynamicQuantumArchitecture,
        *,
        metrics: ObservationFinder | None = None,
        include_resonators: bool = False,
    ) -> None:
        super().__init__()
        self.architecture = architecture
        self.components = ComponentIndex.from_architecture(architecture)
        self.include_resonators = include_resonators
        self._metrics = metrics
        index = self.components.index
        qubits = self.components.qubits

        self.add_instruction(
            RGate(Parameter("theta"), Parameter("phi")),
            {
                (index[q],): self._properties("prx", (q,))
                for q in qubits
                if (q,) in _loci_set(architecture, "prx")
            },
        )
        self.add_instruction(CZGate(), self._two_qubit_properties(include_resonators))
        if include_resonators and self.components.move_loci:
            self.add_instruction(
                MoveGate(),
                {
                    (index[q], index[r]): self._properties("move", (q, r))
                    for q, r in sorted(self.components.move_loci)
                },
            )
        self.add_instruction(Measure(), {(index[q],): self._measure_properties(q) for q in qubits})
        self.add_instruction(Reset(), {(index[q],): None for q in qubits})
        self.add_instruction(Delay(Parameter("t")), {(index[q],): None for q in qubits})
        self.add_instruction(IfElseOp, name="if_else")

    def __reduce__(self) -> tuple[Any, ...]:
        # Qiskit pickles the target to transpile in parallel processes: rebuild it from what it was made of.
        return (_rebuild, (self.architecture, self._metrics, self.include_resonators))

    @property
    def has_resonators(self) -> bool:
        """Whether the architecture has computational resonators (CZs between qubits may need MOVEs)."""
        return bool(self.components.resonators)

    def _two_qubit_properties(
        self, include_resonators: bool
    ) -> dict[tuple[int, int], InstructionProperties | None]:
        index = self.components.index
        qubits = set(self.components.qubits)
        properties: dict[tuple[int, int], InstructionProperties | None] = {}
        for a, b in self.components.cz_loci:
            if include_resonators or (a in qubits and b in qubits):
                props = self._properties("cz", (a, b))
                properties[(index[a], index[b])] = props
                properties[(index[b], index[a])] = props
        if include_resonators:
            return properties
        ordered = self.components.qubits
        for i, a in enumerate(ordered):
            for b in ordered[i + 1 :]:
                if frozenset((a, b)) in self.components.cz_pairs:
                    continue
                route = self.components.star_route(a, b)
                if route is not None:
                    props = self._virtual_cz_properties(route)
                    properties[(index[a], index[b])] = props
                    properties[(index[b], index[a])] = props
        return properties

    def _properties(self, gate: str, locus: Locus) -> InstructionProperties | None:
        if self._metrics is None or gate not in self.architecture.gates:
            return None
        info = self.architecture.gates[gate]
        implementation = info.get_default_implementation(locus)
        fidelity = self._metrics.get_gate_fidelity(gate, implementation, locus)
        duration = self._metrics.get_gate_duration(gate, implementation, locus)
        if fidelity is None and duration is None:
            return None
        return InstructionProperties(duration=duration, error=None if fidelity is None else 1.0 - fidelity)

    def _virtual_cz_properties(self, route: StarRoute) -> InstructionProperties | None:
        parts = [
            self._properties("move", (route.moved, route.resonator)),
            self._properties("cz", (route.other, route.resonator)),
            self._properties("move", (route.moved, route.resonator)),
        ]
        known = [part for part in parts if part is not None]
        if len(known) < len(parts):
            return None
        success = 1.0
        duration = 0.0
        for part in known:
            success *= 1.0 - (part.error or 0.0)
            duration += part.duration or 0.0
        return InstructionProperties(duration=duration or None, error=1.0 - success)

    def _measure_properties(self, qubit: str) -> InstructionProperties | None:
        if self._metrics is None or "measure" not in self.architecture.gates:
            return None
        implementation = self.architecture.gates["measure"].get_default_implementation((qubit,))
        errors = self._metrics.get_measure_errors("measure", implementation, (qubit,))
        duration = self._metrics.get_gate_duration("measure", implementation, (qubit,))
        if errors is None and duration is None:
            return None
        return InstructionProperties(duration=duration, error=None if errors is None else sum(errors) / 2)


def _loci_set(architecture: DynamicQuantumArchitecture, gate: str) -> set[Locus]:
    return set(_loci(architecture.gates.get(gate)))


def _rebuild(
    architecture: DynamicQuantumArchitecture, metrics: ObservationFinder | None, include_resonators: bool
) -> IQMTarget:
    return IQMTarget(architecture, metrics=metrics, include_resonators=include_resonators)
