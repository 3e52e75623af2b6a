"""Transpiling for IQM backends: ``transpile_to_IQM``, the MOVE routing pass and its scheduling plugin."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qiskit import transpile
from qiskit.circuit import QuantumCircuit

from .move_routing import MoveRouting
from .plugin import PLUGIN_NAME, IQMSchedulingPlugin

if TYPE_CHECKING:
    from ..backend import IQMBackend

__all__ = ["PLUGIN_NAME", "IQMSchedulingPlugin", "MoveRouting", "transpile_to_IQM"]


def transpile_to_IQM(  # the name IQM's adapter users know
    circuit: QuantumCircuit,
    backend: IQMBackend,
    *,
    optimization_level: int | None = None,
    seed_transpiler: int | None = None,
    initial_layout: Any = None,
    perform_move_routing: bool = True,
    **transpile_options: Any,
) -> QuantumCircuit:
    """Transpile a circuit for an IQM backend: native gates, layout, routing, and MOVEs where needed.

    ``qiskit.transpile(circuit, backend)`` does the same; this adds the switch for MOVE routing.

    Args:
        circuit: the circuit.
        backend: the IQM backend.
        optimization_level: Qiskit's optimization level (None: Qiskit's default).
        seed_transpiler: seed of Qiskit's stochastic passes.
        initial_layout: Qiskit's initial layout.
        perform_move_routing: on a star architecture, insert the MOVE gates (otherwise the circuit keeps
            CZs between qubits, which ``backend.run`` routes when serializing).
        **transpile_options: other keyword arguments of ``qiskit.transpile``.
    """
    if not perform_move_routing:
        transpile_options.setdefault("scheduling_method", None)
        transpile_options["target"] = backend.target
        return transpile(
            circuit,
            optimization_level=optimization_level,
            seed_transpiler=seed_transpiler,
            initial_layout=initial_layout,
            **transpile_options,
        )
    return transpile(
        circuit,
        backend=backend,
        optimization_level=optimization_level,
        seed_transpiler=seed_transpiler,
        initial_layout=initial_layout,
        **transpile_options,
    )
