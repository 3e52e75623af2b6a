"""The MOVE gate: moves a qubit's state into a computational resonator (and back)."""

from __future__ import annotations

from typing import Any

import numpy as np
from qiskit.circuit import Gate

__all__ = ["MoveGate"]

# SWAP restricted to what a MOVE does: |q, r> -> |r, q> when at most one of the two is excited.
_MOVE_MATRIX = np.array(
    [[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 1]],
    dtype=complex,
)


class MoveGate(Gate):  # type: ignore[misc]  # qiskit is untyped
    """MOVE between a qubit (first) and a computational resonator (second), IQM's ``move`` operation.

    A MOVE exchanges the states of the qubit and the empty resonator; applied twice it brings the
    state back. Its matrix is that of a SWAP, which is exact in the subspace a MOVE sandwich uses
    (the resonator holds at most one excitation, and is empty whenever a qubit is moved into it).
    """

    def __init__(self, label: str | None = None) -> None:
        super().__init__("move", 2, [], label=label)

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray[Any, Any]:
        """The gate's matrix (see the class docstring)."""
        return np.asarray(_MOVE_MATRIX, dtype=dtype)

    def inverse(self, annotated: bool = False) -> MoveGate:
        """A MOVE is its own inverse."""
        return MoveGate(label=self.label)
