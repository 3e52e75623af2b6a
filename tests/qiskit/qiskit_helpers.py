"""Architectures built by hand for the Qiskit tests (the fixtures are in ``qiskit_fixtures``).

This directory is not a package (it would shadow the ``qiskit`` package), so this module is imported
as ``qiskit_helpers``.
"""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from iqm_client_async import DynamicQuantumArchitecture

SEED = 20261204


def gate(*loci: tuple[str, ...], implementation: str = "impl") -> dict[str, Any]:
    """A gate of a dynamic architecture with one implementation on ``loci``."""
    return {
        "implementations": {implementation: {"loci": [list(locus) for locus in loci]}},
        "default_implementation": implementation,
        "override_default_implementation": {},
    }


def architecture(
    gates: dict[str, Any], qubits: list[str], resonators: list[str] | None = None
) -> DynamicQuantumArchitecture:
    """A dynamic quantum architecture from gate loci."""
    return DynamicQuantumArchitecture.model_validate(
        {
            "calibration_set_id": str(uuid4()),
            "qubits": qubits,
            "computational_resonators": resonators or [],
            "gates": gates,
        }
    )


def line_architecture() -> DynamicQuantumArchitecture:
    """QB1-QB2-QB3 in a line; QB4 has gates but no measurement (so it is left out)."""
    qubits = ["QB1", "QB2", "QB3", "QB4"]
    return architecture(
        {
            "prx": gate(*((q,) for q in qubits)),
            "cz": gate(("QB1", "QB2"), ("QB2", "QB3"), ("QB3", "QB4")),
            "measure": gate(("QB1",), ("QB2",), ("QB3",)),
            "cc_prx": gate(*((q,) for q in qubits)),
        },
        qubits,
    )


def star_architecture() -> DynamicQuantumArchitecture:
    """Three qubits around resonator CR1: QB1 and QB2 can be moved, QB3 only does CZ with it."""
    qubits = ["QB1", "QB2", "QB3"]
    return architecture(
        {
            "prx": gate(*((q,) for q in qubits)),
            "cz": gate(("QB1", "CR1"), ("QB2", "CR1"), ("QB3", "CR1")),
            "move": gate(("QB1", "CR1"), ("QB2", "CR1")),
            "measure": gate(*((q,) for q in qubits)),
        },
        qubits,
        ["CR1"],
    )
