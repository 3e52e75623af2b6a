"""IQM measurement results -> a Qiskit ``Result`` in Qiskit's conventions.

Per shot, the classical bits form an integer (bit ``i`` of the circuit is ``2**i``); memory and counts
are keyed by its hex form (``"0x3"``), and the header carries the circuit's name and classical
registers, so ``result.get_counts(circuit)`` prints bitstrings in Qiskit's order (last register
first, highest bit first) and ``BackendSamplerV2`` reads the memory as Qiskit backends write it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
from qiskit.result import Result
from qiskit.result.models import ExperimentResult, ExperimentResultData

from iqm_client_async.models import CircuitMeasurementResults

from .serialize import ClassicalLayout

__all__ = ["build_result", "shot_values"]


def shot_values(measurements: CircuitMeasurementResults, layout: ClassicalLayout, shots: int) -> list[int]:
    """The classical bits of every shot as one integer each (bit ``i`` = classical bit ``i``).

    Args:
        measurements: the circuit's results, ``{key: [[bit per measured component] per shot]}``.
        layout: where each key's bits land.
        shots: shots to assume when the circuit measures nothing.
    """
    columns = [(key, bits) for key, bits in layout.clbits.items() if key in measurements]
    if columns:
        shots = len(measurements[columns[0][0]])
    if layout.memory_slots <= 62:
        values = np.zeros(shots, dtype=np.int64)
        for key, bits in columns:
            outcome = np.asarray(measurements[key], dtype=np.int64).reshape(shots, len(bits))
            for column, bit in enumerate(bits):
                values = (values & ~np.int64(1 << bit)) | (outcome[:, column] << bit)
        return [int(value) for value in values]
    wide = [0] * shots
    for key, bits in columns:
        for shot, row in enumerate(measurements[key]):
            for column, bit in enumerate(bits):
                wide[shot] = (wide[shot] & ~(1 << bit)) | (int(row[column]) << bit)
    return wide


def _experiment(
    measurements: CircuitMeasurementResults, layout: ClassicalLayout, shots: int
) -> ExperimentResult:
    values = shot_values(measurements, layout, shots)
    memory = [hex(value) for value in values]
    header: dict[str, Any] = {
        "name": layout.name,
        "creg_sizes": [list(pair) for pair in layout.creg_sizes],
        "memory_slots": layout.memory_slots,
        "metadata": layout.metadata,
    }
    return ExperimentResult(
        shots=len(values),
        success=True,
        data=ExperimentResultData(counts=dict(Counter(memory)), memory=memory),
        header=header,
    )


def build_result(
    measurements: Sequence[CircuitMeasurementResults],
    layouts: Sequence[ClassicalLayout],
    *,
    shots: int,
    job_id: str,
    backend_name: str,
    backend_version: str | None = None,
) -> Result:
    """A Qiskit ``Result`` with one experiment per circuit, addressable by circuit name or object.

    Args:
        measurements: the job's results, one per circuit.
        layouts: the circuits' classical layouts, in the same order.
        shots: the shots requested (used for circuits without measurements).
        job_id: the job's id.
        backend_name: the backend's name.
        backend_version: the backend's version.
    """
    return Result(
        backend_name=backend_name,
        backend_version=backend_version,
        job_id=job_id,
        success=True,
        results=[
            _experiment(circuit, layout, shots) for circuit, layout in zip(measurements, layouts, strict=True)
        ],
    )
