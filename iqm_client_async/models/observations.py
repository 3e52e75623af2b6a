"""Calibration sets and quality-metric sets: sets of named observations.

Observation values are JSON scalars, lists, complex numbers (``{"__complex__": "true", "real", "imag"}``)
or arrays (``{"__ndarray__": "true", "data": <base64>, "dtype", "shape"}``). Arrays decode into
``NDArrayValue`` without needing numpy; ``numpy.asarray(value)`` works when numpy is installed.
"""

from __future__ import annotations

import base64
import re
import struct
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, TypeAlias
from uuid import UUID

from pydantic import (
    Discriminator,
    Field,
    PlainSerializer,
    PlainValidator,
    Tag,
    WithJsonSchema,
    computed_field,
)

from ._base import ResponseModel

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "CalibrationSet",
    "NDArrayValue",
    "ObservationData",
    "ObservationLite",
    "ObservationSetType",
    "ObservationSetWithObservations",
    "ObservationUncertainty",
    "ObservationValue",
    "QualityMetricSet",
]

_NAMED_DTYPES = {
    "bool": "b1",
    **{f"int{bits}": f"i{bits // 8}" for bits in (8, 16, 32, 64)},
    **{f"uint{bits}": f"u{bits // 8}" for bits in (8, 16, 32, 64)},
    **{f"float{bits}": f"f{bits // 8}" for bits in (16, 32, 64)},
    "complex64": "c8",
    "complex128": "c16",
}
_TYPESTR = re.compile(r"([<>|=]?)([biufc])(\d+)")
_STRUCT_CODES = {
    "b1": "?",
    "i1": "b",
    "i2": "h",
    "i4": "i",
    "i8": "q",
    "u1": "B",
    "u2": "H",
    "u4": "I",
    "u8": "Q",
    "f2": "e",
    "f4": "f",
    "f8": "d",
    "c8": "f",
    "c16": "d",
}


def _struct_layout(dtype: str) -> tuple[str, str, bool]:
    """``(byte order, struct code, is complex)`` of a numpy dtype string such as ``float64`` or ``<f8``.

    Raises:
        ValueError: the dtype is not a boolean or numeric scalar type.
    """
    typestr = _NAMED_DTYPES.get(dtype, dtype)
    match = _TYPESTR.fullmatch(typestr)
    code = _STRUCT_CODES.get(match.group(2) + match.group(3)) if match else None
    if match is None or code is None:
        raise ValueError(f"Unsupported array dtype {dtype!r}: only boolean and numeric arrays can be decoded")
    order = {"<": "<", ">": ">"}.get(match.group(1), "=")
    return order, code, match.group(2) == "c"


@dataclass(frozen=True, slots=True)
class NDArrayValue:
    """An n-dimensional array observation value, kept as its raw C-order buffer.

    Attributes:
        dtype: numpy dtype string, e.g. ``float64`` or ``<f8``.
        shape: array shape.
        data: raw C-order buffer.
    """

    dtype: str
    shape: tuple[int, ...]
    data: bytes

    @property
    def size(self) -> int:
        """Number of elements."""
        size = 1
        for length in self.shape:
            size *= length
        return size

    def flat(self) -> list[bool | int | float | complex]:
        """The elements in C order.

        Raises:
            ValueError: the dtype is not numeric/boolean, or the buffer does not match dtype and shape.
        """
        order, code, is_complex = _struct_layout(self.dtype)
        count = self.size * (2 if is_complex else 1)
        try:
            values = struct.unpack(f"{order}{count}{code}", self.data)
        except struct.error as exc:
            raise ValueError(
                f"Array buffer does not match dtype {self.dtype!r} and shape {self.shape}"
            ) from exc
        if is_complex:
            return [complex(real, imag) for real, imag in zip(values[::2], values[1::2], strict=True)]
        return list(values)

    def tolist(self) -> Any:
        """The array as nested Python lists (a scalar for a 0-dimensional array), like ``numpy.ndarray.tolist``."""
        items: list[Any] = self.flat()
        if not self.shape:
            return items[0]
        for length in reversed(self.shape[1:]):
            items = [items[start : start + length] for start in range(0, len(items), length)]
        return items

    def __float__(self) -> float:
        if self.size != 1:
            raise TypeError("only size-1 arrays can be converted to float")
        return float(self.flat()[0])  # type: ignore[arg-type]

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray[Any, Any]:
        import numpy as np  # optional dependency: only imported when the caller uses numpy

        array = np.frombuffer(self.data, dtype=self.dtype).reshape(self.shape)
        return array.astype(dtype) if dtype is not None else array.copy()

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> NDArrayValue:
        """Decode the ``{"__ndarray__": "true", "data", "dtype", "shape"}`` wire form."""
        return cls(
            dtype=str(value["dtype"]),
            shape=tuple(int(length) for length in value["shape"]),
            data=base64.b64decode(value["data"]),
        )

    def to_json(self) -> dict[str, Any]:
        """Encode as the ``{"__ndarray__": "true", "data", "dtype", "shape"}`` wire form."""
        return {
            "__ndarray__": "true",
            "data": base64.b64encode(self.data).decode("ascii"),
            "dtype": self.dtype,
            "shape": list(self.shape),
        }


def _decode_value(value: Any) -> Any:
    """Complex and array wire forms become ``complex`` / ``NDArrayValue``; anything else passes unchanged."""
    if isinstance(value, dict):
        if "__complex__" in value:
            return complex(value["real"], value["imag"])
        if "__ndarray__" in value:
            return NDArrayValue.from_json(value)
    return value


def _encode_value(value: Any) -> Any:
    if isinstance(value, complex):
        return {"__complex__": "true", "real": value.real, "imag": value.imag}
    if isinstance(value, NDArrayValue):
        return value.to_json()
    return value


ObservationValue = Annotated[
    bool | str | int | float | complex | NDArrayValue | list[Any] | dict[str, Any],
    PlainValidator(_decode_value),
    PlainSerializer(_encode_value),
    WithJsonSchema({}),
]
"""Value of an observation: JSON scalar or list, complex number, or array."""

ObservationUncertainty = Annotated[
    int | float | complex | NDArrayValue,
    PlainValidator(_decode_value),
    PlainSerializer(_encode_value),
    WithJsonSchema({}),
]
"""Uncertainty of an observation value."""


class ObservationLite(ResponseModel):
    """One named observation, e.g. ``characterization.model.QB1.t1_time`` = 3.77e-05 s.

    Attributes:
        dut_field: the qualified observation name.
        value: the value (SI units).
        unit: its unit; ``""`` when dimensionless.
        uncertainty: its uncertainty, if known.
        invalid: whether the observation has been marked invalid.
        observation_id: database id.
        created_timestamp: creation time.
        modified_timestamp: last modification time.
    """

    dut_field: str
    value: ObservationValue
    unit: str
    uncertainty: ObservationUncertainty | None = None
    invalid: bool = False
    observation_id: int
    created_timestamp: datetime
    modified_timestamp: datetime


class ObservationData(ObservationLite):
    """An observation in the full shape newer servers send: ``ObservationLite`` plus its provenance.

    Attributes:
        dut_label: label of the chip the observation is about.
        source: how the observation was made; ``source["type"]`` names the kind of source.
        tags: free-form tags.
        observation_set_ids: the observation sets it belongs to.
    """

    dut_label: str
    source: dict[str, Any]
    tags: list[str] = Field(default_factory=list)
    observation_set_ids: list[UUID] = Field(default_factory=list)


def _observation_shape(value: Any) -> str:
    """``data`` for the full observation shape (it names its chip), ``lite`` for the legacy one."""
    if isinstance(value, dict):
        return "data" if "dut_label" in value else "lite"
    return "data" if isinstance(value, ObservationData) else "lite"


AnyObservation = Annotated[
    Annotated[ObservationData, Tag("data")] | Annotated[ObservationLite, Tag("lite")],
    Discriminator(_observation_shape),
]
"""An observation in either wire shape: ``ObservationData`` (newer servers) or ``ObservationLite``."""


class ObservationSetType(StrEnum):
    """Purpose of an observation set."""

    GENERIC_SET = "generic-set"
    CALIBRATION_SET = "calibration-set"
    QUALITY_METRIC_SET = "quality-metric-set"
    CHARACTERIZATION_SET = "characterization-set"


class ObservationSetWithObservations(ResponseModel):
    """An observation set with its observations (a calibration set or a quality-metric set).

    Attributes:
        observation_set_type: the set's purpose.
        describes_id: the set this one describes (a quality-metric set: its calibration set).
        invalid: whether the set has been marked invalid.
        dut_label: label of the chip the set belongs to.
        observation_set_id: the set's id.
        created_timestamp: creation time.
        end_timestamp: when the set was finalized; None while open.
        observations: the observations: ``ObservationData`` where the server sends the full shape,
            ``ObservationLite`` where it sends the legacy one.
    """

    observation_set_type: ObservationSetType
    describes_id: UUID | None = None
    invalid: bool = False
    dut_label: str | None
    observation_set_id: UUID
    created_timestamp: datetime
    end_timestamp: datetime | None
    observations: list[AnyObservation]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def observation_ids(self) -> list[int]:
        """Deprecated: the ids of ``observations``."""
        return [observation.observation_id for observation in self.observations]


CalibrationSet: TypeAlias = ObservationSetWithObservations
"""A calibration set (``GET /api/v1/calibration-sets/{qc}/{id}``)."""

QualityMetricSet: TypeAlias = ObservationSetWithObservations
"""A quality-metric set (``GET /api/v1/calibration-sets/{qc}/{id}/metrics``)."""
