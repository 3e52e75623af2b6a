"""Circuits, their operations, and the compilation options sent along with them.

``Circuit`` and ``CircuitOperation`` are plain (slotted) dataclasses so that building hundreds of
thousands of operations stays cheap; pydantic serializes them in Rust when a request is sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeAlias
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "STANDARD_DD_STRATEGY",
    "Circuit",
    "CircuitCompilationOptions",
    "CircuitJobParameters",
    "CircuitOperation",
    "DDMode",
    "DDStrategy",
    "HeraldingMode",
    "Locus",
    "MoveGateFrameTrackingMode",
    "MoveGateValidationMode",
    "PRXSequence",
    "QIRCode",
]

Locus: TypeAlias = tuple[str, ...]
"""Names of the QPU components an operation acts on, e.g. ``("QB1", "QB2")``."""

QIRCode: TypeAlias = str
"""A QIR program, sent to the server as an opaque string."""

PRXSequence: TypeAlias = list[tuple[float, float]]
"""A dynamical-decoupling gate pattern given as ``(angle, phase)`` pairs of PRX gates (radians)."""


@dataclass(slots=True, frozen=True)
class CircuitOperation:
    """One native quantum operation on a specific locus, e.g. ``prx`` on ``("QB1",)``.

    Attributes:
        name: operation name (``prx``, ``cc_prx``, ``cz``, ``move``, ``measure``, ``reset``, ``barrier``, ``delay``).
        locus: components the operation acts on (qubit or resonator names, or logical names with a mapping).
        args: operation arguments, e.g. ``{"angle": 3.14, "phase": 0.0}`` (angles in radians).
        implementation: name of a calibrated implementation, or None for the locus' default.
    """

    name: str
    locus: Locus
    args: dict[str, Any] = field(default_factory=dict)
    implementation: str | None = None


@dataclass(slots=True)
class Circuit:
    """A named quantum circuit: a sequence of ``CircuitOperation``.

    Attributes:
        name: non-empty circuit name.
        instructions: the operations in execution order (a list is accepted as well as a tuple).
        metadata: arbitrary JSON-serializable data, returned unchanged with the job's payload.
    """

    name: str
    instructions: Sequence[CircuitOperation]
    metadata: dict[str, Any] | None = None

    def all_locus_components(self) -> set[str]:
        """Names of all components (typically qubits) that any instruction of the circuit acts on."""
        return {component for instruction in self.instructions for component in instruction.locus}


class HeraldingMode(StrEnum):
    """Heralding: which shots to keep, based on a measurement made right after the initial reset."""

    NONE = "none"
    """Keep every shot."""
    ZEROS = "zeros"
    """Keep only shots in which every measured component was found in the ground state."""


class MoveGateValidationMode(StrEnum):
    """How strictly the server validates MOVE gate sandwiches."""

    STRICT = "strict"
    """Only ``barrier`` may act on a qubit whose state has been moved into a resonator."""
    ALLOW_PRX = "allow_prx"
    """Like ``STRICT``, but ``prx`` is allowed too."""
    NONE = "none"
    """No MOVE validation."""


class MoveGateFrameTrackingMode(StrEnum):
    """How the server tracks the qubit frame across MOVE gate sandwiches."""

    FULL = "full"
    """Frame tracking including detuning correction (needs validation ``STRICT`` or ``ALLOW_PRX``)."""
    NO_DETUNING_CORRECTION = "no_detuning_correction"
    """Frame tracking without detuning correction."""
    NONE = "none"
    """No frame tracking."""


class DDMode(StrEnum):
    """Whether the server inserts dynamical-decoupling sequences into idle periods."""

    DISABLED = "disabled"
    ENABLED = "enabled"


class DDStrategy(BaseModel):
    """A dynamical-decoupling strategy.

    Attributes:
        merge_contiguous_waits: merge waits that are separated only by blocks.
        target_qubits: qubits to decouple; None means all qubits.
        skip_leading_wait: leave waits at the start of a circuit alone.
        skip_trailing_wait: leave waits at the end of a circuit alone.
        gate_sequences: ``(ratio, pattern, align)`` triples; ``ratio`` is the minimal window length in PRX
            durations, ``pattern`` an ``"X"``/``"Y"`` string or ``(angle, phase)`` pairs, ``align`` one of
            ``"asap"``, ``"center"``, ``"alap"``. The longest fitting pattern (by descending ratio) is used.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    merge_contiguous_waits: bool = True
    target_qubits: frozenset[str] | None = None
    skip_leading_wait: bool = True
    skip_trailing_wait: bool = True
    gate_sequences: list[tuple[int, str | PRXSequence, str]] = Field(default_factory=list)


STANDARD_DD_STRATEGY = DDStrategy(
    gate_sequences=[(9, "XYXYYXYX", "asap"), (5, "YXYX", "asap"), (2, "XX", "center")]
)
"""The server's standard strategy: CPMG for short idle windows, XY4 for medium ones, EDD for long ones."""


@dataclass(frozen=True)
class CircuitCompilationOptions:
    """Options for compiling circuits into pulse schedules on the server.

    Each field is sent as the request field of the same name.

    Attributes:
        max_circuit_duration_over_t2: reject circuits estimated to last longer than this multiple of the
            shortest T2 of the qubits they use; ``0.0`` disables the check, None uses the server default.
        heralding_mode: heralding mode.
        move_gate_validation: MOVE gate validation mode (ignored without MOVE gates).
        move_gate_frame_tracking: MOVE gate frame tracking mode (ignored without MOVE gates).
        active_reset_cycles: active resets prepended to every circuit for each used qubit; None resets by
            waiting, values below 1 do no reset at all.
        dd_mode: whether dynamical decoupling is enabled.
        dd_strategy: the dynamical decoupling strategy; None uses the server default.

    Raises:
        ValueError: full MOVE frame tracking was requested together with MOVE validation ``NONE``.
    """

    max_circuit_duration_over_t2: float | None = None
    heralding_mode: HeraldingMode = HeraldingMode.NONE
    move_gate_validation: MoveGateValidationMode = MoveGateValidationMode.STRICT
    move_gate_frame_tracking: MoveGateFrameTrackingMode = MoveGateFrameTrackingMode.FULL
    active_reset_cycles: int | None = None
    dd_mode: DDMode = DDMode.DISABLED
    dd_strategy: DDStrategy | None = None

    def __post_init__(self) -> None:
        """Refuse option combinations the server cannot honour."""
        if (
            self.move_gate_frame_tracking == MoveGateFrameTrackingMode.FULL
            and self.move_gate_validation
            not in (
                MoveGateValidationMode.STRICT,
                MoveGateValidationMode.ALLOW_PRX,
                None,
            )
        ):
            raise ValueError(
                'Unable to perform full MOVE gate frame tracking if MOVE gate validation is not "strict" or '
                '"allow_prx".'
            )


@dataclass(frozen=True, kw_only=True)
class CircuitJobParameters(CircuitCompilationOptions):
    """The parameters a circuit job was submitted with (everything in the request except the circuits).

    Attributes:
        shots: repetitions of every circuit.
        calibration_set_id: calibration set requested, or None for the server default.
        qubit_mapping: logical -> physical qubit names, or None when the circuits use physical names.
    """

    shots: int
    calibration_set_id: UUID | None = None
    qubit_mapping: dict[str, str] | None = None
