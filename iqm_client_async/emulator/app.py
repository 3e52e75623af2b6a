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
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from iqm_client_async._channel_properties import encode_channel_properties
from iqm_client_async.emulator._asgi import ASGIApp, Receive, Scope, Send, error_body, send_error
from iqm_client_async.emulator.faults import FaultInjectionMiddleware, FaultInjector
from iqm_client_async.emulator.jobs import JobManager, timestamp
from iqm_client_async.emulator.presets import load_preset
from iqm_client_async.emulator.settings import EmulatorConfigurationError, EmulatorSettings
from iqm_client_async.emulator.simulator import sampling_policy
from iqm_client_async.emulator.store import JobRecord, JobStatus, JobStore
from iqm_client_async.emulator.submission import Architecture, RequestRejected

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


def create_routes(core: EmulatorCore) -> FastAPI:
    """The FastAPI application with every route of the emulated IQM Server (no middleware)."""
    app = FastAPI(title="IQM Server emulator", docs_url=None, redoc_url=None, openapi_url=None)
    preset = core.preset
    documents = core.documents
    jobs = core.jobs

    @app.exception_handler(RequestRejected)
    async def rejected(request: Request, exc: RequestRejected) -> Response:
        return _error(exc)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            message = f"Not found: {request.method} {request.url.path}"
        else:
            message = f"{exc.detail}: {request.method} {request.url.path}"
        return _respond(error_body(message, f"http_{exc.status_code}"), status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}" for error in exc.errors()
        )
        return _respond(error_body(f"Invalid request: {problems}", "validation_error"), status_code=422)

    def check_quantum_computer(alias: str) -> None:
        if alias != preset.name:
            raise _not_found(
                f"Quantum computer '{alias}' not found; available quantum computers: {preset.name}"
            )

    def check_calibration_set(calibration_set_id: str) -> None:
        if calibration_set_id == "default":
            return
        try:
            if str(uuid.UUID(calibration_set_id)) == preset.calibration_set_id:
                return
        except ValueError:
            pass
        raise _not_found(f"Calibration set '{calibration_set_id}' not found")

    def find_job(job_id: str) -> JobRecord:
        record = jobs.get(job_id)
        if record is None:  # ids are stored in canonical form; accept other spellings of a UUID
            with contextlib.suppress(ValueError):
                record = jobs.get(str(uuid.UUID(job_id)))
        if record is None:
            raise _not_found(f"Job {job_id} not found")
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

    app.add_api_route("/about", about, methods=["GET"])
    app.add_api_route("/api/v1/about", about, methods=["GET"])

    @app.get("/api/v1/quantum-computers")
    async def quantum_computers() -> Response:
        return _respond(documents["quantum-computers"])

    @app.get("/api/v1/quantum-computers/{qc}/health")
    async def health(qc: str) -> Response:
        check_quantum_computer(qc)
        document = {
            "status": "healthy",
            "quantum_computer": preset.name,
            "jobs_waiting": jobs.queue_length(),
            "jobs_running": jobs.running_jobs(),
        }
        return _respond(_json(document))

    @app.get("/api/v1/quantum-computers/{qc}/artifacts/{artifact}")
    async def artifact(qc: str, artifact: str) -> Response:
        check_quantum_computer(qc)
        content = documents.get(f"artifacts/{artifact}")
        if content is None:
            raise _not_found(f"Artifact '{artifact}' not found for quantum computer '{qc}'")
        if artifact == "channel-properties":
            return Response(content, media_type=PROTOBUF)
        return _respond(content)

    @app.get("/api/v1/calibration-sets/{qc}/{calibration_set_id}")
    async def calibration_set(qc: str, calibration_set_id: str) -> Response:
        check_quantum_computer(qc)
        check_calibration_set(calibration_set_id)
        return _respond(documents["calibration-set"])

    @app.get("/api/v1/calibration-sets/{qc}/{calibration_set_id}/{document}")
    async def calibration_document(qc: str, calibration_set_id: str, document: str) -> Response:
        check_quantum_computer(qc)
        check_calibration_set(calibration_set_id)
        if document not in ("dynamic-quantum-architecture", "metrics"):
            raise _not_found(f"Not found: calibration set document '{document}'")
        return _respond(documents[document])

    @app.post("/api/v1/jobs/{qc}/circuit")
    async def submit(qc: str, request: Request, use_timeslot: bool = False) -> Response:
        received_at = timestamp()
        core.counters["submissions"] += 1
        try:
            check_quantum_computer(qc)
            body = await request.body()
            key = request.headers.get("idempotency-key") or None
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

    @app.get("/api/v1/jobs/{job_id}")
    async def job_status(job_id: str) -> Response:
        core.counters["status_requests"] += 1
        return _respond(jobs.job_data(find_job(job_id)))

    @app.post("/api/v1/jobs/{job_id}/cancel")
    async def cancel(job_id: str) -> Response:
        record = find_job(job_id)
        await jobs.cancel(record)
        return _respond(jobs.job_data(record))

    @app.delete("/api/v1/jobs/{job_id}")
    async def delete(job_id: str) -> Response:
        await jobs.delete(find_job(job_id))
        return Response(status_code=204)

    @app.get("/api/v1/jobs/{job_id}/payload")
    async def payload(job_id: str) -> Response:
        return _respond(find_job(job_id).payload)

    @app.get("/api/v1/jobs/{job_id}/artifacts/{name}")
    async def job_artifact(job_id: str, name: str) -> Response:
        record = find_job(job_id)
        if name not in ("measurements", "measurement_counts"):
            raise _not_found(f"Job {job_id} has no artifact '{name}'")
        if record.status is not JobStatus.COMPLETED:
            raise RequestRejected(
                f"Job {job_id} has no {name}: its status is '{record.status.value}', and results exist only "
                "for completed jobs",
                status_code=409,
                error_code="job_not_completed",
            )
        content = record.measurements if name == "measurements" else record.measurement_counts
        assert content is not None
        return _respond(content)

    return app


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
