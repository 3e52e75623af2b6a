"""Bad inputs to the emulator over real loopback HTTP: each gets a typed 4xx in the server's error shape.

Every case asserts the status, the ``error_code`` and a fragment of the message, that no job was created
for a refused submission, and that the emulator still answers ``/about`` afterwards. Groups: the body as
bytes (media type, size, JSON syntax, nesting), request fields and job limits, circuits and instructions,
routes and parameters, authentication.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from iqm_client_async.emulator import BlockingEmulator
from iqm_client_async.emulator._asgi import MAX_MESSAGE_CHARS
from iqm_client_async.emulator.limits import (
    MAX_BODY_BYTES,
    MAX_CIRCUITS,
    MAX_INSTRUCTIONS,
    MAX_JSON_DEPTH,
    MAX_SHOTS,
)

from .server_helpers import bell, flip, op, run_request

SUBMIT = "/api/v1/jobs/garnet/circuit"
TOKEN = "abuse-test-token"


@dataclass(frozen=True)
class Case:
    """One bad request and the refusal it must get.

    ``body`` is sent as JSON; ``content`` as raw bytes (or a callable producing them, for large bodies).
    """

    id: str
    status: int
    error_code: str
    fragment: str
    method: str = "POST"
    path: str = SUBMIT
    body: Any = None
    content: bytes | Callable[[], bytes | Iterator[bytes]] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)


def nested(depth: int) -> dict[str, Any]:
    """A RunRequest whose circuit's metadata nests ``depth`` levels of objects (3 + depth in all)."""
    value: Any = 1
    for _ in range(depth):
        value = {"a": value}
    return run_request({**bell(), "metadata": value})


def raw(document: Any) -> bytes:
    return json.dumps(document).encode()


def circuit(*instructions: dict[str, Any], name: str = "c", **extra: Any) -> dict[str, Any]:
    return {"name": name, "instructions": list(instructions), **extra}


def with_circuit(*instructions: dict[str, Any], **options: Any) -> dict[str, Any]:
    return run_request(circuit(*instructions), **options)


MEASURE = op("measure", "QB1", key="m")
ALL_QUBITS = [f"QB{index}" for index in range(1, 21)]


def big_body() -> bytes:
    return b'{"circuits": [], "pad": "' + b"x" * MAX_BODY_BYTES + b'"}'


def chunked_big_body() -> Iterator[bytes]:
    # no Content-Length: the limit must hold while the body streams in
    yield b'{"pad": "'
    chunk = b"y" * (1024 * 1024)
    for _ in range(MAX_BODY_BYTES // len(chunk) + 1):
        yield chunk
    yield b'"}'


BODY_CASES = [
    Case(
        "text-plain",
        415,
        "unsupported_media_type",
        "text/plain",
        content=raw(run_request()),
        headers={"Content-Type": "text/plain"},
    ),
    Case(
        "text-plain-charset",
        415,
        "unsupported_media_type",
        "text/plain",
        content=raw(run_request()),
        headers={"Content-Type": "text/plain; charset=utf-8"},
    ),
    Case(
        "form-urlencoded",
        415,
        "unsupported_media_type",
        "x-www-form-urlencoded",
        content=b"shots=1",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    ),
    Case(
        "multipart",
        415,
        "unsupported_media_type",
        "multipart/form-data",
        content=b"--b--",
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    ),
    Case(
        "xml",
        415,
        "unsupported_media_type",
        "application/xml",
        content=b"<RunRequest/>",
        headers={"Content-Type": "application/xml"},
    ),
    Case(
        "octet-stream",
        415,
        "unsupported_media_type",
        "octet-stream",
        content=raw(run_request()),
        headers={"Content-Type": "application/octet-stream"},
    ),
    Case(
        "protobuf",
        415,
        "unsupported_media_type",
        "protobuf",
        content=b"\x08\x01",
        headers={"Content-Type": "application/protobuf"},
    ),
    Case(
        "json-lookalike",
        415,
        "unsupported_media_type",
        "application/jsonx",
        content=raw(run_request()),
        headers={"Content-Type": "application/jsonx"},
    ),
    Case(
        "too-large",
        413,
        "payload_too_large",
        f"at most {MAX_BODY_BYTES} bytes",
        content=big_body,
        headers={"Content-Type": "application/json"},
    ),
    Case(
        "too-large-chunked",
        413,
        "payload_too_large",
        "too large",
        content=chunked_big_body,
        headers={"Content-Type": "application/json"},
    ),
    Case(
        "empty",
        400,
        "malformed_json",
        "not valid JSON",
        content=b"",
        headers={"Content-Type": "application/json"},
    ),
    Case("not-json", 400, "malformed_json", "not valid JSON", content=b"{not json"),
    Case(
        "truncated",
        400,
        "malformed_json",
        "not valid JSON",
        content=b'{"circuits": [',
        headers={"Content-Type": "application/json"},
    ),
    Case("trailing-garbage", 400, "malformed_json", "Extra data", content=raw(run_request()) + b"x"),
    Case(
        "not-utf8",
        400,
        "malformed_json",
        "not valid JSON",
        content=b'{"shots": "\xff\xfe"}',
        headers={"Content-Type": "application/json"},
    ),
    Case(
        "utf16",
        400,
        "malformed_json",
        "not valid JSON",
        content=json.dumps(run_request()).encode("utf-16"),
        headers={"Content-Type": "application/json"},
    ),
    Case(
        "utf8-bom",
        400,
        "malformed_json",
        "BOM",
        content=b"\xef\xbb\xbf" + raw(run_request()),
        headers={"Content-Type": "application/json"},
    ),
    Case(
        "nan",
        400,
        "malformed_json",
        "NaN",
        content=raw(run_request()).replace(b'"shots": 20', b'"shots": NaN'),
    ),
    Case(
        "infinity-angle",
        400,
        "malformed_json",
        "Infinity",
        content=raw(with_circuit(op("prx", "QB1", angle=1.0, phase=0.0), MEASURE)).replace(
            b"1.0", b"Infinity"
        ),
    ),
    Case(
        "minus-infinity",
        400,
        "malformed_json",
        "-Infinity",
        content=raw(run_request()).replace(b'"shots": 20', b'"shots": -Infinity'),
    ),
    Case(
        "nan-in-metadata",
        400,
        "malformed_json",
        "NaN",
        content=raw(run_request({**bell(), "metadata": {"x": 1}})).replace(b'"x": 1', b'"x": NaN'),
    ),
    Case(
        "integer-5000-digits",
        400,
        "malformed_json",
        "not valid JSON",
        content=raw(run_request()).replace(b'"shots": 20', b'"shots": ' + b"9" * 5000),
    ),
    Case(
        "nested-arrays-100000",
        400,
        "json_too_deep",
        f"at most {MAX_JSON_DEPTH} levels",
        content=b"[" * 100_000 + b"]" * 100_000,
    ),
    Case(
        "nested-objects-5000",
        400,
        "json_too_deep",
        "nested too deeply",
        content=b'{"a":' * 5000 + b"1" + b"}" * 5000,
    ),
    Case("unclosed-nesting-100000", 400, "json_too_deep", "nested too deeply", content=b"[" * 100_000),
    Case("metadata-too-deep", 400, "json_too_deep", "nested too deeply", body=nested(MAX_JSON_DEPTH - 2)),
    Case("top-level-array", 422, "validation_error", "must be a JSON object", body=[run_request()]),
    Case("top-level-string", 422, "validation_error", "must be a JSON object", body="RunRequest"),
    Case("top-level-null", 422, "validation_error", "must be a JSON object", content=b"null"),
    Case("top-level-number", 422, "validation_error", "must be a JSON object", content=b"1e999"),
]

FIELD_CASES = [
    Case("shots-missing", 422, "validation_error", "'shots' is required", body={"circuits": [bell()]}),
    Case("shots-zero", 422, "validation_error", "greater than 0", body=run_request(shots=0)),
    Case("shots-negative", 422, "validation_error", "greater than 0", body=run_request(shots=-5)),
    Case("shots-bool", 422, "validation_error", "'shots'", body={"circuits": [bell()], "shots": True}),
    Case("shots-string", 422, "validation_error", "'shots'", body={"circuits": [bell()], "shots": "1000"}),
    Case("shots-float", 422, "validation_error", "'shots'", body={"circuits": [bell()], "shots": 1.5}),
    Case("shots-null", 422, "validation_error", "'shots'", body={"circuits": [bell()], "shots": None}),
    Case("shots-list", 422, "validation_error", "'shots'", body={"circuits": [bell()], "shots": [1]}),
    Case("shots-2**63", 400, "too_many_shots", f"at most {MAX_SHOTS}", body=run_request(shots=2**63)),
    Case("shots-10**9", 400, "too_many_shots", f"at most {MAX_SHOTS}", body=run_request(shots=10**9)),
    Case("shots-limit+1", 400, "too_many_shots", "is 1000001", body=run_request(shots=MAX_SHOTS + 1)),
    Case("shots-4000-digits", 400, "too_many_shots", "characters", body=run_request(shots=10**4000)),
    Case("circuits-missing", 422, "validation_error", "'circuits' is required", body={"shots": 10}),
    Case("circuits-null", 422, "validation_error", "'circuits'", body={"circuits": None, "shots": 10}),
    Case(
        "circuits-object",
        422,
        "validation_error",
        "'circuits'",
        body={"circuits": {"c": bell()}, "shots": 10},
    ),
    Case("circuits-string", 422, "validation_error", "'circuits'", body={"circuits": "bell", "shots": 10}),
    Case(
        "circuits-empty", 400, "circuit_validation_error", "no circuits", body={"circuits": [], "shots": 10}
    ),
    Case(
        "circuits-limit+1",
        400,
        "too_many_circuits",
        f"at most {MAX_CIRCUITS}",
        body={"circuits": [flip()] * (MAX_CIRCUITS + 1), "shots": 1},
    ),
    Case(
        "memory-1M-shots-20-bits",
        400,
        "job_too_large",
        "per job",
        body=with_circuit(op("measure", *ALL_QUBITS, key="m"), shots=MAX_SHOTS),
    ),
    Case(
        "memory-many-circuits",
        400,
        "job_too_large",
        "use at most",
        body={"circuits": [flip()] * 2000, "shots": 500_000},
    ),
    Case(
        "memory-many-keys",
        400,
        "job_too_large",
        "MiB",
        body=with_circuit(*(op("measure", q, key=q) for q in ALL_QUBITS), shots=400_000),
    ),
    Case(
        "calset-not-uuid",
        422,
        "validation_error",
        "calibration_set_id",
        body=run_request(calibration_set_id="latest"),
    ),
    Case(
        "calset-path",
        422,
        "validation_error",
        "calibration_set_id",
        body=run_request(calibration_set_id="../../../jobs/x"),
    ),
    Case(
        "calset-number",
        422,
        "validation_error",
        "calibration_set_id",
        body=run_request(calibration_set_id=123),
    ),
    Case(
        "calset-unknown",
        404,
        "not_found",
        "not found",
        body=run_request(calibration_set_id=str(uuid.UUID(int=1))),
    ),
    Case("mapping-string", 422, "validation_error", "qubit_mapping", body=run_request(qubit_mapping="QB1")),
    Case(
        "mapping-list-of-names",
        422,
        "validation_error",
        "qubit_mapping",
        body=run_request(qubit_mapping=["QB1", "QB2"]),
    ),
    Case(
        "mapping-non-string",
        422,
        "validation_error",
        "qubit_mapping",
        body=run_request(qubit_mapping={"a": 1}),
    ),
    Case(
        "mapping-unknown-qubit",
        400,
        "circuit_validation_error",
        "unknown physical qubit",
        body=run_request(qubit_mapping={"a": "QB99"}),
    ),
    Case(
        "mapping-not-injective",
        400,
        "circuit_validation_error",
        "same physical qubit",
        body=run_request(qubit_mapping={"a": "QB1", "b": "QB1"}),
    ),
    Case(
        "heralding-unknown",
        422,
        "validation_error",
        "'heralding_mode'",
        body=run_request(heralding_mode="sometimes"),
    ),
    Case(
        "move-validation-number",
        422,
        "validation_error",
        "'move_gate_validation'",
        body=run_request(move_gate_validation=5),
    ),
    Case(
        "frame-tracking-unknown",
        422,
        "validation_error",
        "'move_gate_frame_tracking'",
        body=run_request(move_gate_frame_tracking="half"),
    ),
    Case("dd-mode-unknown", 422, "validation_error", "'dd_mode'", body=run_request(dd_mode="on")),
    Case("dd-strategy-list", 422, "validation_error", "dd_strategy", body=run_request(dd_strategy=[])),
    Case(
        "dd-strategy-bad-sequence",
        422,
        "validation_error",
        "gate_sequences",
        body=run_request(dd_strategy={"gate_sequences": [[1, "XZ", "asap"]]}),
    ),
    Case(
        "reset-cycles-string",
        422,
        "validation_error",
        "active_reset_cycles",
        body=run_request(active_reset_cycles="1"),
    ),
    Case(
        "duration-factor-string",
        422,
        "validation_error",
        "max_circuit_duration_over_t2",
        body=run_request(max_circuit_duration_over_t2="x"),
    ),
    Case(
        "duration-factor-overflow",
        422,
        "validation_error",
        "finite",
        content=raw(run_request(max_circuit_duration_over_t2=1.0)).replace(b"1.0", b"1e400"),
    ),
]

CIRCUIT_CASES = [
    Case("qir-string", 400, "circuit_validation_error", "QIR", body=run_request("%Qubit = type opaque")),
    Case("circuit-number", 422, "validation_error", "must be an object", body=run_request(7)),
    Case("circuit-null", 422, "validation_error", "must be an object", body={"circuits": [None], "shots": 1}),
    Case(
        "name-missing",
        400,
        "circuit_validation_error",
        "non-empty string 'name'",
        body=run_request({"instructions": [MEASURE]}),
    ),
    Case(
        "name-empty",
        400,
        "circuit_validation_error",
        "non-empty string 'name'",
        body=run_request(circuit(MEASURE, name="")),
    ),
    Case(
        "name-number",
        400,
        "circuit_validation_error",
        "'name'",
        body=run_request({"name": 5, "instructions": [MEASURE]}),
    ),
    Case(
        "instructions-missing",
        400,
        "circuit_validation_error",
        "'instructions'",
        body=run_request({"name": "c"}),
    ),
    Case(
        "instructions-empty", 400, "circuit_validation_error", "non-empty array", body=run_request(circuit())
    ),
    Case(
        "instructions-object",
        400,
        "circuit_validation_error",
        "'instructions'",
        body=run_request({"name": "c", "instructions": {"0": MEASURE}}),
    ),
    Case(
        "instructions-limit+1",
        400,
        "too_many_instructions",
        f"at most {MAX_INSTRUCTIONS}",
        body=run_request(circuit(*[op("prx", "QB1", angle=0.1, phase=0.0)] * MAX_INSTRUCTIONS, MEASURE)),
    ),
    Case(
        "metadata-string",
        422,
        "validation_error",
        "'metadata'",
        body=run_request(circuit(MEASURE, metadata="x")),
    ),
    Case("instruction-string", 422, "validation_error", "must be an object", body=with_circuit("measure")),
    Case(
        "instruction-name-missing",
        422,
        "validation_error",
        "'name' must be a string",
        body=with_circuit({"locus": ["QB1"], "args": {}}),
    ),
    Case(
        "unknown-operation",
        400,
        "circuit_validation_error",
        "unknown operation",
        body=with_circuit(op("toffoli", "QB1", "QB2", "QB3"), MEASURE),
    ),
    Case(
        "locus-string",
        422,
        "validation_error",
        "'locus' must be an array",
        body=with_circuit({"name": "measure", "locus": "QB1", "args": {"key": "m"}}),
    ),
    Case(
        "locus-numbers",
        422,
        "validation_error",
        "'locus' must be an array",
        body=with_circuit({"name": "measure", "locus": [1], "args": {"key": "m"}}),
    ),
    Case(
        "locus-empty",
        400,
        "circuit_validation_error",
        "acts on 1 component",
        body=with_circuit(op("prx", angle=1.0, phase=0.0), MEASURE),
    ),
    Case(
        "measure-empty-locus",
        400,
        "circuit_validation_error",
        "locus is empty",
        body=with_circuit(op("measure", key="m")),
    ),
    Case(
        "locus-repeated",
        400,
        "circuit_validation_error",
        "appears twice",
        body=with_circuit(op("barrier", "QB1", "QB1"), MEASURE),
    ),
    Case(
        "unknown-qubit",
        400,
        "circuit_validation_error",
        "unknown physical qubit 'QB99'",
        body=with_circuit(op("measure", "QB99", key="m")),
    ),
    Case(
        "uncalibrated-cz",
        400,
        "circuit_validation_error",
        "not a calibrated locus",
        body=with_circuit(op("cz", "QB1", "QB20"), MEASURE),
    ),
    Case(
        "args-missing",
        400,
        "circuit_validation_error",
        "missing argument(s) angle, phase",
        body=with_circuit(op("prx", "QB1"), MEASURE),
    ),
    Case(
        "args-unknown",
        400,
        "circuit_validation_error",
        "unknown argument(s) power",
        body=with_circuit(op("prx", "QB1", angle=1.0, phase=0.0, power=2), MEASURE),
    ),
    Case(
        "args-list",
        422,
        "validation_error",
        "'args' must be an object",
        body=with_circuit({"name": "prx", "locus": ["QB1"], "args": [1, 2]}, MEASURE),
    ),
    Case(
        "angle-string",
        400,
        "circuit_validation_error",
        "must be a finite number",
        body=with_circuit(op("prx", "QB1", angle="pi", phase=0.0), MEASURE),
    ),
    Case(
        "angle-bool",
        400,
        "circuit_validation_error",
        "must be a finite number",
        body=with_circuit(op("prx", "QB1", angle=True, phase=0.0), MEASURE),
    ),
    Case(
        "angle-huge-int",
        400,
        "circuit_validation_error",
        "must be a finite number",
        body=with_circuit(op("prx", "QB1", angle=10**400, phase=0.0), MEASURE),
    ),
    Case(
        "angle-overflow",
        400,
        "circuit_validation_error",
        "must be a finite number",
        content=raw(with_circuit(op("prx", "QB1", angle=1.5, phase=0.0), MEASURE)).replace(b"1.5", b"1e999"),
    ),
    Case(
        "delay-negative",
        400,
        "circuit_validation_error",
        "must not be negative",
        body=with_circuit(op("delay", "QB1", duration=-1e-6), MEASURE),
    ),
    Case(
        "key-reserved",
        400,
        "circuit_validation_error",
        "reserved",
        body=with_circuit(op("measure", "QB1", key="__HERALD")),
    ),
    Case(
        "key-repeated",
        400,
        "circuit_validation_error",
        "more than once",
        body=with_circuit(MEASURE, op("measure", "QB2", key="m")),
    ),
    Case(
        "key-number",
        400,
        "circuit_validation_error",
        "non-empty string",
        body=with_circuit(op("measure", "QB1", key=5)),
    ),
    Case(
        "feedback-without-measurement",
        400,
        "circuit_validation_error",
        "no earlier measurement",
        body=with_circuit(
            op("cc_prx", "QB1", angle=1.0, phase=0.0, feedback_qubit="QB1", feedback_key="f"), MEASURE
        ),
    ),
    Case(
        "implementation-empty",
        400,
        "circuit_validation_error",
        "'implementation'",
        body=with_circuit(op("prx", "QB1", implementation="", angle=1.0, phase=0.0), MEASURE),
    ),
    Case(
        "implementation-unknown",
        400,
        "circuit_validation_error",
        "not calibrated",
        body=with_circuit(op("prx", "QB1", implementation="magic", angle=1.0, phase=0.0), MEASURE),
    ),
    Case(
        "huge-operation-name",
        400,
        "circuit_validation_error",
        "more characters",
        body=with_circuit(op("x" * 1_000_000, "QB1"), MEASURE),
    ),
]

ROUTE_CASES = [
    Case("unknown-route", 404, "http_404", "Not found", method="GET", path="/api/v1/nothing-here"),
    Case("unknown-version", 404, "http_404", "Not found", method="GET", path="/api/v2/about"),
    Case(
        "method-put",
        405,
        "http_405",
        "Method Not Allowed",
        method="PUT",
        path=f"/api/v1/jobs/{uuid.UUID(int=7)}",
    ),
    Case("method-get-submit", 405, "http_405", "Method Not Allowed", method="GET", path=SUBMIT),
    Case("method-delete-about", 405, "http_405", "Method Not Allowed", method="DELETE", path="/about"),
    Case(
        "unknown-qc-submit",
        404,
        "not_found",
        "'sirius' not found",
        path="/api/v1/jobs/sirius/circuit",
        body=run_request(),
    ),
    Case(
        "unknown-qc-health",
        404,
        "not_found",
        "not found",
        method="GET",
        path="/api/v1/quantum-computers/sirius/health",
    ),
    Case(
        "unknown-artifact",
        404,
        "not_found",
        "Artifact 'passwords'",
        method="GET",
        path="/api/v1/quantum-computers/garnet/artifacts/passwords",
    ),
    Case(
        "unknown-calset",
        404,
        "not_found",
        "Calibration set",
        method="GET",
        path="/api/v1/calibration-sets/garnet/latest",
    ),
    Case(
        "unknown-calset-document",
        404,
        "not_found",
        "'secrets'",
        method="GET",
        path="/api/v1/calibration-sets/garnet/default/secrets",
    ),
    Case(
        "job-not-uuid",
        404,
        "not_found",
        "Job not-a-job not found",
        method="GET",
        path="/api/v1/jobs/not-a-job",
    ),
    Case("job-unknown", 404, "not_found", "not found", method="GET", path=f"/api/v1/jobs/{uuid.UUID(int=9)}"),
    Case(
        "job-encoded-traversal",
        404,
        "http_404",
        "Not found: GET /api/v1/jobs/../../about",
        method="GET",
        path="/api/v1/jobs/..%2F..%2Fabout",
    ),
    Case("job-cancel-unknown", 404, "not_found", "not found", path=f"/api/v1/jobs/{uuid.UUID(int=9)}/cancel"),
    Case(
        "job-delete-unknown",
        404,
        "not_found",
        "not found",
        method="DELETE",
        path=f"/api/v1/jobs/{uuid.UUID(int=9)}",
    ),
    Case(
        "job-payload-unknown",
        404,
        "not_found",
        "not found",
        method="GET",
        path=f"/api/v1/jobs/{uuid.UUID(int=9)}/payload",
    ),
    Case(
        "job-measurements-unknown",
        404,
        "not_found",
        "not found",
        method="GET",
        path=f"/api/v1/jobs/{uuid.UUID(int=9)}/artifacts/measurements",
    ),
    Case("long-job-id", 404, "not_found", "characters", method="GET", path="/api/v1/jobs/" + "j" * 6000),
    Case(
        "use-timeslot-not-bool",
        422,
        "validation_error",
        "use_timeslot",
        body=run_request(),
        params={"use_timeslot": "maybe"},
    ),
]

AUTH_CASES = [
    Case(
        "token-missing",
        401,
        "unauthorized",
        "Missing bearer token",
        method="GET",
        path="/api/v1/quantum-computers",
    ),
    Case(
        "token-wrong",
        401,
        "unauthorized",
        "Invalid bearer token",
        method="GET",
        path="/api/v1/quantum-computers",
        headers={"Authorization": "Bearer nope"},
    ),
    Case(
        "token-basic",
        401,
        "unauthorized",
        "Invalid bearer token",
        method="GET",
        path="/about",
        headers={"Authorization": f"Basic {TOKEN}"},
    ),
    Case(
        "token-extended",
        401,
        "unauthorized",
        "Invalid bearer token",
        method="GET",
        path="/about",
        headers={"Authorization": f"Bearer {TOKEN}x"},
    ),
    Case("token-missing-submit", 401, "unauthorized", "Missing bearer token", body=run_request()),
]

GROUPS = {"body": BODY_CASES, "fields": FIELD_CASES, "circuits": CIRCUIT_CASES, "routes": ROUTE_CASES}


@pytest.fixture(scope="module")
def emulator() -> Iterator[BlockingEmulator]:
    with BlockingEmulator(seed=1) as emu:
        yield emu


@pytest.fixture(scope="module")
def guarded() -> Iterator[BlockingEmulator]:
    with BlockingEmulator(seed=1, token=TOKEN) as emu:
        yield emu


def send(client: httpx.Client, case: Case) -> httpx.Response:
    content = case.content() if callable(case.content) else case.content
    kwargs: dict[str, Any] = {"headers": case.headers, "params": case.params}
    if content is not None:
        kwargs["content"] = content
    elif case.body is not None:
        kwargs["json"] = case.body
    return client.request(case.method, case.path, **kwargs)


def check_refusal(response: httpx.Response, case: Case) -> None:
    assert response.status_code == case.status, response.text[:500]
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"message", "error_code", "source", "detail"}
    assert body["source"] == "iqm-server"
    assert body["error_code"] == case.error_code, body
    assert case.fragment in body["message"], body["message"][:500]
    assert body["detail"] == body["message"]
    assert len(body["message"]) < MAX_MESSAGE_CHARS + 100


def run_case(emu: BlockingEmulator, case: Case, headers: dict[str, str] | None = None) -> None:
    with httpx.Client(base_url=emu.url, timeout=60, headers=headers) as client:
        jobs_before = emu.stats()["jobs_created"]
        response = send(client, case)
        check_refusal(response, case)
        assert emu.stats()["jobs_created"] == jobs_before
        assert client.get("/about", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


@pytest.mark.parametrize(
    "case", [pytest.param(case, id=f"{group}-{case.id}") for group, cases in GROUPS.items() for case in cases]
)
def test_bad_input_is_refused(emulator: BlockingEmulator, case: Case) -> None:
    run_case(emulator, case)


@pytest.mark.parametrize("case", [pytest.param(case, id=case.id) for case in AUTH_CASES])
def test_bad_credentials_are_refused(guarded: BlockingEmulator, case: Case) -> None:
    run_case(guarded, case)


def test_results_of_an_unfinished_job_are_409() -> None:
    with (
        BlockingEmulator(seed=1, job_duration_ms=60_000) as emu,
        httpx.Client(base_url=emu.url, timeout=60) as client,
    ):
        job = client.post(SUBMIT, json=run_request()).json()
        running = [
            client.get(f"/api/v1/jobs/{job['id']}/artifacts/{name}")
            for name in ("measurements", "measurement_counts")
        ]
        client.post(f"/api/v1/jobs/{job['id']}/cancel")
        cancelled = client.get(f"/api/v1/jobs/{job['id']}/artifacts/measurements")

        for response in running:
            check_refusal(
                response,
                Case("unfinished", 409, "job_not_completed", "results exist only for completed jobs"),
            )
        check_refusal(cancelled, Case("cancelled", 409, "job_not_completed", "its status is 'cancelled'"))


def test_idempotency_key_reused_for_another_body_is_422(emulator: BlockingEmulator) -> None:
    key = {"Idempotency-Key": str(uuid.uuid4())}
    with httpx.Client(base_url=emulator.url, timeout=60) as client:
        assert client.post(SUBMIT, json=run_request(shots=3), headers=key).status_code == 200

        response = client.post(SUBMIT, json=run_request(shots=4), headers=key)

        check_refusal(response, Case("reused", 422, "idempotency_key_reused", "already used"))


def test_json_media_types_with_parameters_are_accepted(emulator: BlockingEmulator) -> None:
    with httpx.Client(base_url=emulator.url, timeout=60) as client:
        for media_type in ("application/json; charset=UTF-8", "application/vnd.iqm+json", "APPLICATION/JSON"):
            response = client.post(SUBMIT, content=raw(run_request()), headers={"Content-Type": media_type})

            assert response.status_code == 200, (media_type, response.text)


def test_limits_are_inclusive(emulator: BlockingEmulator) -> None:
    """The documented maxima themselves are accepted (the cases above refuse maximum + 1)."""
    at_limit = [
        run_request(flip(), shots=MAX_SHOTS),
        run_request(  # 10,000 pulses take longer than T2: the duration check is turned off for this one
            circuit(*[op("prx", "QB1", angle=0.1, phase=0.0)] * (MAX_INSTRUCTIONS - 1), MEASURE),
            shots=1,
            max_circuit_duration_over_t2=0.0,
        ),
        nested(MAX_JSON_DEPTH - 3),  # the request, its circuits and a circuit are 3 levels
    ]
    with httpx.Client(base_url=emulator.url, timeout=60) as client:
        for body in at_limit:
            response = client.post(SUBMIT, json=body)
            assert response.status_code == 200, response.text[:300]
            client.post(f"/api/v1/jobs/{response.json()['id']}/cancel")
