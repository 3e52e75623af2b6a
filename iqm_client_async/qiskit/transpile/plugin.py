"""The scheduling-stage plugin that ``qiskit.transpile(circuit, backend)`` runs for IQM backends.

Registered under the entry point ``qiskit.transpiler.scheduling: iqm_client_async`` and named by
``IQMBackend.get_scheduling_stage_plugin()``, so plain ``qiskit.transpile`` inserts the MOVE gates a
star architecture needs.
"""

from __future__ import annotations

from qiskit.transpiler import PassManager, PassManagerConfig
from qiskit.transpiler.preset_passmanagers.plugin import PassManagerStagePlugin

from ..target import IQMTarget
from .move_routing import MoveRouting

__all__ = ["PLUGIN_NAME", "IQMSchedulingPlugin"]

PLUGIN_NAME = "iqm_client_async"
"""The entry-point name of the plugin (group ``qiskit.transpiler.scheduling``)."""


class IQMSchedulingPlugin(PassManagerStagePlugin):  # type: ignore[misc]  # qiskit is untyped
    """Scheduling stage for IQM targets: MOVE routing on architectures with a computational resonator."""

    def pass_manager(
        self, pass_manager_config: PassManagerConfig, optimization_level: int | None = None
    ) -> PassManager | None:
        """The MOVE routing pass for an ``IQMTarget`` with resonators; nothing to do otherwise."""
        target = pass_manager_config.target
        if isinstance(target, IQMTarget) and target.has_resonators and not target.include_resonators:
            return PassManager([MoveRouting(target)])
        return None
