"""Reading a job submission the way the server does: lenient about formats, strict about meaning.

Accepted inputs besides the current ``RunRequest`` format: legacy instructions with ``qubits`` instead of
``locus``, ``angle_t``/``phase_t`` in full turns, the op names ``phased_rx`` and ``measurement``,
``qubit_mapping`` as a dict or as the legacy list, and the deprecated option names
``move_validation_mode`` / ``move_gate_frame_tracking_mode`` (the new names win when both are given).

Rejected (``RequestRejected``): bodies that are not JSON or exceed a limit of ``limits`` (400), bodies of
the wrong shape (422), QIR programs, unknown operations, components or
logical names, uncalibrated loci, reserved or repeated measurement keys, feedback without a preceding
measurement, bad MOVE sandwiches and bad mappings (400), unknown calibration sets (404). Messages name the
circuit and the instruction.

Problems a real server only finds while compiling (feedback between qubits of different feedback groups)
are reported by ``compilation_problems`` and make the job fail instead.

The duration rule (reference §5.7): a circuit scheduled on per-component timelines (:mod:`.schedule`) may
last at most ``max_circuit_duration_over_t2`` times the shortest Ramsey T2 of the qubits it uses (server
default :data:`DEFAULT_DURATION_OVER_T2` when the field is null, with a message saying so; ``0.0`` turns
the check off) and never more than :data:`~.schedule.MAX_CIRCUIT_DURATION`; longer circuits are rejected
(400, ``circuit_validation_error``). ``dd_mode``/``dd_strategy`` and ``move_gate_frame_tracking`` have no
effect on the simulation.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from iqm_client_async._errors import IQMError
from iqm_client_async.emulator import limits
from iqm_client_async.emulator.presets import Preset
from iqm_client_async.emulator.schedule import MAX_CIRCUIT_DURATION, circuit_duration
from iqm_client_async.emulator.simulator import Instruction

DEFAULT_DURATION_OVER_T2 = 1.0
"""What the server uses when ``max_circuit_duration_over_t2`` is null."""

RESERVED_MEASUREMENT_KEYS = frozenset({"__HERALD", "__MEASUREMENT_MODE"})

_LEGACY_OP_NAMES = {"phased_rx": "prx", "measurement": "measure"}
_FLOAT, _STR = "float", "str"
# op -> (required params, optional params), as in the canonical op table of iqm-pulse
_PARAMS: Mapping[str, tuple[Mapping[str, str], Mapping[str, str]]] = {
    "barrier": ({}, {}),
    "delay": ({"duration": _FLOAT}, {}),
    "measure": ({"key": _STR}, {"feedback_key": _STR}),
    "measure_fidelity": ({"key": _STR}, {}),
    "prx": ({"angle": _FLOAT, "phase": _FLOAT}, {}),
    "prx_12": ({"angle": _FLOAT, "phase": _FLOAT}, {}),
    "u": ({"theta": _FLOAT, "phi": _FLOAT, "lam": _FLOAT}, {}),
    "sx": ({}, {}),
    "rz": ({"angle": _FLOAT}, {}),
    "rz_physical": ({}, {}),
    "cz": ({}, {}),
    "move": ({}, {}),
    "cc_prx": ({"angle": _FLOAT, "phase": _FLOAT, "feedback_qubit": _STR, "feedback_key": _STR}, {}),
    "reset": ({}, {}),
    "reset_wait": ({}, {}),
    "lru": ({}, {}),
}
_ARITY = {
    "prx": 1,
    "prx_12": 1,
    "u": 1,
    "sx": 1,
    "rz": 1,
    "rz_physical": 1,
    "cc_prx": 1,
    "lru": 1,
    "cz": 2,
    "move": 2,
}
_MAY_BE_EMPTY = frozenset({"barrier", "delay"})
_NEEDS_CALIBRATION = frozenset(
    {
        "prx",
        "prx_12",
        "rz_physical",
        "cc_prx",
        "cz",
        "move",
        "measure",
        "measure_fidelity",
        "reset_wait",
        "lru",
    }
)
_COMPILED_TO_PRX = frozenset({"sx", "u"})  # the compiler turns them into prx pulses
_FACTORIZABLE = frozenset({"measure", "measure_fidelity", "reset_wait"})
_SYMMETRIC = frozenset({"cz", "barrier", "delay", "reset", "reset_wait"})
_MEASUREMENTS = frozenset({"measure", "measure_fidelity"})

_HERALDING_MODES = ("none", "zeros")
_MOVE_VALIDATION_MODES = ("strict", "allow_prx", "none")
_FRAME_TRACKING_MODES = ("full", "no_detuning_correction", "none")
_DD_MODES = ("disabled", "enabled")
_DD_ALIGNMENTS = ("asap", "center", "alap")


class RequestRejected(IQMError):
    """A request the server refuses, with the HTTP status to answer.

    Attributes:
        status_code: 400 (invalid circuits), 404 (unknown calibration set) or 422 (malformed body).
    """

    def __init__(self, message: str, *, status_code: int, error_code: str) -> None:
        super().__init__(message, error_code=error_code)
        self.status_code = status_code


def _malformed(message: str) -> RequestRejected:
    return RequestRejected(message, status_code=422, error_code="validation_error")


def _invalid(message: str) -> RequestRejected:
    return RequestRejected(message, status_code=400, error_code="circuit_validation_error")


@dataclass(frozen=True, slots=True)
class _Gate:
    implementations: Mapping[str, frozenset[tuple[str, ...]]]
    all_loci: frozenset[tuple[str, ...]]


class Architecture:
    """What the server checks submissions against: the preset's components, calibrated gates, feedback groups.

    Args:
        preset: the emulated QPU.
    """

    def __init__(self, preset: Preset) -> None:
        dqa = preset.dynamic_architecture()
        self.calibration_set_id: str = dqa["calibration_set_id"]
        self.qubits = frozenset(preset.qubits)
        self.resonators = frozenset(preset.computational_resonators)
        self.components = self.qubits | self.resonators
        self.gates: dict[str, _Gate] = {}
        for op, info in dqa["gates"].items():
            implementations = {
                name: frozenset(tuple(locus) for locus in impl["loci"])
                for name, impl in info["implementations"].items()
            }
            self.gates[op] = _Gate(implementations, frozenset().union(*implementations.values()))
        measure = self.gates.get("measure")
        self.measurable = (
            frozenset(c for locus in measure.all_loci for c in locus) if measure else frozenset()
        )
        awg_sources, _ = preset.channel_properties()
        groups: dict[str, set[str]] = {}
        for channel, sources in awg_sources.items():
            component = channel.split("__", 1)[0]
            if component in self.qubits:
                for source in sources:
                    groups.setdefault(source, set()).add(component)
        self.feedback_groups = tuple(frozenset(group) for group in groups.values())
        self.timing = preset.noise_model()  # gate durations and T2s for the duration rule

    def calibration_problem(self, op: str, implementation: str | None, locus: tuple[str, ...]) -> str | None:
        """Why ``op`` cannot run on ``locus`` with the current calibration (``None``: it can)."""
        gate = self.gates.get(op)
        if gate is None:
            return f"operation '{op}' is not calibrated on this quantum computer"
        if implementation is not None:
            loci = gate.implementations.get(implementation)
            if loci is None:
                known = ", ".join(sorted(gate.implementations))
                return f"implementation '{implementation}' of '{op}' is not calibrated (calibrated: {known})"
        else:
            loci = gate.all_loci
        label = f"'{op}.{implementation}'" if implementation else f"'{op}'"
        if op in _FACTORIZABLE:
            allowed = {c for allowed_locus in loci for c in allowed_locus}
            missing = [c for c in locus if c not in allowed]
            return f"{', '.join(missing)} not calibrated for {label}" if missing else None
        if op in _SYMMETRIC:
            calibrated = any(sorted(locus) == sorted(allowed_locus) for allowed_locus in loci)
        else:
            calibrated = locus in loci
        return None if calibrated else f"{locus} is not a calibrated locus for {label}"

    def same_feedback_group(self, first: str, second: str) -> bool:
        """Whether fast feedback can go from one qubit's readout to the other's drive."""
        return any(first in group and second in group for group in self.feedback_groups)


@dataclass(frozen=True, slots=True)
class CompiledCircuit:
    """One circuit ready for the simulator.

    Attributes:
        name: the circuit's name.
        instructions: operations on physical components, canonical names, angles in radians.
        measurement_keys: the user's measurement keys in circuit order.
        herald: components measured for heralding (empty without heralding).
        feedback: ``(instruction index, driven qubit, feedback qubit)`` of every ``cc_prx``.
    """

    name: str
    instructions: tuple[Instruction, ...]
    measurement_keys: tuple[str, ...]
    herald: tuple[str, ...]
    feedback: tuple[tuple[int, str, str], ...]


@dataclass(frozen=True, slots=True)
class Submission:
    """A validated job submission.

    Attributes:
        payload: the request normalized to the current ``RunRequest`` JSON (for ``GET /jobs/{id}/payload``).
        circuits: the circuits, compiled for the simulator.
        shots: shots per circuit.
        calibration_set_id: the requested calibration set (``None``: the default one).
        active_reset_cycles: the requested reset cycles (passed to the simulator).
        messages: informational messages for the job (``JobData.messages``).
    """

    payload: dict[str, Any]
    circuits: tuple[CompiledCircuit, ...]
    shots: int
    calibration_set_id: str | None
    active_reset_cycles: int | None
    messages: tuple[str, ...] = ()


def parse_submission(body: bytes, architecture: Architecture) -> Submission:
    """Parse, normalize and validate the body of ``POST /api/v1/jobs/{qc}/circuit``.

    Args:
        body: the request body (JSON).
        architecture: what the circuits are checked against.

    Returns:
        The normalized payload and the compiled circuits.

    Raises:
        RequestRejected: the request is malformed (422), invalid (400) or names an unknown calibration set (404).
    """
    document = limits.load_json(body)
    if not isinstance(document, dict):
        raise _malformed("Request body must be a JSON object (a RunRequest)")
    circuits = document.get("circuits")
    if not isinstance(circuits, list):
        raise _malformed("Field 'circuits' is required and must be an array")
    shots = document.get("shots")
    if isinstance(shots, bool) or not isinstance(shots, int) or shots <= 0:
        raise _malformed(f"Field 'shots' is required and must be an integer greater than 0, got {shots!r}")
    limits.check_shots(shots)
    limits.check_circuit_count(len(circuits))
    calibration_set_id = _calibration_set_id(document.get("calibration_set_id"), architecture)
    mapping = _qubit_mapping(document.get("qubit_mapping"), architecture)
    heralding = _choice(document, ("heralding_mode",), _HERALDING_MODES)
    move_validation = _choice(
        document, ("move_gate_validation", "move_validation_mode"), _MOVE_VALIDATION_MODES
    )
    frame_tracking = _choice(
        document, ("move_gate_frame_tracking", "move_gate_frame_tracking_mode"), _FRAME_TRACKING_MODES
    )
    active_reset_cycles = document.get("active_reset_cycles")
    if active_reset_cycles is not None and (
        isinstance(active_reset_cycles, bool) or not isinstance(active_reset_cycles, int)
    ):
        raise _malformed(
            f"Field 'active_reset_cycles' must be an integer or null, got {active_reset_cycles!r}"
        )
    duration_factor = document.get("max_circuit_duration_over_t2")
    if duration_factor is not None:
        duration_factor = _number(duration_factor, "Field 'max_circuit_duration_over_t2'", _malformed)
    if not circuits:
        raise _invalid("The request has no circuits")
    normalized: list[dict[str, Any]] = []
    compiled: list[CompiledCircuit] = []
    for index, circuit in enumerate(circuits):
        circuit_json, circuit_compiled = _circuit(
            index,
            circuit,
            architecture,
            mapping,
            move_validation=move_validation,
            heralding=heralding == "zeros",
        )
        normalized.append(circuit_json)
        compiled.append(circuit_compiled)
    limits.check_result_size(compiled, shots)
    payload = {
        "circuits": normalized,
        "calibration_set_id": calibration_set_id,
        "qubit_mapping": None
        if mapping is None
        else [{"logical_name": logical, "physical_name": physical} for logical, physical in mapping.items()],
        "shots": shots,
        "max_circuit_duration_over_t2": duration_factor,
        "heralding_mode": heralding,
        "move_gate_validation": move_validation,
        "move_gate_frame_tracking": frame_tracking,
        "active_reset_cycles": active_reset_cycles,
        "dd_mode": _choice(document, ("dd_mode",), _DD_MODES),
        "dd_strategy": _dd_strategy(document.get("dd_strategy")),
        "move_validation_mode": move_validation,
        "move_gate_frame_tracking_mode": frame_tracking,
    }
    messages: tuple[str, ...] = ()
    if duration_factor is None:
        duration_factor = DEFAULT_DURATION_OVER_T2
        messages = (
            f"max_circuit_duration_over_t2 not given, using server default {DEFAULT_DURATION_OVER_T2}",
        )
    for index, circuit in enumerate(compiled):
        _check_duration(index, circuit, architecture, duration_factor)
    return Submission(payload, tuple(compiled), shots, calibration_set_id, active_reset_cycles, messages)


def _check_duration(index: int, circuit: CompiledCircuit, architecture: Architecture, factor: float) -> None:
    """Reject a circuit longer than ``factor`` x the shortest T2 of its qubits, or than the hard limit."""
    timing = architecture.timing
    duration = circuit_duration(circuit.instructions, timing)
    where = f"Circuit {index} ('{circuit.name}')"
    if duration > MAX_CIRCUIT_DURATION:
        raise _invalid(
            f"{where}: the circuit lasts {duration:.6g} s; the emulator runs circuits of at most "
            f"{MAX_CIRCUIT_DURATION:g} s"
        )
    used = {c for instruction in circuit.instructions for c in instruction.locus}
    t2 = {q: timing.t2[q] for q in used & architecture.qubits if q in timing.t2}
    if factor <= 0 or not t2:
        return
    shortest = min(t2, key=lambda q: (t2[q], q))
    limit = factor * t2[shortest]
    if duration > limit:
        raise _invalid(
            f"{where}: the circuit's estimated duration {duration * 1e6:.4g} us exceeds "
            f"max_circuit_duration_over_t2 = {factor:g} times the shortest T2 of its qubits "
            f"({shortest}: {t2[shortest] * 1e6:.4g} us), {limit * 1e6:.4g} us"
        )


def compilation_problems(circuits: Sequence[CompiledCircuit], architecture: Architecture) -> list[str]:
    """Problems the compiler finds in valid circuits: feedback routed between different feedback groups."""
    return [
        f"Circuit {index} ('{circuit.name}'), instruction {position} ('cc_prx'): the drive of {qubit} cannot "
        f"receive fast feedback from the readout of {source} (different feedback groups)"
        for index, circuit in enumerate(circuits)
        for position, qubit, source in circuit.feedback
        if not architecture.same_feedback_group(qubit, source)
    ]


# --- request-level fields


def _choice(document: Mapping[str, Any], names: tuple[str, ...], allowed: tuple[str, ...]) -> str:
    """The first given (non-null) of several spellings of an option, else its default ``allowed[0]``."""
    for name in names:
        value = document.get(name)
        if value is None:
            continue
        if value not in allowed:
            options = " or ".join(repr(option) for option in allowed)
            raise _malformed(f"Field '{name}' must be {options}, got {value!r}")
        return str(value)
    return allowed[0]


def _calibration_set_id(value: Any, architecture: Architecture) -> str | None:
    if value is None:
        return None
    try:
        canonical = str(uuid.UUID(str(value)))
    except ValueError:
        raise _malformed(f"Field 'calibration_set_id' must be a UUID or null, got {value!r}") from None
    if canonical != architecture.calibration_set_id:
        raise RequestRejected(
            f"Calibration set {canonical} not found (this quantum computer has {architecture.calibration_set_id})",
            status_code=404,
            error_code="not_found",
        )
    return canonical


def _qubit_mapping(value: Any, architecture: Architecture) -> dict[str, str] | None:
    if value is None:
        return None
    pairs: list[tuple[Any, Any]]
    if isinstance(value, dict):
        pairs = list(value.items())
    elif isinstance(value, list) and all(
        isinstance(item, dict) and {"logical_name", "physical_name"} <= item.keys() for item in value
    ):
        pairs = [(item["logical_name"], item["physical_name"]) for item in value]
    else:
        raise _malformed(
            "Field 'qubit_mapping' must be an object {logical: physical}, a list of "
            "{'logical_name', 'physical_name'} objects, or null"
        )
    mapping: dict[str, str] = {}
    for logical, physical in pairs:
        if not isinstance(logical, str) or not isinstance(physical, str):
            raise _malformed(
                f"qubit_mapping entries must map strings to strings, got {logical!r}: {physical!r}"
            )
        if logical in mapping:
            raise _invalid(f"qubit_mapping maps logical qubit '{logical}' more than once")
        if physical not in architecture.components:
            raise _invalid(
                f"qubit_mapping: unknown physical qubit '{physical}' (for logical qubit '{logical}')"
            )
        mapping[logical] = physical
    if len(set(mapping.values())) != len(mapping):
        raise _invalid("qubit_mapping: multiple logical qubits map to the same physical qubit")
    return mapping


def _dd_strategy(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _malformed("Field 'dd_strategy' must be an object or null")
    strategy: dict[str, Any] = {
        "merge_contiguous_waits": value.get("merge_contiguous_waits", True),
        "target_qubits": value.get("target_qubits"),
        "skip_leading_wait": value.get("skip_leading_wait", True),
        "skip_trailing_wait": value.get("skip_trailing_wait", True),
        "gate_sequences": value.get("gate_sequences", []),
    }
    for flag in ("merge_contiguous_waits", "skip_leading_wait", "skip_trailing_wait"):
        if not isinstance(strategy[flag], bool):
            raise _malformed(f"dd_strategy.{flag} must be a boolean")
    targets = strategy["target_qubits"]
    if targets is not None and not (isinstance(targets, list) and all(isinstance(q, str) for q in targets)):
        raise _malformed("dd_strategy.target_qubits must be a list of qubit names or null")
    sequences = strategy["gate_sequences"]
    if not isinstance(sequences, list) or not all(_is_gate_sequence(item) for item in sequences):
        raise _malformed(
            "dd_strategy.gate_sequences must be a list of [ratio, pattern, alignment] with an integer ratio, "
            "a pattern of 'X'/'Y' characters or [angle, phase] pairs, and alignment 'asap', 'center' or 'alap'"
        )
    return strategy


def _is_gate_sequence(item: Any) -> bool:
    if not (isinstance(item, list) and len(item) == 3):
        return False
    ratio, pattern, alignment = item
    if isinstance(ratio, bool) or not isinstance(ratio, int) or alignment not in _DD_ALIGNMENTS:
        return False
    if isinstance(pattern, str):
        return set(pattern) <= {"X", "Y"}
    return isinstance(pattern, list) and all(
        isinstance(pair, list)
        and len(pair) == 2
        and all(isinstance(x, int | float) and not isinstance(x, bool) for x in pair)
        for pair in pattern
    )


def _number(value: Any, what: str, error: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not _finite(value):
        raise error(f"{what} must be a finite number, got {limits.shorten(repr(value))}")
    return float(value)


def _finite(value: float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer too large for a float
        return False


# --- circuits


def _circuit(
    index: int,
    circuit: Any,
    architecture: Architecture,
    mapping: Mapping[str, str] | None,
    *,
    move_validation: str,
    heralding: bool,
) -> tuple[dict[str, Any], CompiledCircuit]:
    if isinstance(circuit, str):
        raise _invalid(f"Circuit {index}: QIR programs are not supported by the emulator; send IQM circuits")
    if not isinstance(circuit, dict):
        raise _malformed(f"Circuit {index} must be an object with 'name' and 'instructions'")
    name = circuit.get("name")
    if not isinstance(name, str) or not name:
        raise _invalid(f"Circuit {index}: the circuit needs a non-empty string 'name'")
    where = f"Circuit {index} ('{name}')"
    instructions = circuit.get("instructions")
    if not isinstance(instructions, list) or not instructions:
        raise _invalid(f"{where}: 'instructions' must be a non-empty array")
    limits.check_instruction_count(where, len(instructions))
    metadata = circuit.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise _malformed(f"{where}: 'metadata' must be an object or null")
    reader = _CircuitReader(where, architecture, mapping, move_validation)
    normalized = [reader.read(position, instruction) for position, instruction in enumerate(instructions)]
    reader.finish()
    used = {component for instruction in reader.instructions for component in instruction.locus}
    herald = tuple(sorted(used & architecture.measurable)) if heralding else ()
    compiled = CompiledCircuit(
        name, tuple(reader.instructions), tuple(reader.keys), herald, tuple(reader.feedback)
    )
    return {"name": name, "instructions": normalized, "metadata": metadata}, compiled


class _CircuitReader:
    """Reads the instructions of one circuit in order, keeping the state the checks need."""

    def __init__(
        self, where: str, architecture: Architecture, mapping: Mapping[str, str] | None, move_validation: str
    ) -> None:
        self.where = where
        self.architecture = architecture
        self.mapping = mapping
        self.move_validation = move_validation
        self.instructions: list[Instruction] = []
        self.keys: list[str] = []
        self.feedback_sources: dict[str, tuple[str, ...]] = {}  # feedback_key -> measured components
        self.feedback: list[tuple[int, str, str]] = []
        self.resonator_of: dict[str, str] = {}  # moved qubit -> resonator holding its state
        self.qubit_in: dict[str, str] = {}  # resonator -> qubit whose state it holds

    def read(self, position: int, instruction: Any) -> dict[str, Any]:
        """Check one instruction; return it in the current wire format (logical names kept)."""
        if not isinstance(instruction, dict):
            raise _malformed(f"{self.where}, instruction {position}: must be an object")
        raw_name = instruction.get("name")
        if not isinstance(raw_name, str):
            raise _malformed(f"{self.where}, instruction {position}: 'name' must be a string")
        op = _LEGACY_OP_NAMES.get(raw_name, raw_name)
        at = f"{self.where}, instruction {position} ('{op}')"
        if op not in _PARAMS:
            raise _invalid(f"{at}: unknown operation; supported: {', '.join(sorted(_PARAMS))}")
        locus = self._locus(at, op, instruction)
        implementation = instruction.get("implementation")
        if implementation is not None and (not isinstance(implementation, str) or not implementation):
            raise _invalid(f"{at}: 'implementation' must be null or a non-empty string")
        args = self._args(at, op, instruction.get("args", {}))
        physical = tuple(self._physical(at, name) for name in locus)
        self._check_calibration(at, op, implementation, physical)
        simulator_args = dict(args)
        if op in _MEASUREMENTS:
            self._measurement(at, args, physical)
        elif op == "cc_prx":
            simulator_args["feedback_qubit"] = self._feedback(at, position, args, physical[0])
        self._track_moves(at, op, physical)
        self.instructions.append(Instruction(op, physical, simulator_args))
        return {"name": op, "locus": list(locus), "args": args, "implementation": implementation}

    def finish(self) -> None:
        """Checks that need the whole circuit."""
        if self.resonator_of and self.move_validation != "none":
            held = ", ".join(sorted(self.resonator_of))
            raise _invalid(
                f"{self.where}: the circuit ends while the state(s) of {held} are still in a resonator"
            )

    def _locus(self, at: str, op: str, instruction: Mapping[str, Any]) -> list[str]:
        locus = instruction.get("locus", instruction.get("qubits"))
        if not isinstance(locus, list) or not all(isinstance(name, str) for name in locus):
            raise _malformed(f"{at}: 'locus' must be an array of component names")
        arity = _ARITY.get(op)
        if arity is not None and len(locus) != arity:
            raise _invalid(f"{at}: acts on {arity} component(s), but {len(locus)} were given")
        if not locus and op not in _MAY_BE_EMPTY:
            raise _invalid(f"{at}: the locus is empty")
        if len(set(locus)) != len(locus):
            raise _invalid(f"{at}: a component appears twice in the locus {locus}")
        return locus

    def _physical(self, at: str, name: str) -> str:
        if self.mapping is not None:
            physical = self.mapping.get(name)
            if physical is None:
                raise _invalid(f"{at}: logical qubit '{name}' does not map to a physical qubit")
            return physical
        if name not in self.architecture.components:
            raise _invalid(f"{at}: unknown physical qubit '{name}'")
        return name

    def _args(self, at: str, op: str, raw: Any) -> dict[str, Any]:
        if not isinstance(raw, dict):
            raise _malformed(f"{at}: 'args' must be an object")
        args = dict(raw)
        if op in ("prx", "cc_prx"):  # historic arguments in full turns
            for name in ("angle", "phase"):
                turns = args.pop(f"{name}_t", None)
                if turns is not None and name not in args:
                    args[name] = 2 * math.pi * _number(turns, f"{at}: argument '{name}_t'", _invalid)
        required, optional = _PARAMS[op]
        missing = [name for name in required if name not in args]
        if missing:
            raise _invalid(f"{at}: missing argument(s) {', '.join(missing)}")
        unknown = [name for name in args if name not in required and name not in optional]
        if unknown:
            raise _invalid(f"{at}: unknown argument(s) {', '.join(unknown)}")
        kinds = {**required, **optional}
        for name, value in args.items():
            if kinds[name] == _FLOAT:
                args[name] = _number(value, f"{at}: argument '{name}'", _invalid)
            elif not isinstance(value, str) or not value:
                raise _invalid(f"{at}: argument '{name}' must be a non-empty string, got {value!r}")
        if op == "delay" and args["duration"] < 0:
            raise _invalid(f"{at}: 'duration' must not be negative")
        return args

    def _check_calibration(
        self, at: str, op: str, implementation: str | None, locus: tuple[str, ...]
    ) -> None:
        if op in _NEEDS_CALIBRATION:
            problem = self.architecture.calibration_problem(op, implementation, locus)
        elif op in _COMPILED_TO_PRX:
            problem = self.architecture.calibration_problem("prx", None, locus)
        else:
            problem = None
        if problem is not None:
            raise _invalid(f"{at}: {problem}")

    def _measurement(self, at: str, args: Mapping[str, Any], locus: tuple[str, ...]) -> None:
        key = args["key"]
        if key in RESERVED_MEASUREMENT_KEYS:
            raise _invalid(f"{at}: measurement key '{key}' is reserved")
        if key in self.keys:
            raise _invalid(f"{at}: measurement key '{key}' is used more than once in the circuit")
        self.keys.append(key)
        if "feedback_key" in args:
            self.feedback_sources[args["feedback_key"]] = locus

    def _feedback(self, at: str, position: int, args: Mapping[str, Any], qubit: str) -> str:
        name: str = args["feedback_qubit"]
        source = self.mapping.get(name, name) if self.mapping is not None else name
        if source not in self.architecture.qubits:
            raise _invalid(f"{at}: feedback_qubit '{name}' is not a qubit of this quantum computer")
        measured = self.feedback_sources.get(args["feedback_key"])
        if measured is None:
            raise _invalid(f"{at}: no earlier measurement has feedback_key '{args['feedback_key']}'")
        if source not in measured:
            raise _invalid(
                f"{at}: feedback_qubit '{name}' is not measured by the measurement with "
                f"feedback_key '{args['feedback_key']}'"
            )
        self.feedback.append((position, qubit, source))
        return source

    def _track_moves(self, at: str, op: str, locus: tuple[str, ...]) -> None:
        if self.move_validation == "none":
            return
        if op == "move":
            qubit, resonator = locus
            holder = self.qubit_in.get(resonator)
            if holder is None:
                if qubit in self.resonator_of:
                    raise _invalid(
                        f"{at}: the state of {qubit} is in another resonator ({self.resonator_of[qubit]})"
                    )
                self.qubit_in[resonator], self.resonator_of[qubit] = qubit, resonator
            elif holder == qubit:
                del self.qubit_in[resonator], self.resonator_of[qubit]
            else:
                raise _invalid(
                    f"{at}: moves {qubit} into resonator {resonator}, already occupied by {holder}"
                )
            return
        allowed = op == "barrier" or (op == "prx" and self.move_validation == "allow_prx")
        moved = sorted(c for c in locus if c in self.resonator_of)
        if moved and not allowed:
            raise _invalid(f"{at}: acts on {', '.join(moved)} while their state is in a resonator")
