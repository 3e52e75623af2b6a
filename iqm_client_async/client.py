"""``AsyncIQMClient``: the async client of the IQM Server REST API."""

from __future__ import annotations

import functools
import logging
import ssl
import uuid
import warnings
from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Self, TypeVar
from uuid import UUID

import anyio
import httpx
from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from ._arguments import (
    Submission,
    check_batch_arguments,
    check_calibration_set_id,
    check_client_arguments,
    check_job_id,
    check_run_request,
    check_submission,
    path_segment,
)
from ._channel_properties import decode_feedback_groups
from ._config import Settings, resolve_network_options, resolve_settings
from ._errors import (
    CircuitValidationError,
    ClientConfigurationError,
    IQMError,
    NotFoundError,
    ResponseDecodeError,
)
from ._http import HTTPClient, RetryKind
from ._job_poller import JobPoller
from ._job_services import JobServices
from ._poll_planning import JobShape
from ._sanitize import bearer_token, one_line, redact_bytes
from .batch import JobBatch
from .calibration import ObservationFinder
from .job import AsyncCircuitJob
from .models import (
    ChipTopology,
    Circuit,
    CircuitCompilationOptions,
    CircuitJobDefinition,
    CircuitMeasurementCounts,
    CircuitMeasurementResultsBatch,
    DutData,
    DynamicQuantumArchitecture,
    JobData,
    ListQuantumComputersResponse,
    ObservationSetWithObservations,
    PostJobsRequest,
    QuantumComputer,
    StaticQuantumArchitecture,
    serialize_run_request,
)
from .models.results import ExpectedMeasurements, check_measurement_counts, decode_measurement_results
from .validation import MeasurementWidths, validate_circuits_dynamic

__all__ = ["AsyncIQMClient"]

IDEMPOTENCY_PROBE_SECONDS = (
    10.0  # how long the first submission waits for /about to say whether keys are honoured
)
MAX_POLLS_PER_SECOND = 100.0  # the slowest polls of all waiting jobs together (or a tenth of the rate limit)

logger = logging.getLogger("iqm_client_async")

T = TypeVar("T")

_API = "/api/v1"
_JOB_DATA = TypeAdapter(JobData)
_DUTS = TypeAdapter(list[DutData])
_SQAS = TypeAdapter(list[StaticQuantumArchitecture])
_COUNTS = TypeAdapter(list[CircuitMeasurementCounts])
_JSON_OBJECT = TypeAdapter(dict[str, Any])
_QUANTUM_COMPUTERS = TypeAdapter(ListQuantumComputersResponse)
_OBSERVATION_SET = TypeAdapter(ObservationSetWithObservations)
_DQA = TypeAdapter(DynamicQuantumArchitecture)
_JSON_OBJECTS = TypeAdapter(list[dict[str, Any]])
_CIRCUIT_JOB = "circuit"


def _content(response: httpx.Response) -> bytes:
    """The body with the client's own token redacted, so that no text decoded from it can carry it."""
    return redact_bytes(response.content, bearer_token(response.request))


def _decode(adapter: TypeAdapter[T], response: httpx.Response) -> T:
    try:
        return adapter.validate_json(_content(response))
    except PydanticValidationError as exc:
        raise _decode_error(exc, response) from None


def _decode_error(exc: PydanticValidationError, response: httpx.Response) -> ResponseDecodeError:
    first = exc.errors(include_url=False, include_input=False)[0]
    where = "/".join(str(part) for part in first["loc"])
    return ResponseDecodeError(
        one_line(
            f"Unexpected response from {response.request.method} {response.request.url}: "
            f"{exc.error_count()} validation error(s), first at {where or 'the top level'}: {first['msg']}",
            500,
        )
    )


def _calset_path(calibration_set_id: UUID | None) -> str:
    return "default" if calibration_set_id is None else str(calibration_set_id)


def _refuse_executor_form(executor: object, storage: object) -> None:
    """iqm-client 36's ``IQMClient(executor=..., storage=...)`` is pulse-level machinery we do not implement."""
    if executor is not None or storage is not None:
        raise ClientConfigurationError(
            "IQMClient(executor=..., storage=...) is iqm-client 36's pulse-level construction, which this "
            "library does not implement. Use IQMClient.from_url(url, quantum_computer=..., token=...) "
            "or IQMClient(url, ...) instead."
        )


def _require_circuit_job(data: JobData) -> None:
    """Only circuit jobs have a tracker here; servers that do not send the job type only run circuit jobs."""
    if data.type not in (None, _CIRCUIT_JOB):
        raise IQMError(
            f"Job {data.id} is a {data.type!r} job; this library tracks circuit jobs only "
            "(pulse-level jobs need iqm-client 36's RunJobTracker).",
            error_code="unsupported_job_type",
        )


async def _fetch_server_about(client: AsyncIQMClient) -> dict[str, Any]:
    """``/api/v1/about``, or ``/about`` on servers older than that."""
    try:
        return _decode(_JSON_OBJECT, await client._http.request("GET", f"{_API}/about"))
    except NotFoundError:
        return _decode(_JSON_OBJECT, await client._http.request("GET", "/about"))


async def _fetch_about(client: AsyncIQMClient) -> dict[str, Any]:
    """The server's about document, plus the quantum computer's ``artifacts/about`` as ``about_station``."""
    about = dict(await client._once("server_about", functools.partial(_fetch_server_about, client)))
    # Left out when the computer publishes no station document, or none is selected.
    try:
        station = _decode(
            _JSON_OBJECT, await client._http.request("GET", await client._qc_path("artifacts/about"))
        )
    except (NotFoundError, ResponseDecodeError, ClientConfigurationError):
        return about
    versions = station.get("software_versions")
    about["about_station"] = {
        "version": station.get("version"),
        "software_versions": {
            name: version
            for name, version in (versions.items() if isinstance(versions, dict) else ())
            if name.startswith("iqm-")
        },
    }
    return about


class AsyncIQMClient:
    """Async client for running quantum circuits on an IQM quantum computer.

    Settings are resolved once, here: keyword > environment variable > default. Nothing is sent
    until the first request; the quantum computer is resolved then (or in ``__aenter__``).

    Args:
        iqm_server_url: IQM Server root URL (env ``IQM_SERVER_URL``).
        quantum_computer: alias of the quantum computer (env ``IQM_QUANTUM_COMPUTER``); may be
            omitted when the server has exactly one.
        token: bearer token (env ``IQM_TOKEN``).
        tokens_file: path of a tokens file with ``access_token`` (env ``IQM_TOKENS_FILE``), re-read
            when its token is about to expire.
        client_signature: appended to the User-Agent header.
        timeout: per-request timeout in seconds (env ``IQM_CLIENT_REQUESTS_TIMEOUT``, default 120).
        max_retries: retries of a failed request where retrying is safe (env ``IQM_CLIENT_MAX_RETRIES``, default 4).
        transport: any ``httpx.AsyncBaseTransport`` (``httpx.MockTransport``, ``httpx.ASGITransport``, ...).
        max_poll_interval: longest delay between two status requests of a job
            (env ``IQM_CLIENT_SECONDS_BETWEEN_CALLS``, default 5).
        architecture_ttl: how long the dynamic architecture of the default calibration set is reused
            (seconds, default 60; 0 refetches it for every submission like the reference).
        max_concurrent_requests: requests in flight at once (and connection pool size), default 32.
        requests_per_second: client-wide request rate limit, default none (requests in flight are capped;
            a 429 or Retry-After pauses the whole client).
        idempotent_submissions: whether the server honours ``Idempotency-Key`` (None: its ``/about``
            says so, asked once per client before the first submission; a failing ``/about`` counts
            as "no"). Only a server honouring keys gets a submission resent after an ambiguous failure.
        verify: TLS verification of the default transport: ``True`` (certifi's CA bundle), ``False``,
            a CA bundle file or directory, or an ``ssl.SSLContext`` (default: ``REQUESTS_CA_BUNDLE``,
            ``CURL_CA_BUNDLE``, ``SSL_CERT_FILE`` or ``SSL_CERT_DIR`` if set, else certifi). Proxies come
            from ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``ALL_PROXY`` / ``NO_PROXY``.
        executor: iqm-client 36's pulse-level construction (``executor=``, ``storage=``) is not
            supported: giving either raises ``ClientConfigurationError``. Use ``from_url`` or the URL.
        storage: see ``executor``.

    Raises:
        ClientConfigurationError: invalid URL or authentication settings (no network call is made), or
            ``executor`` / ``storage`` given.
    """

    def __init__(
        self,
        iqm_server_url: str | None = None,
        *,
        quantum_computer: str | None = None,
        token: str | None = None,
        tokens_file: str | None = None,
        client_signature: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        max_poll_interval: float | None = None,
        architecture_ttl: float | None = None,
        max_concurrent_requests: int | None = None,
        requests_per_second: float | None = None,
        idempotent_submissions: bool | None = None,
        verify: bool | str | ssl.SSLContext | None = None,
        executor: object = None,
        storage: object = None,
    ) -> None:
        _refuse_executor_form(executor, storage)
        check_client_arguments(transport, idempotent_submissions, verify)
        self._settings: Settings = resolve_settings(
            iqm_server_url,
            quantum_computer=quantum_computer,
            token=token,
            tokens_file=tokens_file,
            client_signature=client_signature,
            timeout=timeout,
            max_retries=max_retries,
            max_poll_interval=max_poll_interval,
            architecture_ttl=architecture_ttl,
            max_concurrent_requests=max_concurrent_requests,
            requests_per_second=requests_per_second,
        )
        self._http = HTTPClient(self._settings, network=resolve_network_options(verify), transport=transport)
        self._idempotent_submissions = idempotent_submissions
        self._quantum_computer: QuantumComputer | None = None
        self._cache: dict[str, Any] = {}
        self._locks: dict[str, anyio.Lock] = {}
        self._architectures: dict[UUID, DynamicQuantumArchitecture] = {}
        self._default_architecture: tuple[DynamicQuantumArchitecture, float] | None = None
        self._expected_measurements = ExpectedMeasurements()
        self._job_poller = JobPoller(
            self._fetch_job_data,
            max_interval=self._settings.max_poll_interval,
            max_polls_per_second=min(MAX_POLLS_PER_SECOND, self._settings.requests_per_second / 10),
        )
        self._job_services = JobServices(
            poller=self._job_poller,
            note_calibration_set=self._note_calibration_set,
            get_measurements=self.get_job_measurements,
            get_measurement_counts=self.get_job_measurement_counts,
            get_payload=self._get_submit_circuits_payload,
            cancel=self.cancel_job,
            submit_circuits=self.submit_circuits,
        )

    def __repr__(self) -> str:
        qc = self._quantum_computer.alias if self._quantum_computer else self._settings.quantum_computer
        return f"AsyncIQMClient({self._settings.root_url!r}, quantum_computer={qc!r})"

    # ----------------------------------------------------------------- lifecycle

    async def __aenter__(self) -> Self:
        try:
            await self._qc_alias()
        except BaseException:
            await self.aclose()
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool. The client cannot be used afterwards."""
        await self._http.aclose()

    @property
    def settings(self) -> Settings:
        """The resolved settings (the token is hidden from their repr)."""
        return self._settings

    # ----------------------------------------------------------------- helpers

    async def _once(self, key: str, factory: Callable[[], Awaitable[T]]) -> T:
        """Compute ``factory()`` once per client; concurrent callers share the first computation."""
        if key in self._cache:
            return self._cache[key]  # type: ignore[no-any-return]
        lock = self._locks.setdefault(key, anyio.Lock())
        async with lock:
            if key not in self._cache:
                self._cache[key] = await factory()
        return self._cache[key]  # type: ignore[no-any-return]

    async def _qc_alias(self) -> str:
        return (await self.resolve_quantum_computer()).alias

    async def _qc_path(self, suffix: str) -> str:
        return f"{_API}/quantum-computers/{path_segment(await self._qc_alias())}/{suffix}"

    async def _honours_idempotency(self) -> bool:
        if self._idempotent_submissions is not None:
            return self._idempotent_submissions

        async def ask() -> bool:
            # The server's own document only (a station document that fails must not decide this), and
            # within a bound: a hanging /about must not hold the first submission for its retries.
            with anyio.move_on_after(IDEMPOTENCY_PROBE_SECONDS):
                try:
                    about = await self._once("server_about", functools.partial(_fetch_server_about, self))
                except IQMError:
                    return False
                return about.get("idempotency_key_supported") is True
            logger.info(
                "/about did not answer within %s s: submissions are not resent", IDEMPOTENCY_PROBE_SECONDS
            )
            return False

        return await self._once("idempotency", ask)

    # ----------------------------------------------------------------- quantum computer

    async def get_quantum_computers(self) -> list[QuantumComputer]:
        """The quantum computers the server offers."""
        response = await self._http.request("GET", f"{_API}/quantum-computers")
        return _decode(_QUANTUM_COMPUTERS, response).quantum_computers

    async def resolve_quantum_computer(self) -> QuantumComputer:
        """Select the quantum computer (once): the configured alias, or the server's only one.

        Raises:
            ClientConfigurationError: the alias does not exist, or none was given and the server
                does not have exactly one.
        """
        if self._quantum_computer is not None:
            return self._quantum_computer

        async def resolve() -> QuantumComputer:
            computers = await self.get_quantum_computers()
            available = one_line(", ".join(qc.alias for qc in computers), 500)  # server text
            wanted = self._settings.quantum_computer
            if wanted is None:
                if len(computers) != 1:
                    raise ClientConfigurationError(
                        f"Quantum computer not selected. Available quantum computers are: {available}"
                    )
                return computers[0]
            for qc in computers:
                if qc.alias == wanted:
                    return qc
            raise ClientConfigurationError(
                f'Quantum computer "{one_line(wanted, 100)}" does not exist. '
                f"Available quantum computers are: {available}"
            )

        self._quantum_computer = await self._once("quantum_computer", resolve)
        return self._quantum_computer

    @property
    def quantum_computer_name(self) -> str:
        """Name of the quantum computer (its alias; its display name when the alias is ``default``).

        Raises:
            IQMError: the quantum computer has not been resolved yet (use ``async with`` or await
                ``get_quantum_computer_name()``).
        """
        if self._quantum_computer is None:
            raise IQMError(
                "The quantum computer is not resolved yet: use `async with AsyncIQMClient(...)` "
                "or `await client.get_quantum_computer_name()`."
            )
        qc = self._quantum_computer
        return qc.display_name if qc.alias == "default" else qc.alias

    async def get_quantum_computer_name(self) -> str:
        """Resolve the quantum computer if needed and return ``quantum_computer_name``."""
        await self.resolve_quantum_computer()
        return self.quantum_computer_name

    # ----------------------------------------------------------------- server information

    async def get_health(self) -> dict[str, Any]:
        """Health status of the quantum computer."""
        return _decode(_JSON_OBJECT, await self._http.request("GET", await self._qc_path("health")))

    async def get_about(self) -> dict[str, Any]:
        """Information about the IQM Server (cached for the client's lifetime).

        Read from ``/api/v1/about`` (``/about`` on servers older than that). When the quantum computer
        publishes its own ``artifacts/about``, its version and ``iqm-*`` software versions are added
        under ``about_station``, as iqm-client 36 does.
        """
        return await self._once("about", functools.partial(_fetch_about, self))

    async def _get_dut_label(self) -> str:
        """The label of the quantum computer's single chip (cached).

        Raises:
            IQMError: the server lists other than exactly one DUT.
        """

        async def fetch() -> str:
            duts = _decode(_DUTS, await self._http.request("GET", await self._qc_path("artifacts/duts")))
            if len(duts) != 1:
                raise IQMError(f"Expected exactly 1 DUT, but got {len(duts)}.")
            return duts[0].label

        return await self._once("dut_label", fetch)

    async def get_static_quantum_architecture(self) -> StaticQuantumArchitecture:
        """The static quantum architecture: qubits, resonators, connectivity (cached)."""

        async def fetch() -> StaticQuantumArchitecture:
            await self._get_dut_label()
            path = await self._qc_path("artifacts/static-quantum-architectures")
            architectures = _decode(_SQAS, await self._http.request("GET", path))
            if not architectures:
                raise ResponseDecodeError(f"GET {path} returned no static quantum architecture.")
            return architectures[0]

        return await self._once("static_architecture", fetch)

    async def get_feedback_groups(self) -> tuple[frozenset[str], ...]:
        """Groups of qubits that can receive real-time feedback from each other (largest first).

        Decoded from the channel-properties protobuf artifact; one group means no routing restriction.
        """

        async def fetch() -> bytes:
            path = await self._qc_path("artifacts/channel-properties")
            response = await self._http.request("GET", path, headers={"Accept": "application/protobuf"})
            return response.content

        data = await self._once("channel_properties", fetch)
        qubits = (await self.get_static_quantum_architecture()).qubits
        return decode_feedback_groups(data, qubits)

    # ----------------------------------------------------------------- calibration

    async def get_calibration_set(
        self, calibration_set_id: UUID | None = None
    ) -> ObservationSetWithObservations:
        """A calibration set (the current default one when ``calibration_set_id`` is None)."""
        calibration_set_id = check_calibration_set_id(calibration_set_id)
        path = f"{_API}/calibration-sets/{path_segment(await self._qc_alias())}/{_calset_path(calibration_set_id)}"
        return _decode(_OBSERVATION_SET, await self._http.request("GET", path))

    async def get_quality_metric_set(
        self, calibration_set_id: UUID | None = None
    ) -> ObservationSetWithObservations:
        """The quality metrics of a calibration set (the current default one when None)."""
        calibration_set_id = check_calibration_set_id(calibration_set_id)
        alias = path_segment(await self._qc_alias())
        path = f"{_API}/calibration-sets/{alias}/{_calset_path(calibration_set_id)}/metrics"
        return _decode(_OBSERVATION_SET, await self._http.request("GET", path))

    async def get_calibration_quality_metrics(
        self, calibration_set_id: UUID | None = None
    ) -> ObservationFinder:
        """Calibration set and quality metrics in a searchable ``ObservationFinder`` (experimental API)."""
        calibration_set_id = check_calibration_set_id(calibration_set_id)
        logger.warning(
            "get_calibration_quality_metrics is an experimental method; its API may change "
            "without backwards compatibility."
        )
        return await self._get_calibration_quality_metrics(calibration_set_id)

    async def _get_calibration_quality_metrics(
        self, calibration_set_id: UUID | None = None
    ) -> ObservationFinder:
        """See ``get_calibration_quality_metrics`` (no warning); both documents are fetched concurrently."""
        results: dict[str, ObservationSetWithObservations] = {}

        async def fetch(
            name: str, getter: Callable[[UUID | None], Awaitable[ObservationSetWithObservations]]
        ) -> None:
            results[name] = await getter(calibration_set_id)

        async with anyio.create_task_group() as tg:
            tg.start_soon(fetch, "calibration", self.get_calibration_set)
            tg.start_soon(fetch, "metrics", self.get_quality_metric_set)
        return ObservationFinder([*results["calibration"].observations, *results["metrics"].observations])

    async def get_dynamic_quantum_architecture(
        self, calibration_set_id: UUID | None = None
    ) -> DynamicQuantumArchitecture:
        """The dynamic quantum architecture (calibrated gates and loci) of a calibration set.

        Cached per calibration set id. For the default calibration set (``None``) the answer is
        reused for ``architecture_ttl`` seconds, and dropped as soon as a job reports that the server
        used a different calibration set.
        """
        calibration_set_id = check_calibration_set_id(calibration_set_id)
        if calibration_set_id is not None:
            if calibration_set_id in self._architectures:
                return self._architectures[calibration_set_id]
        elif self._default_architecture is not None:
            architecture, fetched_at = self._default_architecture
            if anyio.current_time() - fetched_at < self._settings.architecture_ttl:
                return architecture
        lock = self._locks.setdefault(f"dqa:{calibration_set_id}", anyio.Lock())
        async with lock:
            if calibration_set_id is not None and calibration_set_id in self._architectures:
                return self._architectures[calibration_set_id]
            if calibration_set_id is None and self._default_architecture is not None:
                architecture, fetched_at = self._default_architecture
                if anyio.current_time() - fetched_at < self._settings.architecture_ttl:
                    return architecture
            path = (
                f"{_API}/calibration-sets/{path_segment(await self._qc_alias())}/"
                f"{_calset_path(calibration_set_id)}/dynamic-quantum-architecture"
            )
            architecture = _decode(_DQA, await self._http.request("GET", path))
            self._architectures[architecture.calibration_set_id] = architecture
            if calibration_set_id is None:
                self._default_architecture = (architecture, anyio.current_time())
            return architecture

    def _note_calibration_set(self, used: UUID | None) -> None:
        """Drop the cached default architecture if the server just used another calibration set."""
        cached = self._default_architecture
        if used is not None and cached is not None and cached[0].calibration_set_id != used:
            logger.info("Default calibration set changed to %s; refetching its architecture next time", used)
            self._default_architecture = None

    # ----------------------------------------------------------------- submission

    async def create_run_request(
        self,
        circuits: Sequence[Circuit | str],
        *,
        qubit_mapping: Mapping[str, str] | None = None,
        calibration_set_id: UUID | None = None,
        shots: int = 1,
        options: CircuitCompilationOptions | None = None,
    ) -> PostJobsRequest:
        """Validate circuits and build the request ``submit_circuits`` would send, without sending it.

        Static checks run before any network call; the checks against the dynamic architecture
        need it (cached, see ``get_dynamic_quantum_architecture``).

        Raises:
            ValueError: ``shots`` < 1.
            CircuitValidationError: a circuit or another argument is invalid; the message names the
                argument (circuit, instruction) and the problem.
        """
        return await _build_run_request(
            self,
            check_submission(
                circuits,
                qubit_mapping=qubit_mapping,
                calibration_set_id=calibration_set_id,
                shots=shots,
                options=options,
            ),
        )

    async def submit_circuits(
        self,
        circuits: Sequence[Circuit | str],
        *,
        qubit_mapping: Mapping[str, str] | None = None,
        calibration_set_id: UUID | None = None,
        shots: int = 1,
        options: CircuitCompilationOptions | None = None,
        use_timeslot: bool = False,
    ) -> AsyncCircuitJob:
        """Validate and submit a batch of circuits; return the job.

        Args:
            circuits: circuits to run (``Circuit`` objects, or QIR strings passed through).
            qubit_mapping: logical -> physical qubit names, for all circuits; None if they use physical names.
            calibration_set_id: calibration set to use; None for the server's current default.
            shots: repetitions of every circuit, >= 1.
            options: compilation options.
            use_timeslot: submit to the timeslot queue instead of the shared queue.

        Raises:
            ValueError: ``shots`` < 1.
            CircuitValidationError: before any request, for invalid circuits or arguments.
            SubmissionOutcomeUnknownError: the submission failed after it may have reached the server.
            APIStatusError: the server refused the job.
        """
        submission = check_submission(
            circuits,
            qubit_mapping=qubit_mapping,
            calibration_set_id=calibration_set_id,
            shots=shots,
            options=options,
            use_timeslot=use_timeslot,
        )
        request = await _build_run_request(self, submission)
        return await _post_run_request(self, request, use_timeslot, submission.measurement_keys)

    async def submit_run_request(
        self, run_request: PostJobsRequest, use_timeslot: bool = False
    ) -> AsyncCircuitJob:
        """Submit a prepared run request (see ``create_run_request``); return the job.

        Every submission carries a fresh ``Idempotency-Key``; see the retry rules in the README.

        Raises:
            ValueError: ``run_request.shots`` < 1.
            CircuitValidationError: before any request, for an invalid request or ``use_timeslot``.
        """
        request, measurement_keys = check_run_request(run_request, use_timeslot)
        return await _post_run_request(self, request, use_timeslot, measurement_keys)

    def batch(
        self,
        *,
        timeout: float | None = None,
        progress: bool | None = None,
        max_concurrent_submissions: int = 24,
    ) -> JobBatch:
        """A scope for many jobs: results as each completes, one deadline, cleanup on error.

        Use ``async with client.batch(timeout=600) as batch:``, then ``await batch.submit(...)`` and
        ``async for outcome in batch.as_completed(): ...``. On error, timeout or cancellation the
        batch's unfinished jobs are cancelled on the server (``batch.detach()`` keeps them running).

        Args:
            timeout: deadline in seconds for the whole batch (None: no deadline).
            progress: tqdm progress bar; None shows it only when interactive and tqdm is installed.
            max_concurrent_submissions: submissions in flight at once.
        """
        check_batch_arguments(timeout, progress, max_concurrent_submissions)
        return JobBatch(
            self._job_services,
            timeout=timeout,
            progress=progress,
            max_concurrent_submissions=max_concurrent_submissions,
        )

    # ----------------------------------------------------------------- jobs

    async def get_job_data(self, job_id: UUID) -> JobData:
        """The job's current status document (no warnings emitted)."""
        return await self._fetch_job_data(check_job_id(job_id))

    async def _fetch_job_data(self, job_id: UUID, *, background: bool = False) -> JobData:
        response = await self._http.request("GET", f"{_API}/jobs/{job_id}", background=background)
        return _decode(_JOB_DATA, response)

    async def get_job(self, job_id: UUID) -> AsyncCircuitJob:
        """A job object for an existing job (e.g. one submitted in another session).

        Job messages and errors are emitted as ``UserWarning``\\ s, as in the reference client.

        Raises:
            IQMError: the job is not a circuit job (e.g. a pulse-level ``run`` job).
        """
        job_id = check_job_id(job_id)
        data = await self.get_job_data(job_id)
        _require_circuit_job(data)
        for message in data.messages:
            warnings.warn(f"{message.source}: {message.message}", stacklevel=2)
        for error in data.errors:
            warnings.warn(f"{error.source}: {error.error_code}: {error.message}", stacklevel=2)
        return AsyncCircuitJob(data, self._job_services)

    async def cancel_job(self, job_id: UUID) -> None:
        """Cancel a job: a waiting job never runs, a running one is interrupted, a finished one is unchanged."""
        job_id = check_job_id(job_id)
        await self._http.request("POST", f"{_API}/jobs/{job_id}/cancel")

    async def delete_job(self, job_id: UUID) -> None:
        """Cancel a job and remove it from the server. There is no way to recover a deleted job."""
        job_id = check_job_id(job_id)
        await self._http.request("DELETE", f"{_API}/jobs/{job_id}")

    async def get_job_measurements(self, job_id: UUID) -> CircuitMeasurementResultsBatch:
        """Per-circuit measurement results: ``{key: [[bit per locus qubit] per shot]}``.

        Raises:
            ResponseDecodeError: the results are malformed (a value other than 0/1, rows of a key of
                different lengths or not as long as the key's locus, keys with different shot counts).
        """
        job_id = check_job_id(job_id)
        response = await self._http.request("GET", f"{_API}/jobs/{job_id}/artifacts/measurements")
        return decode_measurement_results(
            _content(response), job_id=job_id, expected=self._expected_measurements.get(job_id)
        )

    async def get_job_measurement_counts(self, job_id: UUID) -> list[CircuitMeasurementCounts]:
        """Per-circuit measurement histograms."""
        job_id = check_job_id(job_id)
        response = await self._http.request("GET", f"{_API}/jobs/{job_id}/artifacts/measurement_counts")
        counts = _decode(_COUNTS, response)
        check_measurement_counts(counts, job_id=job_id)
        return counts

    async def _get_submit_circuits_payload(self, job_id: UUID) -> PostJobsRequest:
        """The request that created a circuit job, as the server stored it."""
        job_id = check_job_id(job_id)
        response = await self._http.request("GET", f"{_API}/jobs/{job_id}/payload")
        try:
            return PostJobsRequest.from_payload_json(_content(response))
        except PydanticValidationError as exc:
            raise _decode_error(exc, response) from None

    # ----------------------------------------------------------------- iqm-client 36 vocabulary

    @classmethod
    def from_url(
        cls,
        iqm_server_url: str | None = None,
        *,
        quantum_computer: str | None = None,
        token: str | None = None,
        tokens_file: str | None = None,
        client_signature: str | None = None,
    ) -> Self:
        """A client for an IQM Server URL: iqm-client 36's constructor, same as ``cls(iqm_server_url, ...)``.

        Raises:
            ClientConfigurationError: invalid URL or authentication settings (no network call is made).
        """
        return cls(
            iqm_server_url,
            quantum_computer=quantum_computer,
            token=token,
            tokens_file=tokens_file,
            client_signature=client_signature,
        )

    create_circuit_job_definition = create_run_request
    """iqm-client 36's name for ``create_run_request`` (same arguments; the definition is the run request)."""

    async def submit_circuit_job(
        self, circuit_job_definition: CircuitJobDefinition, *, use_timeslot: bool = False
    ) -> AsyncCircuitJob:
        """iqm-client 36's name for ``submit_run_request``: submit a job definition; return the job.

        The job's ``payload()`` is this definition, without a request.
        """
        return await self.submit_run_request(circuit_job_definition, use_timeslot=use_timeslot)

    async def get_chip_design_record(self) -> dict[str, Any]:
        """The chip design record of the quantum computer's chip (``artifacts/chip-design-records``; cached).

        Raises:
            ResponseDecodeError: the server lists no record.
        """

        async def fetch() -> dict[str, Any]:
            path = await self._qc_path("artifacts/chip-design-records")
            records = _decode(_JSON_OBJECTS, await self._http.request("GET", path))
            if not records:
                raise ResponseDecodeError(
                    f"The server lists no chip design record for {await self._qc_alias()}."
                )
            return records[0]

        return await self._once("chip_design_record", fetch)

    async def get_chip_label(self) -> str:
        """Label of the quantum computer's chip, from its chip design record (cached)."""
        return (await self.get_chip_topology()).chip_label

    async def get_chip_topology(self) -> ChipTopology:
        """Qubits, computational resonators, couplers and probe lines of the chip (cached).

        Read from the chip design record; a small model of this library's own (iqm-client 36 returns
        the pulse-level stack's ``ChipTopology``; the common attributes have the same names).
        """

        async def build() -> ChipTopology:
            return ChipTopology.from_chip_design_record(await self.get_chip_design_record())

        return await self._once("chip_topology", build)

    async def get_proxy_path(self) -> str:
        """Path prefix of the quantum computer's station proxy (sent without ``/api/v1``), as iqm-client 36 resolves it.

        The quantum computer's ``proxy_path``; on servers older than that field, ``station`` when the
        server has one quantum computer, else ``station/{alias}``.

        Raises:
            ClientConfigurationError: the server offers no proxy for this quantum computer (``proxy_path`` null).
        """
        qc = await self.resolve_quantum_computer()
        if "proxy_path" not in qc.model_fields_set:
            count = len(await self._once("quantum_computers", self.get_quantum_computers))
            return "station" if count == 1 else f"station/{qc.alias}"
        if qc.proxy_path is None:
            raise ClientConfigurationError(
                f"No station proxy path is available for quantum computer '{qc.alias}': the server does not "
                "proxy it for this user (missing permissions, or the feature is disabled)."
            )
        return qc.proxy_path


async def _build_run_request(client: AsyncIQMClient, submission: Submission) -> PostJobsRequest:
    """The run request of checked arguments, after the checks against the dynamic architecture."""
    options = submission.options
    architecture = await client.get_dynamic_quantum_architecture(submission.calibration_set_id)
    validate_circuits_dynamic(
        submission.circuits, architecture, submission.qubit_mapping, options.move_gate_validation
    )
    try:
        return PostJobsRequest.from_validated(
            submission.circuits,
            qubit_mapping=submission.qubit_mapping,
            calibration_set_id=submission.calibration_set_id,
            shots=submission.shots,
            options=options,
        )
    except PydanticValidationError as exc:
        raise CircuitValidationError(
            f"Invalid run request: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}",
            error_code="invalid_run_request",
        ) from None


async def _post_run_request(
    client: AsyncIQMClient,
    run_request: PostJobsRequest,
    use_timeslot: bool,
    measurement_keys: list[MeasurementWidths | None],
) -> AsyncCircuitJob:
    """POST a checked run request; remember its measurement shapes to check the results against."""
    content = serialize_run_request(run_request)
    if client.settings.debug:
        print(f"\nIQM CLIENT DEBUGGING ENABLED\nSUBMITTING RUN REQUEST:\n{run_request!r}\n")
    path = f"{_API}/jobs/{path_segment(await client._qc_alias())}/circuit"
    honoured = await client._honours_idempotency()
    response = await client._http.request(
        "POST",
        path,
        retry=RetryKind.SUBMIT_WITH_KEY if honoured else RetryKind.SUBMIT,
        params={"use_timeslot": "true" if use_timeslot else "false"},
        content=content,
        headers={"Content-Type": "application/json; charset=UTF-8", "Idempotency-Key": str(uuid.uuid4())},
    )
    job = AsyncCircuitJob(
        _decode(_JOB_DATA, response),
        client._job_services,
        uses_default_calibration=run_request.calibration_set_id is None,
        definition=run_request,
        shape=JobShape.of(run_request.circuits, run_request.shots),
    )
    client._expected_measurements.remember(job.job_id, run_request.circuits, measurement_keys)
    return job
