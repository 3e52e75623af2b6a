"""Transpiling for IQM backends: ``transpile_to_IQM``, the passes and the scheduling-stage plugin."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qiskit.circuit import QuantumCircuit
from qiskit.transpiler import generate_preset_pass_manager

from .move_routing import MoveRouting
from .plugin import PLUGIN_NAME, IQMSchedulingPlugin, scheduling_stage
from .single_qubit import OptimizeSingleQubitGates

if TYPE_CHECKING:
    from ..backend import IQMBackend

__all__ = [
    "PLUGIN_NAME",
    "IQMSchedulingPlugin",
    "MoveRouting",
    "OptimizeSingleQubitGates",
    "scheduling_stage",
    "transpile_to_IQM",
]


def transpile_to_IQM(
    circuit: QuantumCircuit | list[QuantumCircuit],
    backend: IQMBackend,
    *,
    optimization_level: int = 2,
    seed_transpiler: int | None = None,
    initial_layout: Any = None,
    perform_move_routing: bool = True,
    optimize_single_qubits: bool = True,
    **pass_manager_options: Any,
) -> Any:
    """Transpile for an IQM backend: native gates, layout, routing, one ``r`` per single-qubit run, MOVEs.

    ``qiskit.transpile(circuit, backend)`` runs the same stages; this adds the switches. Built on
    Qiskit's preset pass manager with the scheduling stage replaced by ``scheduling_stage``.

    Args:
        circuit: a circuit or a list of circuits.
        backend: the IQM backend.
        optimization_level: Qiskit's optimization level (0-3).
        seed_transpiler: seed of Qiskit's stochastic passes.
        initial_layout: Qiskit's initial layout.
        perform_move_routing: on a star architecture, insert the MOVE gates (otherwise CZs between qubits
            stay, and ``backend.run`` routes them when serializing).
        optimize_single_qubits: merge single-qubit gates into one ``r`` each, Z rotations kept virtual.
        **pass_manager_options: other keyword arguments of ``generate_preset_pass_manager``.

    Returns:
        The transpiled circuit (or list, for a list).
    """
    manager = generate_preset_pass_manager(
        optimization_level,
        backend=backend,
        seed_transpiler=seed_transpiler,
        initial_layout=initial_layout,
        **pass_manager_options,
    )
    manager.scheduling = scheduling_stage(
        backend.target,
        optimize_single_qubits=optimize_single_qubits,
        perform_move_routing=perform_move_routing,
    )
    return manager.run(circuit)
