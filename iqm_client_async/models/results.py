"""Measurement results of circuit jobs."""

from __future__ import annotations

from typing import TypeAlias

from ._base import ResponseModel

__all__ = [
    "CircuitMeasurementCounts",
    "CircuitMeasurementCountsBatch",
    "CircuitMeasurementResults",
    "CircuitMeasurementResultsBatch",
]

CircuitMeasurementResults: TypeAlias = dict[str, list[list[int]]]
"""Results of one circuit: ``results[key][shot][i]`` is the outcome for the i-th locus component of
measurement ``key`` in that shot."""

CircuitMeasurementResultsBatch: TypeAlias = list[CircuitMeasurementResults]
"""Results of every circuit of a job, in submission order."""


class CircuitMeasurementCounts(ResponseModel):
    """Histogram of the outcomes of one circuit.

    Attributes:
        measurement_keys: keys in the order their bits are concatenated in the bitstrings of ``counts``.
        counts: bitstring -> number of shots; each key contributes its bits in locus order.
    """

    measurement_keys: list[str]
    counts: dict[str, int]


CircuitMeasurementCountsBatch: TypeAlias = list[CircuitMeasurementCounts]
"""Counts of every circuit of a job, in submission order."""
