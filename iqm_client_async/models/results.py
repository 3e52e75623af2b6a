"""Measurement results of circuit jobs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, TypeAlias
from uuid import UUID

from annotated_types import Ge, Le
from pydantic import Strict, TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from .._errors import ResponseDecodeError
from .._sanitize import one_line, shown
from ._base import ResponseModel
from .circuits import Circuit

__all__ = [
    "CircuitMeasurementCounts",
    "CircuitMeasurementCountsBatch",
    "CircuitMeasurementResults",
    "CircuitMeasurementResultsBatch",
    "CircuitShape",
    "ExpectedMeasurements",
    "check_measurement_counts",
    "decode_measurement_results",
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


# ------------------------------------------------------------------------------- checked decoding

_Bit = Annotated[int, Strict(), Ge(0), Le(1)]
_RESULTS: TypeAdapter[list[dict[str, list[list[int]]]]] = TypeAdapter(list[dict[str, list[list[_Bit]]]])
_MAX_SHAPES_REMEMBERED = 100_000
"""Circuits whose measurement keys and widths a client remembers (the oldest jobs are forgotten first)."""

CircuitShape: TypeAlias = tuple[str, dict[str, int]]
"""A circuit's name and, for each measurement key, the number of components it measures."""


class ExpectedMeasurements:
    """The measurement shapes of the jobs a client submitted, to check their results against.

    Bounded: at most ``_MAX_SHAPES_REMEMBERED`` circuits in all; the oldest jobs are forgotten first
    (their results are then checked for consistency only).
    """

    _MAX_DISTINCT = 1024

    def __init__(self) -> None:
        self._jobs: dict[UUID, tuple[CircuitShape, ...]] = {}  # insertion order: oldest first
        self._circuits = 0
        # Jobs of identical circuits share one shapes object: a job in flight costs a dict entry.
        self._distinct: dict[
            tuple[tuple[str, tuple[tuple[str, int], ...]], ...], tuple[CircuitShape, ...]
        ] = {}

    def remember(
        self, job_id: UUID, circuits: Sequence[Circuit | str], widths: Sequence[dict[str, int] | None]
    ) -> None:
        """Record the shapes of a submitted job's circuits (their keys and widths, found by validation)."""
        if len(circuits) > _MAX_SHAPES_REMEMBERED or any(w is None for w in widths):
            return  # a QIR program's measurements are unknown
        shapes = tuple(
            (circuit.name, keys)
            for circuit, keys in zip(circuits, widths, strict=True)
            if isinstance(circuit, Circuit) and keys is not None
        )
        identity = tuple((name, tuple(keys.items())) for name, keys in shapes)
        shared = self._distinct.get(identity)
        if shared is None:
            if len(self._distinct) >= self._MAX_DISTINCT:
                self._distinct.clear()
            shared = self._distinct[identity] = shapes
        self._jobs[job_id] = shared
        self._circuits += len(shared)
        while self._circuits > _MAX_SHAPES_REMEMBERED:
            dropped = self._jobs.pop(next(iter(self._jobs)))
            self._circuits -= len(dropped)

    def get(self, job_id: UUID) -> tuple[CircuitShape, ...] | None:
        """The shapes recorded for ``job_id``, if any."""
        return self._jobs.get(job_id)


def decode_measurement_results(
    content: bytes, *, job_id: UUID, expected: tuple[CircuitShape, ...] | None = None
) -> CircuitMeasurementResultsBatch:
    """Decode and check a job's measurement results.

    Checks every value is 0 or 1, the rows of one key have one length (the number of components the
    key's measurement has, when the circuits are known), and all keys of a circuit have the same number
    of shots; with known circuits also the number of circuits and their keys.

    Raises:
        ResponseDecodeError: naming the job, the circuit (index and name) and the key.
    """
    try:
        results = _RESULTS.validate_json(content)
    except PydanticValidationError as exc:
        error = exc.errors(include_url=False, include_input=False)[0]
        location = error["loc"]
        where = _where(
            job_id, location[0] if location else None, expected, location[1] if len(location) > 1 else None
        )
        detail = f" (shot {location[2]})" if len(location) > 2 else ""
        raise ResponseDecodeError(
            one_line(f"Malformed measurement results of {where}{detail}: {error['msg']}", 500)
        ) from None
    if expected is not None and len(results) != len(expected):
        raise ResponseDecodeError(
            f"Malformed measurement results of job {job_id}: {len(results)} circuits in the results, "
            f"{len(expected)} submitted."
        )
    for index, circuit_results in enumerate(results):
        widths = expected[index][1] if expected is not None else None
        if widths is not None and set(circuit_results) != set(widths):
            missing = sorted(set(widths) - set(circuit_results))
            extra = sorted(set(circuit_results) - set(widths))
            raise ResponseDecodeError(
                one_line(
                    f"Malformed measurement results of {_where(job_id, index, expected)}: measurement keys "
                    f"missing {shown(missing)}, unexpected {shown(extra)}.",
                    500,
                )
            )
        shots: int | None = None
        for key, rows in circuit_results.items():
            lengths = set(map(len, rows))
            width = widths[key] if widths is not None else None
            if len(lengths) > 1 or (width is not None and lengths and lengths != {width}):
                wanted = f"{width} (the qubits it measures)" if width is not None else "one length"
                raise ResponseDecodeError(
                    one_line(
                        f"Malformed measurement results of {_where(job_id, index, expected, key)}: rows of "
                        f"lengths {sorted(lengths)[:6]}, expected {wanted}.",
                        500,
                    )
                )
            if shots is None:
                shots = len(rows)
            elif len(rows) != shots:
                raise ResponseDecodeError(
                    one_line(
                        f"Malformed measurement results of {_where(job_id, index, expected, key)}: {len(rows)} "
                        f"shots, but other keys of the circuit have {shots}.",
                        500,
                    )
                )
    return results


def _where(job_id: UUID, index: object, expected: tuple[CircuitShape, ...] | None, key: object = None) -> str:
    where = f"job {job_id}"
    if isinstance(index, int):
        name = expected[index][0] if expected is not None and 0 <= index < len(expected) else None
        where += f", circuit {index}" + (f" ({shown(name)})" if name is not None else "")
    if key is not None:
        where += f", key {shown(key)}"
    return where


def check_measurement_counts(counts: list[CircuitMeasurementCounts], *, job_id: UUID) -> None:
    """Check decoded measurement counts: bitstrings of 0/1 of one length per circuit, counts >= 0.

    Raises:
        ResponseDecodeError: naming the job and the circuit.
    """
    for index, circuit_counts in enumerate(counts):
        lengths = set(map(len, circuit_counts.counts))
        bad = next((b for b in circuit_counts.counts if b.strip("01")), None)
        negative = any(value < 0 for value in circuit_counts.counts.values())
        if len(lengths) > 1 or bad is not None or negative:
            problem = (
                f"the bitstring {shown(bad)} is not made of 0 and 1"
                if bad is not None
                else "a negative count"
                if negative
                else f"bitstrings of lengths {sorted(lengths)[:6]}"
            )
            raise ResponseDecodeError(
                one_line(f"Malformed measurement counts of job {job_id}, circuit {index}: {problem}.", 500)
            )
