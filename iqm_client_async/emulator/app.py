"""The emulator's HTTP API: the IQM Server routes a circuit client uses, as an ASGI application.

Layers, outermost first: counting and ``latency_ms`` (``GatewayMiddleware``), injected faults
(``FaultInjectionMiddleware``), bearer-token check (``AuthMiddleware``), then the FastAPI routes. Every
error, including unknown routes and malformed bodies, is an IQMServerError body
``{"message", "error_code", "source", "detail"}``. Static documents (architectures, calibration data) are
serialized once; job status documents are cached until the job changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import importlib.metadata
import json
import uuid
from collections import Counter
from typing import Annotated, Any

from fastapi import FastAPI, Header, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from iqm_client_async._channel_properties import encode_channel_properties
from iqm_client_async.emulator import api_models, limits
from iqm_client_async.emulator._asgi import ASGIApp, Receive, Scope, Send, error_body, send_error
from iqm_client_async.emulator.faults import FaultInjectionMiddleware, FaultInjector
from iqm_client_async.emulator.jobs import JobManager, timestamp
from iqm_client_async.emulator.presets import load_preset
from iqm_client_async.emulator.settings import EmulatorConfigurationError, EmulatorSettings
from iqm_client_async.emulator.simulator import sampling_policy
from iqm_client_async.emulator.store import JobRecord, JobStore
from iqm_client_async.emulator.submission import Architecture, RequestRejected
from iqm_client_async.models.jobs import JobStatus

JSON = "application/json"
PROTOBUF = "application/protobuf"
IDEMPOTENCY_HEADERS = {"Idempotency-Supported": "true"}


def emulator_version() -> str:
    """The installed version of this package (the emulator's version)."""
    try:
        return importlib.metadata.version("iqm-client-async")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"


class EmulatorCore:
    """One emulated IQM Server: preset, jobs, faults, counters, and the ASGI app serving them.

    Args:
        settings: the emulator's settings.

    Raises:
        EmulatorConfigurationError: unknown QPU preset.
    """

    def __init__(self, settings: EmulatorSettings) -> None:
        try:
            self.preset = load_preset(settings.qpu)
        except ValueError as exc:
            raise EmulatorConfigurationError(str(exc)) from None
        self.settings = settings
        self.architecture = Architecture(self.preset)
        self.counters: Counter[str] = Counter()
        self.faults = FaultInjector(settings.faults, settings.seed)
        self.closing = asyncio.Event()
        noise = self.preset.noise_model() if settings.noise == "calibrated" else None
        self.jobs = JobManager(
            settings, self.architecture, JobStore(settings.db, qpu=self.preset.name), noise, self.counters
        )
        self.documents = _static_documents(self)
        self.app: ASGIApp = GatewayMiddleware(
            FaultInjectionMiddleware(
                AuthMiddleware(create_routes(self), settings.token, self.counters),
                self.faults,
                slow_delay_s=settings.slow_delay_s,
                retry_after_s=settings.retry_after_s,
                closing=self.closing,
            ),
            self.counters,
            latency_s=settings.latency_ms / 1000,
        )

    async def start(self) -> None:
        """Open the job store and start executing jobs."""
        await self.jobs.start()

    async def close(self) -> None:
        """Release held-back responses, stop executing jobs, close the store."""
        self.closing.set()
        await self.jobs.close()

    def stats(self) -> dict[str, Any]:
        """Counters: requests, submissions, jobs by outcome, idempotent replays, faults by kind, queue."""
        counters = self.counters
        return {
            "requests_served": counters["requests_served"],
            "status_requests": counters["status_requests"],
            "submissions": counters["submissions"],
            "jobs_created": counters["jobs_created"],
            "idempotent_replays": counters["idempotent_replays"],
            "jobs_completed": counters["jobs_completed"],
            "jobs_failed": counters["jobs_failed"],
            "jobs_cancelled": counters["jobs_cancelled"],
            "jobs_deleted": counters["jobs_deleted"],
            "rejected_submissions": counters["rejected_submissions"],
            "unauthorized_requests": counters["unauthorized_requests"],
            "faults_injected": self.faults.counts(),
            "jobs_waiting": self.jobs.queue_length(),
            "jobs_running": self.jobs.running_jobs(),
            "simulations_running": self.jobs.simulations_running(),
        }


def _static_documents(core: EmulatorCore) -> dict[str, bytes]:
    preset = core.preset
    return {
        "quantum-computers": _json(
            {
                "quantum_computers": [
                    {
                        "id": preset.quantum_computer_id,
                        "alias": preset.name,
                        "display_name": preset.display_name,
                        "proxy_path": None,
                    }
                ]
            }
        ),
        "artifacts/about": _json(
            {"version": emulator_version(), "software_versions": {"iqm-server-emulator": emulator_version()}}
        ),
        "artifacts/duts": _json(preset.duts()),
        "artifacts/static-quantum-architectures": _json([preset.static_architecture()]),
        "artifacts/chip-design-records": _json([preset.chip_design_record()]),
        "artifacts/channel-properties": encode_channel_properties(*preset.channel_properties()),
        "calibration-set": _json(preset.calibration_set()),
        "dynamic-quantum-architecture": _json(preset.dynamic_architecture()),
        "metrics": _json(preset.quality_metric_set()),
    }


def _json(document: Any) -> bytes:
    return json.dumps(document).encode()


def _respond(content: bytes, *, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(content, status_code=status_code, media_type=JSON, headers=headers)


def _error(exc: RequestRejected, headers: dict[str, str] | None = None) -> Response:
    return _respond(error_body(exc.message, exc.error_code), status_code=exc.status_code, headers=headers)


def _not_found(message: str) -> RequestRejected:
    return RequestRejected(message, status_code=404, error_code="not_found")


def _documented(model: Any = None, *errors: int, media_type: str = JSON) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses``: 200 with ``model`` (any JSON when ``None``), and error bodies for ``errors``."""
    ok: dict[str, Any] = {"description": "Success"}
    if model is not None:
        ok["model"] = model
    if media_type != JSON:
        ok["content"] = {media_type: {"schema": {"type": "string", "format": "binary"}}}
    responses: dict[int | str, dict[str, Any]] = {200: ok}
    for status in (*errors, *_ALWAYS_POSSIBLE):
        responses[status] = {"model": api_models.IQMServerError, "description": _STATUS_TEXT[status]}
    return responses


_ALWAYS_POSSIBLE = (401, 429, 503)  # a wrong token; injected faults
_STATUS_TEXT = {
    400: "Invalid request (malformed JSON, a limit exceeded, invalid circuits)",
    401: "Missing or invalid bearer token",
    404: "Not found",
    409: "Conflict (results of a job that has not completed)",
    413: "Request body too large",
    415: "Request body is not JSON",
    422: "Request of the wrong shape",
    429: "Too many requests (injected fault)",
    503: "Unavailable (injected fault)",
}


_JOB_OPERATIONS = (
    "get_job",
    "cancel_job",
    "delete_job",
    "get_job_payload",
    "get_job_measurements",
    "get_job_measurement_counts",
)


def _example_run_request(architecture: Architecture) -> dict[str, Any]:
    """A valid RunRequest for the emulated QPU: a pi rotation of one qubit, then its measurement."""
    qubit = sorted(
        locus[0] for locus in architecture.gates["prx"].all_loci if locus[0] in architecture.measurable
    )[0]
    instructions = [
        {"name": "prx", "locus": [qubit], "args": {"angle": 3.141592653589793, "phase": 0.0}},
        {"name": "measure", "locus": [qubit], "args": {"key": "m"}},
    ]
    return {"circuits": [{"name": "flip", "instructions": instructions}], "shots": 10}


def create_routes(core: EmulatorCore) -> FastAPI:
    """The FastAPI application with every route of the emulated IQM Server (no middleware)."""
    app = FastAPI(
        title="IQM Server emulator",
        version=emulator_version(),
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        separate_input_output_schemas=False,
    )
    preset = core.preset
    documents = core.documents
    jobs = core.jobs
    generate_openapi = app.openapi
    # Path parameters with examples, so that a fuzzer reaches more than the 404s
    qc_param = Path(description="alias of the quantum computer", examples=[preset.name])
    calset_param = Path(description="a calibration set id, or 'default'", examples=["default"])
    job_param = Path(description="a job id (UUID)", examples=["00000000-0000-0000-0000-000000000000"])

    def openapi() -> dict[str, Any]:
        # FastAPI documents a 422 of its own shape for every route with parameters; ours is an IQMServerError
        # and only the submission (its query parameter) can get one.
        if app.openapi_schema is None:
            document = generate_openapi()
            for operations in document["paths"].values():
                for operation in operations.values():
                    response = operation["responses"].get("422", {})
                    if "HTTPValidationError" in json.dumps(response):
                        del operation["responses"]["422"]
            for name in ("HTTPValidationError", "ValidationError"):
                document["components"]["schemas"].pop(name, None)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.exception_handler(RequestRejected)
    async def rejected(request: Request, exc: RequestRejected) -> Response:
        return _error(exc)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            message = f"Not found: {request.method} {request.url.path}"
        else:
            message = f"{exc.detail}: {request.method} {request.url.path}"
        return _respond(
            error_body(message, f"http_{exc.status_code}"),
            status_code=exc.status_code,
            headers=dict(exc.headers or {}),
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}" for error in exc.errors()
        )
        return _respond(error_body(f"Invalid request: {problems}", "validation_error"), status_code=422)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> Response:
        # a bug, never bad input: still the server's error shape (the exception is logged by Starlette)
        message = f"Internal error of the emulator: {request.method} {request.url.path}"
        return _respond(error_body(message, "internal_error"), status_code=500)

    def check_quantum_computer(alias: str) -> None:
        if alias != preset.name:
            raise _not_found(
                f"Quantum computer '{limits.shorten(alias)}' not found; available quantum computers: {preset.name}"
            )

    def check_calibration_set(calibration_set_id: str) -> None:
        if calibration_set_id == "default":
            return
        try:
            if str(uuid.UUID(calibration_set_id)) == preset.calibration_set_id:
                return
        except ValueError:
            pass
        raise _not_found(f"Calibration set '{limits.shorten(calibration_set_id)}' not found")

    def find_job(job_id: str) -> JobRecord:
        record = jobs.get(job_id)
        if record is None:  # ids are stored in canonical form; accept other spellings of a UUID
            with contextlib.suppress(ValueError):
                record = jobs.get(str(uuid.UUID(job_id)))
        if record is None:
            raise _not_found(f"Job {limits.shorten(job_id)} not found")
        return record

    async def about() -> Response:
        document = {
            "name": "IQM Server emulator",
            "emulator": True,
            "version": emulator_version(),
            "idempotency_key_supported": True,
            "quantum_computer": preset.name,
            "noise": core.settings.noise,
            "workers": core.settings.workers,
            "counters": core.stats(),
            "noise_sampling": {
                **sampling_policy(),
                "circuits_with_shared_trajectories": core.counters["circuits_with_shared_trajectories"],
            },
        }
        return _respond(_json(document))

    for path in ("/about", "/api/v1/about"):
        app.add_api_route(path, about, methods=["GET"], responses=_documented(api_models.About))

    @app.get("/api/v1/quantum-computers", responses=_documented(api_models.QuantumComputers))
    async def quantum_computers() -> Response:
        return _respond(documents["quantum-computers"])

    @app.get("/api/v1/quantum-computers/{qc}/health", responses=_documented(api_models.Health, 404))
    async def health(qc: str = qc_param) -> Response:
        check_quantum_computer(qc)
        document = {
            "status": "healthy",
            "quantum_computer": preset.name,
            "jobs_waiting": jobs.queue_length(),
            "jobs_running": jobs.running_jobs(),
        }
        return _respond(_json(document))

    def artifact_route(name: str, model: Any, media_type: str = JSON) -> None:
        async def artifact(qc: str = qc_param) -> Response:
            check_quantum_computer(qc)
            return Response(documents[f"artifacts/{name}"], media_type=media_type)

        app.add_api_route(
            f"/api/v1/quantum-computers/{{qc}}/artifacts/{name}",
            artifact,
            methods=["GET"],
            responses=_documented(model, 404, media_type=media_type),
            name=f"artifact_{name}",
        )

    artifact_route("about", api_models.SoftwareVersions)
    artifact_route("duts", list[api_models.Dut])
    artifact_route("static-quantum-architectures", list[api_models.StaticQuantumArchitecture])
    artifact_route("chip-design-records", list[dict[str, Any]])
    artifact_route("channel-properties", None, PROTOBUF)

    @app.get("/api/v1/quantum-computers/{qc}/artifacts/{artifact}", include_in_schema=False)
    async def unknown_artifact(qc: str, artifact: str) -> Response:
        check_quantum_computer(qc)
        raise _not_found(f"Artifact '{limits.shorten(artifact)}' not found for quantum computer '{qc}'")

    @app.get(
        "/api/v1/calibration-sets/{qc}/{calibration_set_id}",
        responses=_documented(api_models.ObservationSet, 404),
    )
    async def calibration_set(qc: str = qc_param, calibration_set_id: str = calset_param) -> Response:
        check_quantum_computer(qc)
        check_calibration_set(calibration_set_id)
        return _respond(documents["calibration-set"])

    def calibration_document_route(name: str, model: Any) -> None:
        async def calibration_document(
            qc: str = qc_param, calibration_set_id: str = calset_param
        ) -> Response:
            check_quantum_computer(qc)
            check_calibration_set(calibration_set_id)
            return _respond(documents[name])

        app.add_api_route(
            f"/api/v1/calibration-sets/{{qc}}/{{calibration_set_id}}/{name}",
            calibration_document,
            methods=["GET"],
            responses=_documented(model, 404),
            name=f"calibration_set_{name}",
        )

    calibration_document_route("dynamic-quantum-architecture", api_models.DynamicQuantumArchitecture)
    calibration_document_route("metrics", api_models.ObservationSet)

    @app.get("/api/v1/calibration-sets/{qc}/{calibration_set_id}/{document}", include_in_schema=False)
    async def unknown_calibration_document(qc: str, calibration_set_id: str, document: str) -> Response:
        check_quantum_computer(qc)
        check_calibration_set(calibration_set_id)
        raise _not_found(f"Not found: calibration set document '{limits.shorten(document)}'")

    submitted = _documented(api_models.JobData, 400, 404, 413, 415, 422)
    submitted[200]["links"] = {
        operation: {"operationId": operation, "parameters": {"job_id": "$response.body#/id"}}
        for operation in _JOB_OPERATIONS
    }

    @app.post(
        "/api/v1/jobs/{qc}/circuit",
        operation_id="submit_circuits",
        responses=submitted,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    JSON: {
                        "schema": {"$ref": "#/components/schemas/RunRequest"},
                        "example": _example_run_request(core.architecture),
                    }
                },
            }
        },
    )
    async def submit(
        request: Request,
        qc: str = qc_param,
        use_timeslot: bool = False,
        idempotency_key: Annotated[str | None, Header()] = None,
    ) -> Response:
        received_at = timestamp()
        core.counters["submissions"] += 1
        try:
            check_quantum_computer(qc)
            body = await read_json_body(request)
            key = idempotency_key or None
            digest = hashlib.sha256(body).hexdigest()
            record = jobs.replay(key, digest) if key is not None else None
            replayed = record is not None
            if record is None:
                prepared = await jobs.prepare(body)
                record, replayed = await jobs.submit(
                    prepared, quantum_computer=qc, received_at=received_at, idempotency_key=key, digest=digest
                )
        except RequestRejected as exc:
            core.counters["rejected_submissions"] += 1
            return _error(exc, IDEMPOTENCY_HEADERS)
        headers = dict(IDEMPOTENCY_HEADERS)
        if replayed:
            core.counters["idempotent_replays"] += 1
            headers["Idempotent-Replayed"] = "true"
        return _respond(jobs.job_data(record), headers=headers)

    @app.get("/api/v1/jobs/{job_id}", operation_id="get_job", responses=_documented(api_models.JobData, 404))
    async def job_status(job_id: str = job_param) -> Response:
        core.counters["status_requests"] += 1
        return _respond(jobs.job_data(find_job(job_id)))

    @app.post(
        "/api/v1/jobs/{job_id}/cancel",
        operation_id="cancel_job",
        responses=_documented(api_models.JobData, 404),
    )
    async def cancel(job_id: str = job_param) -> Response:
        record = find_job(job_id)
        await jobs.cancel(record)
        return _respond(jobs.job_data(record))

    deleted = _documented(None, 404)
    deleted[204] = deleted.pop(200) | {"description": "Deleted"}

    @app.delete("/api/v1/jobs/{job_id}", operation_id="delete_job", status_code=204, responses=deleted)
    async def delete(job_id: str = job_param) -> Response:
        await jobs.delete(find_job(job_id))
        return Response(status_code=204)

    @app.get(
        "/api/v1/jobs/{job_id}/payload",
        operation_id="get_job_payload",
        responses=_documented(api_models.RunRequest, 404),
    )
    async def payload(job_id: str = job_param) -> Response:
        return _respond(find_job(job_id).payload)

    def result_route(name: str, model: Any) -> None:
        async def job_artifact(job_id: str = job_param) -> Response:
            record = find_job(job_id)
            if record.status is not JobStatus.COMPLETED:
                raise RequestRejected(
                    f"Job {job_id} has no {name}: its status is '{record.status.value}', and results exist "
                    "only for completed jobs",
                    status_code=409,
                    error_code="job_not_completed",
                )
            content = record.measurements if name == "measurements" else record.measurement_counts
            assert content is not None
            return _respond(content)

        app.add_api_route(
            f"/api/v1/jobs/{{job_id}}/artifacts/{name}",
            job_artifact,
            methods=["GET"],
            responses=_documented(model, 404, 409),
            name=f"job_{name}",
            operation_id=f"get_job_{name}",
        )

    result_route("measurements", api_models.Measurements)
    result_route("measurement_counts", list[api_models.MeasurementCounts])

    @app.get("/api/v1/jobs/{job_id}/artifacts/{name}", include_in_schema=False)
    async def unknown_job_artifact(job_id: str, name: str) -> Response:
        find_job(job_id)
        raise _not_found(f"Job {job_id} has no artifact '{limits.shorten(name)}'")

    return app


async def read_json_body(request: Request) -> bytes:
    """The body of a submission, once its media type and size are known to be acceptable.

    A refused body is still read to its end (up to :data:`DRAIN_BYTES`, without keeping it), so that the
    client, busy sending it, receives the refusal instead of a reset connection.

    Raises:
        RequestRejected: not JSON (415), too large (413), or the client left (400).
    """
    try:
        limits.check_content_type(request.headers.get("content-type"))
    except RequestRejected:
        await _drain(request)
        raise
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limits.MAX_BODY_BYTES:
        if int(declared) <= DRAIN_BYTES:
            await _drain(request)
        raise limits.body_too_large(int(declared))
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limits.MAX_BODY_BYTES:
                chunks.clear()
                await _drain(request)
                raise limits.body_too_large()
            chunks.append(chunk)
    except ClientDisconnect:
        raise RequestRejected(
            "The client disconnected while sending", status_code=400, error_code="incomplete_body"
        ) from None
    return b"".join(chunks)


DRAIN_BYTES = 4 * limits.MAX_BODY_BYTES
"""Most bytes of a refused body read (and discarded) before answering; beyond, the connection is closed."""


async def _drain(request: Request) -> None:
    drained = 0
    with contextlib.suppress(ClientDisconnect, RuntimeError):  # RuntimeError: the stream was consumed
        async for chunk in request.stream():
            drained += len(chunk)
            if drained > DRAIN_BYTES:
                return


class GatewayMiddleware:
    """Counts requests and adds the configured latency before each one is handled.

    Args:
        app: the wrapped ASGI application.
        counters: the emulator's counters (``requests_served`` is incremented here).
        latency_s: delay added to every request.
    """

    def __init__(self, app: ASGIApp, counters: Counter[str], *, latency_s: float) -> None:
        self.app = app
        self.counters = counters
        self.latency_s = latency_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.counters["requests_served"] += 1
            if self.latency_s > 0:
                await asyncio.sleep(self.latency_s)
        await self.app(scope, receive, send)


class AuthMiddleware:
    """Requires ``Authorization: Bearer <token>`` on every request when a token is configured.

    Args:
        app: the wrapped ASGI application.
        token: the accepted token, or ``None`` to accept every request.
        counters: the emulator's counters (``unauthorized_requests`` is incremented here).
    """

    def __init__(self, app: ASGIApp, token: str | None, counters: Counter[str]) -> None:
        self.app = app
        self.expected = None if token is None else f"Bearer {token}".encode()
        self.counters = counters

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.expected is None or scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((value for name, value in scope["headers"] if name == b"authorization"), None)
        if given is not None and hmac.compare_digest(given, self.expected):
            await self.app(scope, receive, send)
            return
        self.counters["unauthorized_requests"] += 1
        reason = "Missing bearer token" if given is None else "Invalid bearer token"
        await send_error(send, 401, reason, "unauthorized", extra_headers=[(b"www-authenticate", b"Bearer")])
