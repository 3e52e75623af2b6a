"""The body of a circuit job submission (``RunRequest``) and its JSON encoding.

The request is serialized in one Rust call (``pydantic_core``), so that a batch of many thousands of
instructions costs a fraction of a microsecond per instruction.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Annotated, Any, TypeAlias
from uuid import UUID

from pydantic import (
    AliasChoices,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    TypeAdapter,
    ValidationInfo,
    computed_field,
    field_validator,
    model_validator,
)

from ._base import RequestModel
from .circuits import (
    Circuit,
    CircuitCompilationOptions,
    CircuitJobParameters,
    CircuitOperation,
    DDMode,
    DDStrategy,
    HeraldingMode,
    MoveGateFrameTrackingMode,
    MoveGateValidationMode,
    QIRCode,
)

__all__ = [
    "CircuitBatch",
    "CircuitJobDefinition",
    "CircuitJobPayload",
    "PostJobsRequest",
    "QubitMapping",
    "RunRequest",
    "serialize_run_request",
]

CircuitBatch: TypeAlias = list[Circuit | QIRCode]
"""Circuits of one job: ``Circuit`` objects, or QIR programs passed through as strings."""

# Deprecated spellings the server still accepts and the reference client still sends (see computed fields).
_DEPRECATED_KEYS = {
    "move_validation_mode": "move_gate_validation",
    "move_gate_frame_tracking_mode": "move_gate_frame_tracking",
}
_IGNORE_UNKNOWN = "ignore_unknown_fields"


def _parse_qubit_mapping(value: Any) -> Any:
    """Accept ``{logical: physical}`` or the legacy ``[{"logical_name", "physical_name"}, ...]`` form."""
    if isinstance(value, list):
        try:
            return {item["logical_name"]: item["physical_name"] for item in value}
        except (TypeError, KeyError):
            raise ValueError(
                "qubit_mapping list items must be objects with 'logical_name' and 'physical_name'"
            ) from None
    return value


def _legacy_qubit_mapping(mapping: dict[str, str]) -> list[dict[str, str]]:
    return [{"logical_name": logical, "physical_name": physical} for logical, physical in mapping.items()]


QubitMapping = Annotated[
    dict[str, str],
    BeforeValidator(_parse_qubit_mapping),
    PlainSerializer(_legacy_qubit_mapping),
]
"""Logical -> physical qubit names; sent in the legacy list-of-objects form the server expects."""


class PostJobsRequest(RequestModel):
    """Request body of ``POST /api/v1/jobs/{quantum_computer}/circuit`` (schema name ``RunRequest``).

    Dumps always contain all 13 keys, nulls included, plus the two deprecated duplicates
    ``move_validation_mode`` and ``move_gate_frame_tracking_mode`` that the server still reads.

    Attributes:
        circuits: the circuits to execute (QIR strings pass through unvalidated).
        calibration_set_id: calibration set to use; None for the server's current default.
        qubit_mapping: logical -> physical qubit names; None when the circuits use physical names.
        shots: repetitions of every circuit, > 0.
        max_circuit_duration_over_t2: see ``CircuitCompilationOptions``.
        heralding_mode: see ``CircuitCompilationOptions``.
        move_gate_validation: see ``CircuitCompilationOptions`` (input alias ``move_validation_mode``).
        move_gate_frame_tracking: see ``CircuitCompilationOptions`` (input alias ``move_gate_frame_tracking_mode``).
        active_reset_cycles: see ``CircuitCompilationOptions``.
        dd_mode: see ``CircuitCompilationOptions``.
        dd_strategy: see ``CircuitCompilationOptions``.
    """

    circuits: CircuitBatch
    calibration_set_id: UUID | None = None
    qubit_mapping: QubitMapping | None = None
    shots: int = Field(1, gt=0)
    max_circuit_duration_over_t2: float | None = None
    heralding_mode: HeraldingMode = HeraldingMode.NONE
    move_gate_validation: MoveGateValidationMode = Field(
        MoveGateValidationMode.STRICT,
        validation_alias=AliasChoices("move_gate_validation", "move_validation_mode"),
    )
    move_gate_frame_tracking: MoveGateFrameTrackingMode = Field(
        MoveGateFrameTrackingMode.FULL,
        validation_alias=AliasChoices("move_gate_frame_tracking", "move_gate_frame_tracking_mode"),
    )
    active_reset_cycles: int | None = None
    dd_mode: DDMode = DDMode.DISABLED
    dd_strategy: DDStrategy | None = None

    @model_validator(mode="before")
    @classmethod
    def _drop_duplicate_and_unknown_keys(cls, data: Any, info: ValidationInfo) -> Any:
        """Drop deprecated spellings shadowed by the current ones (the current one wins).

        With the validation context ``{"ignore_unknown_fields": True}`` (used for stored payloads, which a
        newer server may have extended) unknown keys are dropped too; otherwise they are an error.
        """
        if not isinstance(data, Mapping):
            return data
        cleaned = {
            key: value
            for key, value in data.items()
            if not (key in _DEPRECATED_KEYS and _DEPRECATED_KEYS[key] in data)
        }
        if info.context and info.context.get(_IGNORE_UNKNOWN):
            known = set(cls.model_fields) | set(_DEPRECATED_KEYS)
            cleaned = {key: value for key, value in cleaned.items() if key in known}
        return cleaned

    @field_validator("circuits", mode="after")
    @classmethod
    def _instructions_as_tuples(cls, circuits: CircuitBatch) -> CircuitBatch:
        """Parsed circuits hold their instructions in a tuple (copies; the caller's circuits are not changed)."""
        return [
            replace(circuit, instructions=tuple(circuit.instructions))
            if isinstance(circuit, Circuit) and not isinstance(circuit.instructions, tuple)
            else circuit
            for circuit in circuits
        ]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def move_validation_mode(self) -> MoveGateValidationMode:
        """Deprecated duplicate of ``move_gate_validation``, still sent for older servers."""
        return self.move_gate_validation

    @computed_field  # type: ignore[prop-decorator]
    @property
    def move_gate_frame_tracking_mode(self) -> MoveGateFrameTrackingMode:
        """Deprecated duplicate of ``move_gate_frame_tracking``, still sent for older servers."""
        return self.move_gate_frame_tracking

    @classmethod
    def from_validated(
        cls,
        circuits: Sequence[Circuit | QIRCode],
        *,
        qubit_mapping: Mapping[str, str] | None = None,
        calibration_set_id: UUID | None = None,
        shots: int = 1,
        options: CircuitCompilationOptions | None = None,
    ) -> PostJobsRequest:
        """Build a request from circuits that have already been validated, without re-validating them.

        Every other field is validated as usual. The circuits are stored as given (not copied), so
        building a request for a large batch costs no per-instruction work.

        Args:
            circuits: validated circuits (see ``iqm_client_async.validation``) or QIR strings.
            qubit_mapping: logical -> physical qubit names, or None.
            calibration_set_id: calibration set to use, or None for the default.
            shots: repetitions of every circuit, > 0.
            options: compilation options; defaults when None.

        Returns:
            The request.

        Raises:
            pydantic.ValidationError: an option has a value the server does not accept (e.g. an
                unknown heralding mode string) or ``shots`` < 1.
        """
        options = options or CircuitCompilationOptions()
        request = cls.model_validate(
            {
                "circuits": [],
                "calibration_set_id": calibration_set_id,
                "qubit_mapping": dict(qubit_mapping) if qubit_mapping is not None else None,
                "shots": shots,
                "max_circuit_duration_over_t2": options.max_circuit_duration_over_t2,
                "heralding_mode": options.heralding_mode,
                "move_gate_validation": options.move_gate_validation,
                "move_gate_frame_tracking": options.move_gate_frame_tracking,
                "active_reset_cycles": options.active_reset_cycles,
                "dd_mode": options.dd_mode,
                "dd_strategy": options.dd_strategy,
            }
        )
        request.circuits = circuits if isinstance(circuits, list) else list(circuits)
        return request

    @classmethod
    def from_payload_json(cls, data: bytes | str) -> PostJobsRequest:
        """Parse a stored job payload (``GET /jobs/{id}/payload``); unknown keys are ignored.

        Args:
            data: the JSON body.

        Returns:
            The request.

        Raises:
            pydantic.ValidationError: the body is not a valid request.
        """
        return cls.model_validate_json(data, context={_IGNORE_UNKNOWN: True})

    def split_payload(self) -> tuple[list[Circuit | QIRCode], CircuitJobParameters]:
        """The circuits and the job parameters, as ``CircuitJob.payload()`` returns them.

        Returns:
            ``(circuits, parameters)``; the parameters are every field except the circuits.
        """
        parameters = CircuitJobParameters(
            shots=self.shots,
            calibration_set_id=self.calibration_set_id,
            qubit_mapping=self.qubit_mapping,
            max_circuit_duration_over_t2=self.max_circuit_duration_over_t2,
            heralding_mode=self.heralding_mode,
            move_gate_validation=self.move_gate_validation,
            move_gate_frame_tracking=self.move_gate_frame_tracking,
            active_reset_cycles=self.active_reset_cycles,
            dd_mode=self.dd_mode,
            dd_strategy=self.dd_strategy,
        )
        return list(self.circuits), parameters


RunRequest: TypeAlias = PostJobsRequest
"""The name the server's OpenAPI schema uses for ``PostJobsRequest``."""

_FIELD_NAMES = tuple(PostJobsRequest.model_fields)

PackedDefinition: TypeAlias = tuple[Any, ...]
"""The field values of a ``PostJobsRequest`` in field order: what a job keeps of its definition."""


def pack_definition(request: PostJobsRequest) -> PackedDefinition:
    """A request's field values as a tuple: a fifth of the model's memory, for jobs that keep it until asked."""
    return tuple(getattr(request, name) for name in _FIELD_NAMES)


CircuitJobDefinition: TypeAlias = PostJobsRequest
"""iqm-client 36's name for ``PostJobsRequest`` (35 called it ``RunRequest``)."""


class CircuitJobPayload(PostJobsRequest):
    """What ``payload()`` of a job returns: the job's definition, readable in both reference vocabularies.

    It is a ``CircuitJobDefinition`` (iqm-client 36: ``job.payload().shots``) that also unpacks into
    ``(circuits, parameters)`` (iqm-client 35: ``circuits, parameters = job.payload()``). It compares
    equal to a ``PostJobsRequest`` with the same fields.
    """

    @classmethod
    def of(cls, request: PostJobsRequest | PackedDefinition) -> CircuitJobPayload:
        """The payload view of a request or of its packed fields (shared, nothing re-validated or copied)."""
        if isinstance(request, cls):
            return request
        values = request if isinstance(request, tuple) else pack_definition(request)
        return cls.model_construct(**dict(zip(_FIELD_NAMES, values, strict=True)))

    def __iter__(self) -> Iterator[Any]:  # type: ignore[override]
        return iter(self.split_payload())

    def __len__(self) -> int:
        return 2

    def __getitem__(self, index: int) -> Any:
        return self.split_payload()[index]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PostJobsRequest):
            return all(getattr(self, name) == getattr(other, name) for name in PostJobsRequest.model_fields)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]


def serialize_run_request(request: PostJobsRequest) -> bytes:
    """Encode a request as the JSON body the server expects.

    The instructions of each circuit are encoded in one Rust call; Python only touches each circuit
    once, never each instruction.

    Args:
        request: the request.

    Returns:
        UTF-8 JSON with all request keys in schema order, nulls included.
    """
    rest = request.__pydantic_serializer__.to_json(request, exclude={"circuits"}, warnings=False)
    circuits = b",".join(_circuit_json(circuit) for circuit in request.circuits)
    return b'{"circuits":[' + circuits + b"]," + rest[1:]


_SERIALIZATION = ConfigDict(ser_json_inf_nan="constants")
_INSTRUCTION_TUPLE = TypeAdapter(tuple[CircuitOperation, ...], config=_SERIALIZATION)
_INSTRUCTION_LIST = TypeAdapter(list[CircuitOperation], config=_SERIALIZATION)
_JSON_VALUE: TypeAdapter[Any] = TypeAdapter(Any, config=_SERIALIZATION)


def _circuit_json(circuit: Circuit | QIRCode) -> bytes:
    """One circuit as ``{"name", "instructions", "metadata"}``; anything else (QIR) as plain JSON."""
    if not isinstance(circuit, Circuit):
        return _JSON_VALUE.dump_json(circuit, warnings=False)
    instructions = circuit.instructions
    if type(instructions) is tuple:
        encoded = _INSTRUCTION_TUPLE.dump_json(instructions, warnings=False)
    else:
        encoded = _INSTRUCTION_LIST.dump_json(list(instructions), warnings=False)
    return b"".join(
        (
            b'{"name":',
            _JSON_VALUE.dump_json(circuit.name),
            b',"instructions":',
            encoded,
            b',"metadata":',
            _JSON_VALUE.dump_json(circuit.metadata, warnings=False),
            b"}",
        )
    )
