"""The scheduling stage that ``qiskit.transpile(circuit, backend)`` runs for IQM backends.

Registered under the entry point ``qiskit.transpiler.scheduling: iqm_client_async`` and named by
``IQMBackend.get_scheduling_stage_plugin()``, so plain ``qiskit.transpile`` merges single-qubit gates
into one ``r`` each and inserts the MOVE gates a star architecture needs.
"""

from __future__ import annotations

from qiskit.transpiler import PassManager, PassManagerConfig
from qiskit.transpiler.preset_passmanagers.plugin import PassManagerStagePlugin

from ..target import IQMTarget
from .move_routing import MoveRouting
from .single_qubit import OptimizeSingleQubitGates

__all__ = ["PLUGIN_NAME", "IQMSchedulingPlugin", "scheduling_stage"]

PLUGIN_NAME = "iqm_client_async"
"""The entry-point name of the plugin (group ``qiskit.transpiler.scheduling``)."""


def scheduling_stage(
    target: object, *, optimize_single_qubits: bool = True, perform_move_routing: bool = True
) -> PassManager:
    """The IQM scheduling stage for ``target``: single-qubit merging, then MOVE routing on star architectures.

    Args:
        target: the transpilation target (MOVE routing only for an ``IQMTarget`` with resonators).
        optimize_single_qubits: merge single-qubit gates into one ``r`` each (``OptimizeSingleQubitGates``).
        perform_move_routing: insert MOVE gates (``MoveRouting``).
    """
    passes: list[object] = []
    if optimize_single_qubits:
        passes.append(OptimizeSingleQubitGates())
    if (
        perform_move_routing
        and isinstance(target, IQMTarget)
        and target.has_resonators
        and not target.include_resonators
    ):
        passes.append(MoveRouting(target))
    return PassManager(passes)


class IQMSchedulingPlugin(PassManagerStagePlugin):  # type: ignore[misc]  # qiskit is untyped
    """Scheduling stage for IQM targets (see ``scheduling_stage``); no single-qubit merging at level 0."""

    def pass_manager(
        self, pass_manager_config: PassManagerConfig, optimization_level: int | None = None
    ) -> PassManager:
        """The stage for the configuration's target."""
        return scheduling_stage(pass_manager_config.target, optimize_single_qubits=optimization_level != 0)
