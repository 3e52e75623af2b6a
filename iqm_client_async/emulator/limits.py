"""The emulator's documented limits on one request and one job, and the checks that enforce them.

Every limit is refused with the server's error body and a 4xx status, never a 5xx:

* request body: at most :data:`MAX_BODY_BYTES` (413 ``payload_too_large``), JSON (415
  ``unsupported_media_type`` for another ``Content-Type``; a missing one is read as JSON), valid UTF-8 JSON
  without ``NaN``/``Infinity`` (400 ``malformed_json``), nested at most :data:`MAX_JSON_DEPTH` deep (400
  ``json_too_deep``);
* a job: at most :data:`MAX_SHOTS` shots (400 ``too_many_shots``), :data:`MAX_CIRCUITS` circuits (400
  ``too_many_circuits``), :data:`MAX_INSTRUCTIONS` instructions per circuit (400 ``too_many_instructions``);
* memory of a job: its results are estimated before it is queued (:func:`result_bytes`, from shots,
  measurement keys and measured bits of each circuit; the estimate is 1-2x what was measured) and refused
  above :data:`MAX_RESULT_BYTES` (400 ``job_too_large``); the state vectors are bounded by the simulator
  (at most 24 simulated components; at most 2^25 amplitudes of 16 bytes, 512 MiB, when mid-circuit
  measurements split the state, plus one working copy), and a circuit beyond that makes its job fail with
  ``circuit_too_large``. Parsing a body of :data:`MAX_BODY_BYTES` takes about 10x its size while it lasts.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from iqm_client_async.emulator.submission import CompiledCircuit, RequestRejected

MAX_BODY_BYTES = 32 * 1024 * 1024
"""Largest accepted request body (32 MiB, about 300,000 instructions)."""
MAX_JSON_DEPTH = 32
"""Deepest accepted nesting of JSON arrays and objects (a RunRequest needs 6, ``metadata`` the rest)."""
MAX_SHOTS = 1_000_000
"""Most shots per circuit."""
MAX_CIRCUITS = 10_000
"""Most circuits in one job."""
MAX_INSTRUCTIONS = 10_000
"""Most instructions in one circuit."""
MAX_RESULT_BYTES = 256 * 1024 * 1024
"""Most memory the results of one job may need, by the estimate of :func:`result_bytes`."""

# Measured on CPython 3.11 (peak RSS of ``jobs._run_circuits``), rounded up: see ``result_bytes``.
_SHOT_BYTES = 64  # per shot of the circuit being simulated: sampling arrays, the shot's bitstring
_KEY_SHOT_BYTES = 112  # per shot and key: one Python list, its pointer, the numpy bits
_BIT_SHOT_BYTES = 16  # per shot and measured bit: a pointer in that list, the numpy bit
_OUTCOME_BYTES = 120  # per distinct bitstring: an entry of the counts
_JSON_COPIES = 3  # the JSON text of every circuit, joined, then encoded

JSON_MEDIA_TYPES = frozenset({"application/json"})


def _rejected(status: int, error_code: str, message: str) -> RequestRejected:
    from iqm_client_async.emulator.submission import RequestRejected  # here: submission imports this module

    return RequestRejected(message, status_code=status, error_code=error_code)


def check_content_type(content_type: str | None) -> None:
    """Accept a JSON media type (``application/json``, ``application/*+json``) or none at all.

    Raises:
        RequestRejected: another media type (415).
    """
    if content_type is None or not content_type.strip():
        return
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type in JSON_MEDIA_TYPES or (
        media_type.startswith("application/") and media_type.endswith("+json")
    ):
        return
    raise _rejected(
        415,
        "unsupported_media_type",
        f"Content-Type {shorten(media_type)!r} is not supported; send the RunRequest as application/json",
    )


def body_too_large(size: int | None = None) -> RequestRejected:
    """The 413 refusal of a body larger than :data:`MAX_BODY_BYTES`."""
    given = "" if size is None else f" ({size} bytes)"
    return _rejected(
        413,
        "payload_too_large",
        f"Request body too large{given}; the emulator accepts at most {MAX_BODY_BYTES} bytes",
    )


def load_json(body: bytes) -> Any:
    """Parse a request body as strict JSON, nested at most :data:`MAX_JSON_DEPTH` deep.

    Raises:
        RequestRejected: not UTF-8, not JSON, ``NaN``/``Infinity``, integers too long to read, or nested
            too deeply (400).
    """
    try:
        document = json.loads(body.decode(), parse_constant=_reject_constant)  # UTF-8 only, no BOM
    except RecursionError:
        raise _too_deep() from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _rejected(400, "malformed_json", f"Request body is not valid JSON: {exc}") from None
    except ValueError as exc:  # NaN/Infinity, or an integer beyond Python's digit limit
        raise _rejected(400, "malformed_json", f"Request body is not valid JSON: {exc}") from None
    if _depth_exceeds(document, MAX_JSON_DEPTH):
        raise _too_deep()
    return document


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _too_deep() -> RequestRejected:
    return _rejected(
        400,
        "json_too_deep",
        f"Request body is nested too deeply; the emulator accepts at most {MAX_JSON_DEPTH} levels",
    )


def _depth_exceeds(document: Any, limit: int) -> bool:
    """Whether arrays and objects nest more than ``limit`` deep (level by level: no recursion, few bytecodes)."""
    level = [document] if isinstance(document, dict | list) else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return True
        level = [
            child
            for value in level
            for child in (value.values() if isinstance(value, dict) else value)
            if isinstance(child, dict | list)
        ]
    return False


def check_shots(shots: int) -> None:
    """Raises ``RequestRejected`` (400 ``too_many_shots``) above :data:`MAX_SHOTS`."""
    if shots > MAX_SHOTS:
        raise _rejected(
            400,
            "too_many_shots",
            f"Field 'shots' is {shorten(str(shots))}; the emulator runs at most {MAX_SHOTS}",
        )


def check_circuit_count(count: int) -> None:
    """Raises ``RequestRejected`` (400 ``too_many_circuits``) above :data:`MAX_CIRCUITS`."""
    if count > MAX_CIRCUITS:
        raise _rejected(
            400,
            "too_many_circuits",
            f"The request has {count} circuits; the emulator accepts at most {MAX_CIRCUITS}",
        )


def check_instruction_count(where: str, count: int) -> None:
    """Raises ``RequestRejected`` (400 ``too_many_instructions``) above :data:`MAX_INSTRUCTIONS`."""
    if count > MAX_INSTRUCTIONS:
        raise _rejected(
            400,
            "too_many_instructions",
            f"{where} has {count} instructions; the emulator accepts at most {MAX_INSTRUCTIONS} per circuit",
        )


def result_bytes(circuits: Sequence[CompiledCircuit], shots: int) -> int:
    """Estimated peak memory of a job's results (an upper bound of what was measured, about 1-2x too high).

    Circuits are simulated one at a time: the largest one's lists of shots and counts are alive at once,
    while the JSON of every circuit is kept (about 3 characters per shot and bit, in three copies at the end).
    """
    largest = kept = 0
    for circuit in circuits:
        keys = bits = 0
        for instruction in circuit.instructions:
            if instruction.name in ("measure", "measure_fidelity"):
                keys += 1
                bits += len(instruction.locus)
        outcomes = shots if bits >= shots.bit_length() else min(shots, 1 << bits)
        alive = shots * (_SHOT_BYTES + keys * _KEY_SHOT_BYTES + bits * _BIT_SHOT_BYTES)
        largest = max(largest, alive + outcomes * (_OUTCOME_BYTES + bits))
        kept += _JSON_COPIES * (shots * (4 * keys + 3 * bits) + outcomes * (bits + 10))
    return largest + kept


def check_result_size(circuits: Sequence[CompiledCircuit], shots: int) -> None:
    """Raises ``RequestRejected`` (400 ``job_too_large``) when the results would exceed :data:`MAX_RESULT_BYTES`."""
    needed = result_bytes(circuits, shots)
    if needed > MAX_RESULT_BYTES:
        mib = 1024 * 1024
        most = max(1, math.floor(shots * MAX_RESULT_BYTES / needed))
        raise _rejected(
            400,
            "job_too_large",
            f"The results of this job would need about {needed // mib} MiB; the emulator keeps at most "
            f"{MAX_RESULT_BYTES // mib} MiB per job (shots x measurement keys and bits of the circuits): "
            f"use at most {most} shots, or fewer circuits or measurements",
        )


def shorten(text: str, limit: int = 60) -> str:
    """``text``, cut to ``limit`` characters with a note of its length when longer."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"
