"""Client-side circuit validation: catch what the server would reject before sending anything.

Two passes, both pure:

* :func:`validate_circuits_static` needs nothing but the circuits (operation names, arity, arguments,
  measurement keys). It also normalizes what the wire format wants (``int`` arguments become ``float``,
  list loci become tuples) without touching the caller's objects.
* :func:`validate_circuits_dynamic` checks the circuits against a dynamic quantum architecture: qubit
  mapping, calibrated loci and implementations, and the MOVE-gate rules of resonator architectures.

Both are built for large batches: the happy path allocates almost nothing per instruction, and the
architecture checks remember every (operation, locus, implementation) they have accepted, per
architecture object and qubit mapping.
"""

from __future__ import annotations

import difflib
import math
import numbers
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ._errors import CircuitValidationError
from ._operations import SUPPORTED_OPERATIONS, OperationSpec
from ._sanitize import shorten, shown
from .models.architecture import DynamicQuantumArchitecture, component_sort_key
from .models.circuits import Circuit, CircuitOperation, MoveGateValidationMode

__all__ = [
    "MeasurementWidths",
    "check_json_value",
    "check_text",
    "validate_circuits_dynamic",
    "validate_circuits_static",
    "validate_circuits_with_keys",
]

Locus = tuple[str, ...]
_Fail = Callable[[str], CircuitValidationError]

_OPERATIONS: dict[str, OperationSpec] = dict(SUPPORTED_OPERATIONS)
_SHOWN_LOCI = 6
"""How many calibrated loci an error message lists."""
_MAX_MESSAGE = 2000
"""Longer messages keep their start and end (a 1 MB qubit name must not make a 1 MB message)."""
_MAX_METADATA_DEPTH = 64


# --------------------------------------------------------------------------------------- messages


def _describe(operation: object) -> str:
    if isinstance(operation, CircuitOperation):
        name = operation.name
        plain = isinstance(name, str) and len(name) <= 40 and name.isprintable()
        return f"{name if plain else shown(name, 40)} on {shown(operation.locus)}"
    return type(operation).__name__


def _bounded(message: str) -> str:
    if len(message) <= _MAX_MESSAGE:
        return message
    return (
        f"{message[: _MAX_MESSAGE // 2]} ... ({len(message)} characters) ... {message[-_MAX_MESSAGE // 4 :]}"
    )


def _error(
    message: str,
    circuit_index: int,
    circuit: Circuit | None = None,
    instruction_index: int | None = None,
    operation: object = None,
) -> CircuitValidationError:
    """A CircuitValidationError whose message starts by saying where the problem is."""
    name = circuit.name if circuit is not None and isinstance(circuit.name, str) else None
    where = f"Circuit {circuit_index}" if name is None else f"Circuit {circuit_index} ({shown(name)})"
    if instruction_index is not None:
        where += f", instruction {instruction_index}"
        if operation is not None:
            where += f" ({_describe(operation)})"
    return CircuitValidationError(
        _bounded(f"{where}: {message}"),
        circuit_index=circuit_index,
        circuit_name=name,
        instruction_index=instruction_index,
    )


def _listing(names: Iterable[object], limit: int = _SHOWN_LOCI) -> str:
    items = list(names)
    shown = ", ".join(str(item) for item in items[:limit])
    return shown if len(items) <= limit else f"{shown}, ... ({len(items)} in total)"


# ------------------------------------------------------------------------------------ static pass


def validate_circuits_static(circuits: Sequence[Circuit | str]) -> list[Circuit | str]:
    """Check circuits against the table of supported operations, without any architecture.

    Checks every circuit's name (non-empty) and instructions (at least one, each a ``CircuitOperation``
    with a known operation name, a null or known implementation, the right number of distinct locus
    components, exactly the allowed arguments with the right types) and that measurement keys are
    unique within the circuit. QIR programs (``str``) are passed through unchecked.

    Where the wire format is stricter than needed the value is converted instead of rejected: an ``int``
    (or other real number, never a ``bool``) where a float is expected becomes a ``float``, and a list
    locus becomes a tuple.

    Args:
        circuits: the batch to check.

    Returns:
        The batch ready to send: the caller's objects wherever nothing needed converting, otherwise new
        ``Circuit`` / ``CircuitOperation`` objects (the caller's objects are never modified).

    Raises:
        CircuitValidationError: the first problem found, naming the circuit (index and name), the
            instruction (index, operation and locus) and what is wrong.
    """
    return validate_circuits_with_keys(circuits)[0]


MeasurementWidths = dict[str, int]
"""The measurement keys of a circuit, each with the number of components it measures."""


def validate_circuits_with_keys(
    circuits: Sequence[Circuit | str],
) -> tuple[list[Circuit | str], list[MeasurementWidths | None]]:
    """:func:`validate_circuits_static`, also returning each circuit's measurement keys and widths.

    The widths come from the same pass over the instructions (``None`` for a QIR program), so that
    results can be checked against them at no extra cost.
    """
    if isinstance(circuits, str | Circuit):
        raise CircuitValidationError("circuits must be a sequence of circuits, not a single circuit.")
    _check_container(circuits)
    normalized: list[Circuit | str] = []
    widths: list[MeasurementWidths | None] = []
    for index, circuit in enumerate(circuits):
        if isinstance(circuit, Circuit):
            checked, keys = _validate_circuit(circuit, index)
            normalized.append(checked)
            widths.append(keys)
        elif isinstance(circuit, str):
            problem = check_text(circuit)
            if problem:
                raise CircuitValidationError(
                    f"Circuit {index}: the QIR program {problem}.", circuit_index=index
                )
            normalized.append(circuit)
            widths.append(None)
        else:
            raise _not_a_circuit(circuit, index)
    return normalized, widths


def _check_container(circuits: object) -> None:
    """``circuits`` must be a non-empty list (or tuple): not None, a dict, a set or an iterator."""
    if isinstance(circuits, bytes | Mapping | set | frozenset) or not isinstance(circuits, Sequence):
        hints = {
            "NoneType": " Pass a list with at least one Circuit.",
            "dict": " A dict's keys would be sent as QIR programs; pass list(...) of its values if they are circuits.",
        }
        hint = hints.get(
            type(circuits).__name__, " Pass a list of Circuit objects (list(...) of an iterator)."
        )
        raise CircuitValidationError(
            f"circuits must be a list of circuits, got {type(circuits).__name__}.{hint}",
            error_code="invalid_argument",
        )
    if not circuits:
        raise CircuitValidationError(
            "circuits must not be empty: pass a list with at least one Circuit.",
            error_code="invalid_argument",
        )


def check_text(text: str) -> str | None:
    """What makes ``text`` impossible to send as JSON (a lone surrogate), or None if nothing does."""
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return (
            f"contains a lone surrogate ({text[exc.start]!r} at position {exc.start}), which cannot be encoded "
            "as UTF-8; decode your input with errors='replace' or remove it"
        )
    return None


class _NotJSON(Exception):
    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.path: list[str] = []


_JSON_SCALARS = (str, int, float, type(None))


def check_json_value(value: object, name: str = "metadata") -> str | None:
    """What makes ``value`` impossible to send as JSON (NaN, infinity, a lone surrogate, an object that
    has no JSON form, nesting deeper than 64 levels), naming where it is; None if it can be sent."""
    try:
        _check_json(value, 0)
    except _NotJSON as exc:
        return f"{name}{''.join(reversed(exc.path))} {exc.problem}"
    return None


def _check_json(value: object, depth: int) -> None:
    if isinstance(value, str):
        problem = check_text(value)
        if problem:
            raise _NotJSON(problem)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise _NotJSON(f"is {value!r}, which JSON cannot carry; use None or a finite number")
    elif isinstance(value, _JSON_SCALARS):
        return
    elif depth >= _MAX_METADATA_DEPTH:
        raise _NotJSON(f"is nested deeper than {_MAX_METADATA_DEPTH} levels")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            try:
                if not isinstance(key, str | int | float | bool) or (
                    isinstance(key, float) and not math.isfinite(key)
                ):
                    raise _NotJSON(
                        f"has the key {shown(key)}, which cannot be a JSON object key; use strings"
                    )
                _check_json(key, depth + 1)
                _check_json(item, depth + 1)
            except _NotJSON as exc:
                exc.path.append(f"[{shown(key, 40)}]")
                raise
    elif isinstance(value, list | tuple):
        for position, item in enumerate(value):
            try:
                _check_json(item, depth + 1)
            except _NotJSON as exc:
                exc.path.append(f"[{position}]")
                raise
    else:
        raise _NotJSON(
            f"holds a {type(value).__name__}, which has no JSON form; use dict, list, str, int, float, bool or None"
        )


def _not_a_circuit(circuit: object, index: int) -> CircuitValidationError:
    if hasattr(circuit, "instructions"):
        message = (
            f"Circuit {index}: obsolete circuit type ({type(circuit).__qualname__}); "
            "build iqm_client_async.Circuit with CircuitOperation instructions."
        )
    else:
        message = (
            f"Circuit {index}: every circuit in a batch should be a Circuit or a str (QIR program), "
            f"not {type(circuit).__qualname__}."
        )
    return CircuitValidationError(message, circuit_index=index)


def _validate_circuit(circuit: Circuit, index: int) -> tuple[Circuit, MeasurementWidths]:
    """Validate one circuit; return it (or a normalized copy) and its measurement keys and widths."""
    if not isinstance(circuit.name, str) or not circuit.name:
        raise _error("A circuit should have a non-empty string for a name.", index, circuit)
    problem = check_text(circuit.name)
    if problem:
        raise _error(f"The circuit name {problem}.", index, circuit)
    if circuit.metadata is not None:
        if not isinstance(circuit.metadata, dict):
            raise _error(
                f"metadata must be a dict (or None), not {type(circuit.metadata).__name__} "
                f"{shown(circuit.metadata)}; e.g. metadata={{'note': ...}}.",
                index,
                circuit,
            )
        problem = check_json_value(circuit.metadata)
        if problem:
            raise _error(f"{problem}.", index, circuit)
    instructions: Sequence[Any] = circuit.instructions
    if not isinstance(instructions, tuple | list) and (
        not isinstance(instructions, Sequence) or isinstance(instructions, str)
    ):
        raise _error(
            "instructions must be a sequence (tuple or list) of CircuitOperation, "
            f"not {type(instructions).__qualname__}.",
            index,
            circuit,
        )
    if not instructions:
        raise _error("Each circuit should have at least one instruction.", index, circuit)

    shapes = _valid_shapes
    measurement_keys: MeasurementWidths = {}
    replaced: list[CircuitOperation] | None = None
    for position, operation in enumerate(instructions):
        # Fast path: an instruction whose (name, locus, implementation) passed before and whose arguments
        # have exactly the required names and types. Everything else, and every error, goes through
        # _normalize_operation, which checks everything in the reference's order.
        try:
            spec = shapes.get((operation.name, operation.locus, operation.implementation))
        except (AttributeError, TypeError):  # not an operation, or an unhashable (list) locus
            spec = None
        if spec is not None and type(operation) is CircuitOperation:
            args = operation.args
            if type(args) is dict and len(args) == spec.required_count:
                for arg_name, arg_type in spec.required_typed:
                    value: Any = args.get(arg_name)
                    value_type = type(value)
                    if value_type is not arg_type:
                        break
                    # NaN and infinities (x - x is not 0.0) and non-ASCII text take the checked path
                    if value - value != 0.0 if arg_type is float else not value.isascii():
                        break
                else:
                    if spec.has_key:
                        if args["key"] in measurement_keys:
                            raise _duplicate_key(operation, index, circuit, position)
                        measurement_keys[args["key"]] = len(operation.locus)
                    continue
        normalized = _normalize_operation(operation, index, circuit, position)
        if normalized is not operation:
            if replaced is None:
                replaced = list(instructions)
            replaced[position] = normalized
        if _OPERATIONS[normalized.name].has_key:
            if normalized.args["key"] in measurement_keys:
                raise _duplicate_key(normalized, index, circuit, position)
            measurement_keys[normalized.args["key"]] = len(normalized.locus)
    if replaced is None and isinstance(instructions, tuple | list):
        return circuit, measurement_keys
    return replace(
        circuit, instructions=tuple(replaced if replaced is not None else instructions)
    ), measurement_keys


_MAX_SHAPES = 1 << 16
_valid_shapes: dict[tuple[str, Locus, str | None], OperationSpec] = {}
"""(name, locus, implementation) of every instruction found valid so far (arguments aside), with its spec."""


def _duplicate_key(
    operation: CircuitOperation, index: int, circuit: Circuit, position: int
) -> CircuitValidationError:
    key = operation.args["key"]
    first = next(
        i
        for i, other in enumerate(circuit.instructions)
        if isinstance(other, CircuitOperation)
        and other.name in _OPERATIONS
        and _OPERATIONS[other.name].has_key
        and other.args.get("key") == key
    )
    return _error(
        f"This {operation.name} has a non-unique measurement key {key!r} (already used by instruction "
        f"{first}). "
        "Measurement keys must be unique within a circuit.",
        index,
        circuit,
        position,
        operation,
    )


def _normalize_operation(operation: object, index: int, circuit: Circuit, position: int) -> CircuitOperation:
    """Check one instruction completely; return it, or a converted copy (ints to floats, list locus)."""

    def fail(message: str) -> CircuitValidationError:
        return _error(message, index, circuit, position, operation)

    if not isinstance(operation, CircuitOperation):
        hint = (
            " Build it with CircuitOperation(name=..., locus=..., args=...)."
            if isinstance(operation, dict)
            else ""
        )
        raise fail(
            f"Every instruction in a circuit should be of type <CircuitOperation>, not {type(operation).__name__}.{hint}"
        )
    name = operation.name
    spec = _OPERATIONS.get(name) if isinstance(name, str) else None
    if spec is None:
        raise fail(f"Unknown operation {shown(name)}. Supported operations are {', '.join(_OPERATIONS)!r}.")

    implementation = operation.implementation
    if implementation is not None:
        if not isinstance(implementation, str) or not implementation:
            raise fail("Implementation of the instruction should be None, or a non-empty string.")
        if implementation not in spec.implementations:
            known = ", ".join(spec.implementations) or "none"
            raise fail(
                f"Unknown implementation {shown(implementation)} for quantum operation {name!r}. "
                f"Known implementations: {known}; or leave implementation as None for the default."
            )

    locus = _normalize_locus(operation.locus, spec, fail)
    if len(_valid_shapes) < _MAX_SHAPES:
        _valid_shapes[(name, locus, implementation)] = spec
    args = _normalize_args(operation.args, spec, fail)
    if locus is operation.locus and args is operation.args:
        return operation
    if type(operation) is CircuitOperation:
        return CircuitOperation(name, locus, args, implementation)
    return replace(operation, locus=locus, args=args)


def _normalize_locus(locus: object, spec: OperationSpec, fail: _Fail) -> Locus:
    if isinstance(locus, str) or not isinstance(locus, Sequence):
        raise fail(
            f"The locus should be a tuple of component names, e.g. ('QB1',), not {type(locus).__name__} "
            f"{shown(locus)}."
        )
    normalized: Locus = locus if type(locus) is tuple else tuple(locus)
    for component in normalized:
        if not isinstance(component, str) or not component:
            raise fail(
                f"Locus components should be component names (non-empty str), but {shown(component)} was given."
            )
        problem = check_text(component)
        if problem:
            raise fail(f"The locus component {shown(component)} {problem}.")
    if spec.arity and spec.arity != len(normalized):
        raise fail(
            f"The {spec.name!r} operation acts on {spec.arity} qubit(s), "
            f"but {len(normalized)} were given: {shown(normalized)}."
        )
    if not normalized:
        raise fail(
            f"The {spec.name!r} operation needs at least one locus component, but the locus is empty; "
            "name the components it acts on, e.g. locus=('QB1',)."
        )
    if len(set(normalized)) != len(normalized):
        raise fail(f"Repeated locus components: {shown(normalized)}.")
    return normalized


def _normalize_args(args: object, spec: OperationSpec, fail: _Fail) -> dict[str, Any]:
    if not isinstance(args, Mapping):
        raise fail(f"The arguments should be a dict, not {type(args).__name__}.")
    given = set(args)
    if not spec.required_names <= given:
        raise fail(
            f"The operation {spec.name!r} requires the argument(s) {tuple(spec.params)}, "
            f"but {shown(tuple(args))} were given."
        )
    if not given <= spec.allowed_names:
        allowed = tuple(spec.params) + tuple(spec.optional_params)
        what = f"the arguments {allowed}" if allowed else "no arguments"
        raise fail(f"The operation {spec.name!r} allows {what}, but {shown(tuple(args))} were given.")

    converted: dict[str, Any] = {}
    for arg_name, given_value in args.items():
        value: Any = given_value
        expected: type = spec.param_type(arg_name)
        if expected is float and isinstance(value, numbers.Real) and not isinstance(value, bool):
            try:
                number = float(value)  # the same object for a float
            except OverflowError:
                number = math.inf
            if not math.isfinite(number):
                raise fail(
                    f"The argument {arg_name!r} is {shown(value)}, but it must be a finite number "
                    "(NaN and infinities cannot be sent as JSON)."
                )
            if number is not value:
                converted[arg_name] = number
            continue
        if isinstance(value, expected):
            if isinstance(value, str):
                problem = check_text(value)
                if problem:
                    raise fail(f"The argument {arg_name!r} {problem}.")
            continue
        raise fail(
            f"The argument {arg_name!r} should be of one of the following supported types "
            f"({expected},), but ({type(value)}) was given."
        )
    if not converted and isinstance(args, dict):
        return args
    return {**args, **converted}


# ----------------------------------------------------------------------------------- dynamic pass


def validate_circuits_dynamic(
    circuits: Sequence[Circuit | str],
    architecture: DynamicQuantumArchitecture,
    qubit_mapping: Mapping[str, str] | None,
    move_gate_validation: MoveGateValidationMode,
    *,
    must_close_sandwiches: bool = False,
) -> None:
    """Check circuits against a dynamic quantum architecture (calibrated operations and loci).

    Run it on the output of :func:`validate_circuits_static`. Checks, in order:

    * the qubit mapping (if given): injective, every mapped physical name exists, every locus component
      of every circuit is mapped;
    * every instruction: operations whose (explicit or default) implementation needs no calibration
      (``barrier``, ``delay``, ``reset``, ``rz``, ``sx``, ``u``) only need existing components; others
      must be calibrated: an explicit implementation must be calibrated on its locus, otherwise any
      implementation may be. Factorizable operations (``measure``) need each component calibrated;
      symmetric ones (``cz``) accept any order of a calibrated locus; others (``move``) the exact order;
    * MOVE rules, unless ``move_gate_validation`` is ``none``: ``move`` loci are (qubit, resonator); a
      qubit's state may sit in one resonator at a time and a resonator holds one state; while a state
      is in a resonator only ``barrier`` (and ``prx`` under ``allow_prx``) may act on that qubit.

    Args:
        circuits: the batch to check; QIR programs (``str``) are skipped.
        architecture: the dynamic quantum architecture of the calibration set the job will use.
        qubit_mapping: logical name -> physical name for all circuits, or ``None`` if the circuits use
            physical names.
        move_gate_validation: how strictly to check MOVE sandwiches.
        must_close_sandwiches: also require every MOVE sandwich to be closed when the circuit ends
            (the reference client does not require it, hence the default ``False``).

    Accepted instructions are remembered per architecture object and qubit mapping, so an architecture
    must not be modified after circuits have been validated against it (build a new one instead).

    Raises:
        CircuitValidationError: the first problem found, naming the circuit, the instruction and
            what is wrong.
        ValueError: ``move_gate_validation`` is not a valid mode.
    """
    checks = _checks_for(architecture, qubit_mapping)
    if checks.unknown_targets:
        # Like the reference: an incomplete mapping is reported before mapped names that do not exist.
        for index, circuit in enumerate(circuits):
            if isinstance(circuit, Circuit) and (problem := checks.unmapped_components(circuit, index)):
                raise _error(problem, index, circuit)
        raise CircuitValidationError(
            f"Component {checks.unknown_targets[0]} not present in dynamic quantum architecture "
            f"(qubit_mapping value). Components: {_listing(architecture.components, 20)}."
        )
    mode = MoveGateValidationMode(move_gate_validation)
    check_moves = checks.has_move and mode is not MoveGateValidationMode.NONE
    accepted = checks.accepted
    for index, circuit in enumerate(circuits):
        if isinstance(circuit, str):
            continue
        if not isinstance(circuit, Circuit):
            raise _not_a_circuit(circuit, index)
        try:
            for operation in circuit.instructions:
                if (operation.name, operation.locus, operation.implementation) not in accepted:
                    checks.check_operation(operation, index, circuit)
        except (AttributeError, TypeError):
            # Not statically valid (or not normalized): let the static checks report or normalize it.
            circuit = _validate_circuit(circuit, index)[0]
            for operation in circuit.instructions:
                checks.check_operation(operation, index, circuit)
        if check_moves:
            _validate_moves(circuit, index, checks, mode, must_close_sandwiches)


@dataclass(frozen=True, slots=True)
class _AllowedLoci:
    label: str
    loci: tuple[Locus, ...]
    components: frozenset[str]
    keys: frozenset[Locus]


class _ArchitectureChecks:
    """Lookup tables for one (architecture, qubit mapping) pair, plus every instruction already accepted."""

    _MAX_ACCEPTED = 100_000

    def __init__(
        self, architecture: DynamicQuantumArchitecture, qubit_mapping: Mapping[str, str] | None
    ) -> None:
        self.architecture = architecture
        self.components = frozenset(architecture.components)
        self.qubits = frozenset(architecture.qubits)
        self.resonators = frozenset(architecture.computational_resonators)
        self.has_move = "move" in architecture.gates
        self.mapping = None if qubit_mapping is None else dict(qubit_mapping)
        self.accepted: set[tuple[str, Locus, str | None]] = set()
        self._allowed: dict[tuple[str, str | None], _AllowedLoci] = {}
        self.unknown_targets: list[str] = []
        """Mapped physical names that are not in the architecture (the mapping is unusable if any)."""
        if self.mapping is not None:
            if len(set(self.mapping.values())) != len(self.mapping):
                raise CircuitValidationError("Multiple logical qubits map to the same physical qubit.")
            self.unknown_targets = [name for name in self.mapping.values() if name not in self.components]

    def unmapped_components(self, circuit: Circuit, index: int) -> str | None:
        """What is wrong if some locus component of ``circuit`` is missing from the qubit mapping."""
        mapping = self.mapping or {}
        missing = {c for op in circuit.instructions for c in getattr(op, "locus", ()) if c not in mapping}
        if not missing:
            return None
        return (
            f"The qubits {missing} in circuit {circuit.name!r} at index {index} are not found in the "
            "provided qubit mapping. Add them to qubit_mapping (logical name -> physical name)."
        )

    def check_operation(self, operation: CircuitOperation, index: int, circuit: Circuit) -> None:
        """Check one instruction against the architecture and remember it if it is fine."""
        key = (operation.name, operation.locus, operation.implementation)
        if key in self.accepted:
            return

        def fail(message: str) -> CircuitValidationError:
            position = next(i for i, op in enumerate(circuit.instructions) if op is operation)
            return _error(message, index, circuit, position, operation)

        name, locus, implementation = key
        spec = _OPERATIONS.get(name)
        if spec is None:
            raise fail(f"Unknown operation {name!r}. Supported operations are {', '.join(_OPERATIONS)!r}.")
        physical = self._physical_locus(locus, index, circuit, fail)
        shown = locus if physical is locus else f"{locus} = {physical}"

        if not spec.needs_calibration(implementation):
            for component, target in zip(locus, physical, strict=True):
                if target not in self.components:
                    mapped = "" if component == target else f" = {target}"
                    raise fail(
                        f"Component {component}{mapped} does not exist on the QPU."
                        f"{_did_you_mean(target, self.architecture.components)} "
                        f"Components: {_listing(self.architecture.components, 20)}."
                    )
        else:
            allowed = self._allowed_loci(name, implementation, fail)
            if spec.factorizable:
                for component, target in zip(locus, physical, strict=True):
                    if target not in allowed.components:
                        mapped = "" if component == target else f" = {target}"
                        calibrated: list[str] = sorted(allowed.components, key=component_sort_key)
                        raise fail(
                            f"Component {component}{mapped} is not allowed as locus for {allowed.label!r}."
                            f"{_did_you_mean(target, calibrated)} "
                            f"Calibrated components: {_listing(calibrated, 20)}."
                        )
            elif (tuple(sorted(physical)) if spec.symmetric else physical) not in allowed.keys:
                unknown = [c for c in physical if c not in self.components]
                if unknown:
                    hint = f"{shorten(unknown[0], 40)} does not exist on the QPU." + _did_you_mean(
                        unknown[0], self.architecture.components
                    )
                elif len(physical) == 1:
                    hint = f"Calibrated loci: {_listing(allowed.loci)}."
                else:
                    hint = _neighbours(allowed.loci, physical, allowed.label)
                raise fail(f"{shown} is not allowed as locus for {allowed.label!r}. {hint}")
        if len(self.accepted) < self._MAX_ACCEPTED:
            self.accepted.add(key)

    def _physical_locus(self, locus: Locus, index: int, circuit: Circuit, fail: _Fail) -> Locus:
        mapping = self.mapping
        if mapping is None:
            return locus
        if all(component in mapping for component in locus):
            return tuple(mapping[component] for component in locus)
        raise fail(self.unmapped_components(circuit, index) or f"{locus} is not fully mapped.")

    def _allowed_loci(self, name: str, implementation: str | None, fail: _Fail) -> _AllowedLoci:
        found = self._allowed.get((name, implementation))
        if found is not None:
            return found
        gate = self.architecture.gates.get(name)
        if gate is None:
            raise fail(
                f"Operation {name!r} is not supported by the dynamic quantum architecture. "
                f"Calibrated operations: {', '.join(self.architecture.gates) or 'none'}."
            )
        if implementation is None:
            loci, label = gate.loci, name
        else:
            info = gate.implementations.get(implementation)
            if info is None:
                raise fail(
                    f"Operation {name!r} implementation {implementation!r} is not supported by the dynamic "
                    f"quantum architecture. Calibrated implementations: {', '.join(gate.implementations)}."
                )
            loci, label = info.loci, f"{name}.{implementation}"
        symmetric = _OPERATIONS[name].symmetric
        found = _AllowedLoci(
            label=label,
            loci=tuple(loci),
            components=frozenset(c for locus in loci for c in locus),
            keys=frozenset(tuple(sorted(locus)) if symmetric else tuple(locus) for locus in loci),
        )
        self._allowed[(name, implementation)] = found
        return found


def _did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """`` Did you mean 'QB2'?`` for a name close to (or differing only in case from) a candidate, else ''."""
    by_upper = {candidate.upper(): candidate for candidate in candidates}
    same = by_upper.get(name.upper())
    if same is not None and same != name:
        return f" Did you mean {same!r}?"
    close = difflib.get_close_matches(name.upper(), list(by_upper), n=3, cutoff=0.6)
    return f" Did you mean {' or '.join(repr(by_upper[c]) for c in close)}?" if close else ""


def _neighbours(loci: Sequence[Locus], requested: Locus, label: str) -> str:
    """Which components each component of ``requested`` does form a calibrated locus with."""
    parts = []
    for component in dict.fromkeys(requested):
        partners = sorted(
            {other for locus in loci if component in locus for other in locus if other != component},
            key=component_sort_key,
        )
        parts.append(f"{component} pairs with {_listing(partners, 10) if partners else 'nothing'}")
    return f"For {label!r}: {'; '.join(parts)}."


_CACHE_SIZE = 16
_cache: dict[tuple[int, tuple[tuple[str, str], ...] | None], _ArchitectureChecks] = {}
_cache_lock = threading.Lock()


def _checks_for(
    architecture: DynamicQuantumArchitecture, qubit_mapping: Mapping[str, str] | None
) -> _ArchitectureChecks:
    """The lookup tables for this architecture object and mapping, built once and reused."""
    try:
        key = (id(architecture), None if qubit_mapping is None else tuple(qubit_mapping.items()))
        checks = _cache.get(key)
    except TypeError as exc:
        raise CircuitValidationError(
            "qubit_mapping must map logical names (str) to physical names (str)."
        ) from exc
    # The cache holds the architecture itself, so its id cannot be reused while the entry exists.
    if checks is not None and checks.architecture is architecture:
        return checks
    checks = _ArchitectureChecks(architecture, qubit_mapping)
    with _cache_lock:
        while len(_cache) >= _CACHE_SIZE:
            del _cache[next(iter(_cache))]
        _cache[key] = checks
    return checks


# ------------------------------------------------------------------------------------- MOVE rules


def _validate_moves(
    circuit: Circuit,
    index: int,
    checks: _ArchitectureChecks,
    mode: MoveGateValidationMode,
    must_close_sandwiches: bool,
) -> None:
    """Follow qubit states through the resonators and reject instructions that break a MOVE sandwich."""
    mapping = checks.mapping
    allowed_inside = {"barrier", "prx"} if mode is MoveGateValidationMode.ALLOW_PRX else {"barrier"}
    occupant: dict[str, str] = {}  # resonator -> the qubit whose state it holds (circuit names)
    moved: set[str] = set()
    for position, operation in enumerate(circuit.instructions):
        if operation.name == "move":
            qubit, resonator = operation.locus
            physical_qubit, physical_resonator = (
                (mapping[qubit], mapping[resonator]) if mapping is not None else (qubit, resonator)
            )
            if physical_qubit not in checks.qubits or physical_resonator not in checks.resonators:
                raise _error(
                    f"MOVE instructions are only allowed between qubit and resonator, not {operation.locus}.",
                    index,
                    circuit,
                    position,
                    operation,
                )
            holder = occupant.get(resonator)
            if holder is None:
                if qubit in moved:
                    raise _error(
                        f"MOVE instruction {operation.locus}: state of {qubit} is in another resonator: "
                        f"{occupant}. Move it back before moving it elsewhere.",
                        index,
                        circuit,
                        position,
                        operation,
                    )
                occupant[resonator] = qubit
                moved.add(qubit)
            elif holder != qubit:
                raise _error(
                    f"MOVE instruction {operation.locus} to an already occupied resonator: {occupant}. "
                    f"Move the state of {holder} back first.",
                    index,
                    circuit,
                    position,
                    operation,
                )
            else:
                del occupant[resonator]
                moved.discard(qubit)
        elif moved and operation.name not in allowed_inside:
            overlap = moved.intersection(operation.locus)
            if overlap:
                hint = (
                    " Use move_gate_validation='allow_prx' to allow prx inside MOVE sandwiches."
                    if operation.name == "prx"
                    else ""
                )
                raise _error(
                    f"Instruction {operation.name} acts on {operation.locus} while the state(s) of {overlap} "
                    f"are in a resonator. Current resonator occupation: {occupant}.{hint}",
                    index,
                    circuit,
                    position,
                    operation,
                )
    if must_close_sandwiches and occupant:
        raise _error(
            f"Circuit ends while qubit state(s) are still in a resonator: {occupant}. "
            "Close every MOVE sandwich with a second move on the same locus.",
            index,
            circuit,
        )
