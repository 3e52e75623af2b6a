"""Every argument of every public client method and every client setting, checked before any request.

The public methods of ``AsyncIQMClient`` (and through it the blocking ``IQMClient``) call one function
of this module first; ``_config.resolve_settings`` uses its number and text checks for the settings.
A bad value raises

* ``CircuitValidationError`` for what would go into a run request (circuits, ``shots``,
  ``qubit_mapping``, ``calibration_set_id``, ``options``, ``use_timeslot``);
* ``ValueError`` for ``shots`` < 1, as the reference client does;
* ``ClientConfigurationError`` for everything else: client settings, job ids, the calibration set id
  of the architecture and calibration getters, batch settings.

Messages name the argument (and the circuit and instruction, where there is one), show the value
shortened, and say what to pass instead. Nothing here does I/O.
"""

from __future__ import annotations

import math
import numbers
import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, Final, NoReturn, TypeVar
from urllib.parse import quote
from uuid import UUID

from ._errors import CircuitValidationError, ClientConfigurationError, IQMError
from ._sanitize import shown
from .models.circuits import (
    Circuit,
    CircuitCompilationOptions,
    DDMode,
    DDStrategy,
    HeraldingMode,
    MoveGateFrameTrackingMode,
    MoveGateValidationMode,
)
from .models.run_request import PostJobsRequest
from .validation import MeasurementWidths, check_text, validate_circuits_with_keys

__all__ = [
    "MAX_SHOTS",
    "Submission",
    "check_batch_arguments",
    "check_bool",
    "check_calibration_set_id",
    "check_integer",
    "check_job_id",
    "check_number",
    "check_optional_text",
    "check_run_request",
    "check_submission",
    "path_segment",
]

MAX_SHOTS: Final = 2**63 - 1
"""The largest shot count the server's 64-bit integers can hold."""

_INVALID_ARGUMENT: Final = "invalid_argument"
E = TypeVar("E", bound=StrEnum)


def _fail(error: type[IQMError], message: str) -> NoReturn:
    if error is CircuitValidationError:
        raise CircuitValidationError(message, error_code=_INVALID_ARGUMENT)
    raise error(message, error_code=_INVALID_ARGUMENT)


# ------------------------------------------------------------------------------------------ primitives


def check_number(
    value: object,
    name: str,
    *,
    error: type[IQMError] = ClientConfigurationError,
    minimum: float = 0.0,
    allow_minimum: bool = False,
    allow_infinity: bool = False,
    optional: bool = False,
) -> float | None:
    """A real number (never a ``bool`` or a string) above ``minimum`` (or equal, if allowed), as a float."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        hint = " (a number, not a string)" if isinstance(value, str | bytes) else ""
        _fail(error, f"{name} must be a number{hint}, got {type(value).__name__} {shown(value)}.")
    number = float(value)
    if math.isnan(number) or (math.isinf(number) and not allow_infinity):
        _fail(error, f"{name} must be a finite number, got {number!r}.")
    if number < minimum or (number == minimum and not allow_minimum):
        relation = (
            "positive"
            if minimum == 0 and not allow_minimum
            else f"{'>=' if allow_minimum else '>'} {minimum:g}"
        )
        _fail(error, f"{name} must be {relation}, got {number!r}.")
    return number


def check_integer(
    value: object,
    name: str,
    *,
    error: type[IQMError] = ClientConfigurationError,
    minimum: int = 0,
    maximum: int | None = None,
    optional: bool = False,
) -> int | None:
    """An integer (``int`` or another integral type such as numpy's, never a ``bool``) in range."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        hint = f" ({value!r} would be taken as {int(value)})" if isinstance(value, bool) else ""
        _fail(error, f"{name} must be an int{hint}, got {type(value).__name__} {shown(value)}.")
    number = int(value)
    if number < minimum or (maximum is not None and number > maximum):
        bound = f">= {minimum}" if maximum is None else f"between {minimum} and {maximum}"
        _fail(error, f"{name} must be {bound}, got {shown(number)}.")
    return number


def check_bool(value: object, name: str, *, error: type[IQMError] = ClientConfigurationError) -> bool:
    """``True`` or ``False`` exactly (``0``, ``"yes"`` or ``None`` are refused, not guessed)."""
    if not isinstance(value, bool):
        _fail(error, f"{name} must be True or False, got {type(value).__name__} {shown(value)}.")
    return value


def check_optional_text(
    value: object,
    name: str,
    *,
    error: type[IQMError] = ClientConfigurationError,
    ascii_header: bool = False,
    secret: bool = False,
    max_length: int = 4096,
) -> str | None:
    """``None``, or a non-empty string that can be sent (UTF-8, or visible ASCII for a header value).

    With ``secret=True`` the value is never shown in the message.
    """
    if value is None:
        return None
    what = "<hidden>" if secret else shown(value)
    if not isinstance(value, str):
        _fail(error, f"{name} must be a str, got {type(value).__name__} {what}.")
    if len(value) > max_length:
        _fail(error, f"{name} is {len(value)} characters long; at most {max_length} are allowed.")
    if ascii_header:
        if not (value.isascii() and value.isprintable()) or (secret and " " in value.strip()):
            _fail(
                error,
                f"{name} must consist of printable ASCII characters (it is sent in an HTTP header), got {what}.",
            )
    else:
        problem = check_text(value)
        if problem:
            _fail(error, f"{name} {problem}, got {what}.")
    return value


def _uuid(value: object, name: str, error: type[IQMError]) -> UUID:
    if isinstance(value, UUID):
        return value
    if isinstance(value, str) and len(value) <= 64:
        try:
            return UUID(value)
        except ValueError:
            pass
    _fail(
        error,
        f"{name} must be a UUID (uuid.UUID or its string form, e.g. "
        f"'3c3fcda3-e860-46bf-92a4-bcc59fa76ce9'), got {type(value).__name__} {shown(value)}.",
    )


def check_job_id(job_id: object) -> UUID:
    """A job id: a ``UUID`` or its string form (anything else would be put into a URL path)."""
    return _uuid(job_id, "job_id", ClientConfigurationError)


def check_calibration_set_id(
    calibration_set_id: object, *, error: type[IQMError] = ClientConfigurationError
) -> UUID | None:
    """``None`` (the default calibration set) or a calibration set id as a ``UUID``."""
    if calibration_set_id is None:
        return None
    return _uuid(calibration_set_id, "calibration_set_id", error)


def path_segment(value: str) -> str:
    """``value`` escaped as one URL path segment: no ``/``, ``?``, ``#``, ``%`` or dot segment survives."""
    escaped = quote(value, safe="")
    return escaped.replace(".", "%2E") if escaped in (".", "..") else escaped


# ------------------------------------------------------------------------------------------ submission


@dataclass(frozen=True, slots=True)
class Submission:
    """The arguments of ``create_run_request`` / ``submit_circuits``, checked and normalized."""

    circuits: list[Circuit | str]
    qubit_mapping: dict[str, str] | None
    calibration_set_id: UUID | None
    shots: int
    options: CircuitCompilationOptions
    measurement_keys: list[MeasurementWidths | None]
    """Each circuit's measurement keys and widths (None for QIR), to check the results against."""


def check_shots(shots: object) -> int:
    """Shots: a positive integer (a whole float such as ``1e4`` is accepted, as by the reference).

    Raises:
        ValueError: ``shots`` < 1 (the reference's error and message).
        CircuitValidationError: not an integer, or too large.
    """
    if isinstance(shots, float) and math.isfinite(shots) and shots.is_integer():
        shots = int(shots)
    if isinstance(shots, bool) or not isinstance(shots, numbers.Integral):
        bool_hint = f": {shots!r} would be sent as {int(shots)}" if isinstance(shots, bool) else ""
        str_hint = "; pass a number, e.g. shots=1000" if isinstance(shots, str | bytes) else ""
        _fail(
            CircuitValidationError,
            f"shots must be an int{bool_hint}{str_hint}, got {type(shots).__name__} {shown(shots)}.",
        )
    count = int(shots)
    if count < 1:
        raise ValueError(f"Number of shots must be greater than zero. Got shots={count}.")
    if count > MAX_SHOTS:
        _fail(CircuitValidationError, f"shots must be at most {MAX_SHOTS}, got {shown(count)}.")
    return count


def check_qubit_mapping(qubit_mapping: object) -> dict[str, str] | None:
    """``None`` or a mapping of logical to physical qubit names, as a plain dict."""
    if qubit_mapping is None:
        return None
    if not isinstance(qubit_mapping, Mapping):
        hint = (
            " A list of names is not a mapping: pass {'logical name': 'physical name', ...}, or "
            "qubit_mapping=None if the circuits already use physical names."
            if isinstance(qubit_mapping, list | tuple | set | frozenset)
            else " Pass {'logical name': 'physical name', ...}."
        )
        _fail(
            CircuitValidationError,
            f"qubit_mapping must be a dict, got {type(qubit_mapping).__name__} {shown(qubit_mapping)}.{hint}",
        )
    mapping: dict[str, str] = {}
    for logical, physical in qubit_mapping.items():
        for role, name in (("logical", logical), ("physical", physical)):
            if not isinstance(name, str) or not name or check_text(name):
                _fail(
                    CircuitValidationError,
                    f"qubit_mapping must map {role} qubit names to non-empty strings, "
                    f"got {shown(name)} in the item {shown(logical)}: {shown(physical)}.",
                )
        mapping[logical] = physical
    return mapping


def _enum(value: object, enum: type[E], name: str) -> E:
    if isinstance(value, enum):
        return value
    if isinstance(value, str):
        try:
            return enum(value)
        except ValueError:
            pass
    allowed = ", ".join(repr(member.value) for member in enum)
    _fail(
        CircuitValidationError,
        f"{name} must be one of {allowed} (or {enum.__name__}.<member>), got {shown(value)}.",
    )


def check_options(options: object) -> CircuitCompilationOptions:
    """Compilation options (``None``: the defaults), with every enum field as its enum."""
    if options is None:
        return CircuitCompilationOptions()
    if not isinstance(options, CircuitCompilationOptions):
        hint = (
            f" Build it with CircuitCompilationOptions(**{shown(options, 60)})."
            if isinstance(options, Mapping)
            else ""
        )
        _fail(
            CircuitValidationError,
            f"options must be a CircuitCompilationOptions, got {type(options).__name__}.{hint}",
        )
    fields: dict[str, Any] = {
        "heralding_mode": _enum(options.heralding_mode, HeraldingMode, "options.heralding_mode"),
        "move_gate_validation": _enum(
            options.move_gate_validation, MoveGateValidationMode, "options.move_gate_validation"
        ),
        "move_gate_frame_tracking": _enum(
            options.move_gate_frame_tracking, MoveGateFrameTrackingMode, "options.move_gate_frame_tracking"
        ),
        "dd_mode": _enum(options.dd_mode, DDMode, "options.dd_mode"),
    }
    check_number(
        options.max_circuit_duration_over_t2,
        "options.max_circuit_duration_over_t2",
        error=CircuitValidationError,
        allow_minimum=True,
        optional=True,
    )
    check_integer(
        options.active_reset_cycles,
        "options.active_reset_cycles",
        error=CircuitValidationError,
        minimum=-(2**31),
        maximum=2**31 - 1,
        optional=True,
    )
    if options.dd_strategy is not None:
        _check_dd_strategy(options.dd_strategy)
    if all(getattr(options, key) is value for key, value in fields.items()):
        return options
    return replace(options, **fields)


def _check_dd_strategy(strategy: object) -> None:
    if not isinstance(strategy, DDStrategy):
        _fail(
            CircuitValidationError,
            f"options.dd_strategy must be a DDStrategy or None, got {type(strategy).__name__}.",
        )
    for index, (_, pattern, _) in enumerate(strategy.gate_sequences):
        if not isinstance(pattern, str) and not all(
            math.isfinite(value) for pair in pattern for value in pair
        ):
            _fail(
                CircuitValidationError,
                f"options.dd_strategy.gate_sequences[{index}] has a NaN or infinite angle or phase; "
                "use finite radians.",
            )


def check_submission(
    circuits: object,
    *,
    qubit_mapping: object,
    calibration_set_id: object,
    shots: object,
    options: object,
    use_timeslot: object = False,
) -> Submission:
    """Check and normalize the arguments of a circuit submission, circuits included (static checks).

    Raises:
        ValueError: ``shots`` < 1.
        CircuitValidationError: any other bad argument; the message names it.
    """
    count = check_shots(shots)
    checked_options = check_options(options)
    mapping = check_qubit_mapping(qubit_mapping)
    calibration = check_calibration_set_id(calibration_set_id, error=CircuitValidationError)
    check_bool(use_timeslot, "use_timeslot", error=CircuitValidationError)
    normalized, keys = validate_circuits_with_keys(circuits)  # type: ignore[arg-type]
    return Submission(normalized, mapping, calibration, count, checked_options, keys)


def check_run_request(
    run_request: object, use_timeslot: object
) -> tuple[PostJobsRequest, list[MeasurementWidths | None]]:
    """A prepared run request (``create_run_request``'s result, possibly modified since) and ``use_timeslot``.

    Returns:
        The request, and each circuit's measurement keys and widths.
    """
    if not isinstance(run_request, PostJobsRequest):
        _fail(
            CircuitValidationError,
            f"run_request must be a RunRequest (from create_run_request), got {type(run_request).__name__}.",
        )
    check_bool(use_timeslot, "use_timeslot", error=CircuitValidationError)
    check_shots(run_request.shots)
    check_qubit_mapping(run_request.qubit_mapping)
    check_calibration_set_id(run_request.calibration_set_id, error=CircuitValidationError)
    for name, enum in (
        ("heralding_mode", HeraldingMode),
        ("move_gate_validation", MoveGateValidationMode),
        ("move_gate_frame_tracking", MoveGateFrameTrackingMode),
        ("dd_mode", DDMode),
    ):
        _enum(getattr(run_request, name), enum, f"run_request.{name}")
    return run_request, validate_circuits_with_keys(run_request.circuits)[1]


# ------------------------------------------------------------------------------------------ other calls


def check_batch_arguments(timeout: object, progress: object, max_concurrent_submissions: object) -> None:
    """The arguments of ``AsyncIQMClient.batch``."""
    check_number(timeout, "timeout", optional=True, allow_infinity=True)
    if progress is not None:
        check_bool(progress, "progress")
    check_integer(max_concurrent_submissions, "max_concurrent_submissions", minimum=1, maximum=10_000)


def check_path_like(value: object, name: str) -> str | None:
    """``None``, or a file path (``str`` or ``os.PathLike``) as a string."""
    if value is None:
        return None
    try:
        path: str | bytes = os.fspath(value)  # type: ignore[call-overload]
    except TypeError:
        _fail(
            ClientConfigurationError,
            f"{name} must be a path (str or os.PathLike), got {type(value).__name__}.",
        )
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not path or "\x00" in path:
        _fail(
            ClientConfigurationError,
            f"{name} must be a non-empty path without NUL characters, got {shown(path)}.",
        )
    return path


def check_transport(transport: object) -> None:
    """``None`` or an httpx async transport (anything with ``handle_async_request``)."""
    if transport is not None and not callable(getattr(transport, "handle_async_request", None)):
        _fail(
            ClientConfigurationError,
            f"transport must be an httpx.AsyncBaseTransport (e.g. httpx.MockTransport), got "
            f"{type(transport).__name__}.",
        )


def check_client_arguments(transport: object, idempotent_submissions: object, verify: object = None) -> None:
    """The ``AsyncIQMClient`` arguments that ``_config.resolve_settings`` does not see."""
    check_transport(transport)
    if idempotent_submissions is not None:
        check_bool(idempotent_submissions, "idempotent_submissions")
    if verify is not None and not isinstance(verify, bool | str | os.PathLike | ssl.SSLContext):
        _fail(
            ClientConfigurationError,
            f"verify must be True, False, a CA bundle path or an ssl.SSLContext, got {type(verify).__name__}.",
        )
