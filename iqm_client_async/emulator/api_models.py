"""Pydantic models of what the emulator's routes accept and return, for its OpenAPI document (``/openapi.json``).

The routes read and write JSON themselves (the submission parser is more lenient and more precise than a
schema: legacy spellings, per-instruction messages); these models only describe the wire format, and the
fuzz session (``nox -s fuzz``) checks the responses against them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from iqm_client_async.emulator.limits import MAX_CIRCUITS, MAX_INSTRUCTIONS, MAX_SHOTS

OperationName = Literal[
    "barrier",
    "delay",
    "measure",
    "measure_fidelity",
    "prx",
    "prx_12",
    "u",
    "sx",
    "rz",
    "rz_physical",
    "cz",
    "move",
    "cc_prx",
    "reset",
    "reset_wait",
    "lru",
    "phased_rx",
    "measurement",
]


class _Open(BaseModel):
    """Unknown fields are ignored, as the server does."""

    model_config = ConfigDict(extra="allow")


class IQMServerError(BaseModel):
    """The body of every error response, and an entry of ``JobData.errors``."""

    message: str
    error_code: str | None
    source: str
    detail: str = Field(description="repeats message (deprecated)")


class Instruction(_Open):
    """One operation of a circuit (``qubits`` is the legacy spelling of ``locus``)."""

    name: OperationName = Field(description="operation; phased_rx and measurement are legacy names")
    locus: list[str] | None = None
    qubits: list[str] | None = None
    args: dict[str, float | str] = Field(default_factory=dict)
    implementation: str | None = None


class Circuit(_Open):
    """A named circuit."""

    name: str = Field(min_length=1)
    instructions: list[Instruction] = Field(min_length=1, max_length=MAX_INSTRUCTIONS)
    metadata: dict[str, Any] | None = None


class QubitMappingEntry(BaseModel):
    """One pair of the legacy list form of ``qubit_mapping``."""

    logical_name: str
    physical_name: str


class DDStrategy(_Open):
    """Dynamical decoupling strategy (accepted and echoed; it does not change the simulation)."""

    merge_contiguous_waits: bool = True
    target_qubits: list[str] | None = None
    skip_leading_wait: bool = True
    skip_trailing_wait: bool = True
    gate_sequences: list[list[Any]] = Field(default_factory=list)


MoveValidation = Literal["strict", "allow_prx", "none"]
FrameTracking = Literal["full", "no_detuning_correction", "none"]


class RunRequest(_Open):
    """The body of ``POST /api/v1/jobs/{qc}/circuit``, and the normalized ``GET /api/v1/jobs/{id}/payload``."""

    circuits: list[Circuit] = Field(min_length=1, max_length=MAX_CIRCUITS)
    shots: int = Field(ge=1, le=MAX_SHOTS)
    calibration_set_id: str | None = Field(default=None, description="a UUID, or null for the default set")
    qubit_mapping: dict[str, str] | list[QubitMappingEntry] | None = None
    max_circuit_duration_over_t2: float | None = None
    heralding_mode: Literal["none", "zeros"] | None = None
    move_gate_validation: MoveValidation | None = None
    move_validation_mode: MoveValidation | None = None
    move_gate_frame_tracking: FrameTracking | None = None
    move_gate_frame_tracking_mode: FrameTracking | None = None
    active_reset_cycles: int | None = None
    dd_mode: Literal["disabled", "enabled"] | None = None
    dd_strategy: DDStrategy | None = None


class ProgressValue(BaseModel):
    """Progress of one labelled step."""

    value: int
    max_value: int


class Execution(BaseModel):
    """Execution progress of a job."""

    progress: dict[str, ProgressValue]


class Compilation(BaseModel):
    """The calibration set a job was compiled with."""

    calibration_set_id: str


class TimelineEntry(BaseModel):
    """One step of a job's history."""

    source: str
    status: str
    timestamp: str


class JobMessage(_Open):
    """An informational message attached to a job."""

    source: str
    message: str


class JobData(BaseModel):
    """The status document of a job."""

    id: str
    type: Literal["circuit"]
    status: Literal["waiting", "processing", "completed", "failed", "cancelled"]
    execution: Execution | None
    compilation: Compilation | None
    messages: list[JobMessage]
    errors: list[IQMServerError]
    queue_position: int | None
    timeline: list[TimelineEntry]


class MeasurementCounts(BaseModel):
    """Bitstring counts of one circuit."""

    measurement_keys: list[str]
    counts: dict[str, int]


Measurements = list[dict[str, list[list[int]]]]
"""Per circuit, per measurement key, per shot, one bit per locus component."""


class QuantumComputer(BaseModel):
    """One quantum computer served."""

    id: str
    alias: str
    display_name: str
    proxy_path: str | None


class QuantumComputers(BaseModel):
    """The quantum computers served."""

    quantum_computers: list[QuantumComputer]


class Health(BaseModel):
    """Health of the quantum computer and its queue."""

    status: str
    quantum_computer: str
    jobs_waiting: int
    jobs_running: int


class About(BaseModel):
    """The emulator's identity, settings and counters."""

    name: str
    emulator: bool
    version: str
    idempotency_key_supported: bool
    quantum_computer: str
    noise: str
    workers: int
    counters: dict[str, Any]


class SoftwareVersions(BaseModel):
    """The ``about`` artifact of a quantum computer."""

    version: str
    software_versions: dict[str, str]


class DynamicQuantumArchitecture(_Open):
    """Calibrated gates and their loci for one calibration set."""

    calibration_set_id: str
    qubits: list[str]
    computational_resonators: list[str]
    gates: dict[str, Any]


class ObservationSet(_Open):
    """A calibration set or a quality metric set: observations of one calibration."""

    observation_set_id: str
    observation_set_type: str
    describes_id: Any
    invalid: bool
    dut_label: str
    created_timestamp: Any
    end_timestamp: Any
    observations: list[dict[str, Any]]


class Dut(BaseModel):
    """A device under test."""

    label: str
    dut_type: str


class StaticQuantumArchitecture(_Open):
    """The chip's components and their connectivity."""

    dut_label: str
    qubits: list[str]
    computational_resonators: list[str]
    connectivity: list[list[str]]
