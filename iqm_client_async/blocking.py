"""``IQMClient`` and ``CircuitJob``: the blocking facade over ``AsyncIQMClient``.

Each facade owns one anyio blocking portal (an event loop in a daemon thread), entered once; the
``AsyncIQMClient`` is built and lives inside it. Every method is one delegating line that runs the
async method in the portal and waits for it, so sync scripts, threads and notebooks share one code
path with asyncio services.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
import threading
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, ParamSpec, Self, TypeVar, Unpack
from uuid import UUID

import anyio.from_thread
import httpx

from ._errors import IQMError
from .batch import BatchProgress, JobBatch, JobOutcome, SubmitOptions
from .calibration import ObservationFinder
from .client import AsyncIQMClient
from .job import DEFAULT_TIMEOUT_SECONDS, AsyncCircuitJob, ProgressCallback
from .models import (
    ChipTopology,
    Circuit,
    CircuitCompilationOptions,
    CircuitJobDefinition,
    CircuitJobPayload,
    CircuitMeasurementCounts,
    CircuitMeasurementResultsBatch,
    DynamicQuantumArchitecture,
    JobData,
    JobStatus,
    ObservationSetWithObservations,
    PostJobsRequest,
    QuantumComputer,
    StaticQuantumArchitecture,
    TimelineEntry,
)

__all__ = ["BlockingJobBatch", "CircuitJob", "CircuitJobTracker", "IQMClient"]

P = ParamSpec("P")
T = TypeVar("T")

_WAKE_INTERVAL = 0.2  # how often a blocked caller wakes up so that Ctrl-C is handled promptly


class _Portal:
    """An anyio blocking portal (an asyncio loop in a daemon thread) with the checks the facade needs."""

    def __init__(self) -> None:
        self._context = anyio.from_thread.start_blocking_portal(backend="asyncio")
        self._portal = self._context.__enter__()
        self._loop: asyncio.AbstractEventLoop = self._portal.call(_running_loop)
        self._pid = os.getpid()
        self._thread_id = self._portal.call(threading.get_ident)
        self._closed = False

    def run(self, func: Callable[P, Awaitable[T]], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``func`` in the portal's event loop and wait for its result.

        Ctrl-C while waiting cancels the coroutine, waits for it to unwind, and re-raises
        ``KeyboardInterrupt``.

        Raises:
            IQMError: the client is closed, used after ``os.fork()``, or called from its own event loop.
        """
        if self._closed:
            raise IQMError("This IQMClient is closed.")
        if os.getpid() != self._pid:
            raise IQMError(
                "This IQMClient was created in another process (before os.fork()); its event-loop "
                "thread does not exist here. Create a new IQMClient in this process."
            )
        if threading.get_ident() == self._thread_id:
            raise IQMError(
                "IQMClient was called from its own event-loop thread (e.g. from inside a coroutine the "
                "client is running). Use the AsyncIQMClient methods there instead."
            )
        finished = threading.Event()

        async def guarded() -> T:
            try:
                return await func(*args, **kwargs)
            finally:
                finished.set()

        # Plain run_coroutine_threadsafe: a third of the latency of portal.start_task_soon.
        future = asyncio.run_coroutine_threadsafe(guarded(), self._loop)
        try:
            while True:
                try:
                    return future.result(timeout=_WAKE_INTERVAL)
                except TimeoutError:
                    if future.done():
                        raise  # the coroutine itself raised TimeoutError
        except KeyboardInterrupt:
            future.cancel()
            finished.wait(5.0)
            raise

    def wrap_async_context_manager(
        self, cm: contextlib.AbstractAsyncContextManager[T]
    ) -> contextlib.AbstractContextManager[T]:
        """Enter and exit an async context manager in the portal's event loop."""
        return self._portal.wrap_async_context_manager(cm)

    def iterate(self, iterator: AsyncIterator[T]) -> Iterator[T]:
        """Drive an async iterator from this thread, one item per call into the event loop."""
        try:
            while True:
                try:
                    yield self.run(iterator.__anext__)
                except StopAsyncIteration:
                    return
        finally:
            aclose = getattr(iterator, "aclose", None)
            if aclose is not None:
                self.run(aclose)

    def close(self) -> None:
        """Stop the event-loop thread (idempotent)."""
        if not self._closed and os.getpid() == self._pid:
            self._closed = True
            self._context.__exit__(None, None, None)


async def _build_client(*args: Any, **kwargs: Any) -> AsyncIQMClient:
    # Built inside the portal's event loop: the httpx pool belongs to that loop.
    return AsyncIQMClient(*args, **kwargs)


async def _call_soon(batch: JobBatch, circuits: Sequence[Circuit | str], options: SubmitOptions) -> int:
    return batch.submit_soon(circuits, **options)


async def _running_loop() -> asyncio.AbstractEventLoop:
    return asyncio.get_running_loop()


def _shutdown(portal: _Portal, client: AsyncIQMClient) -> None:
    with contextlib.suppress(Exception):
        portal.run(client.aclose)
    portal.close()


def _doc(source: Callable[..., Any]) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """Give a facade method the docstring of the async method it delegates to."""

    def decorate(func: Callable[P, T]) -> Callable[P, T]:
        func.__doc__ = source.__doc__
        return func

    return decorate


class CircuitJob:
    """Blocking twin of ``AsyncCircuitJob``: same attributes and methods, each delegating to it."""

    def __init__(self, job: AsyncCircuitJob, portal: _Portal) -> None:
        self._job = job
        self._portal = portal

    def __repr__(self) -> str:
        return f"CircuitJob(job_id={self.job_id!s}, status={self.status.value!r})"

    @property
    def async_job(self) -> AsyncCircuitJob:
        """The underlying ``AsyncCircuitJob``."""
        return self._job

    @property
    def data(self) -> JobData:
        """The last status document seen."""
        return self._job.data

    @property
    def job_id(self) -> UUID:
        """The job's id."""
        return self._job.job_id

    @property
    def status(self) -> JobStatus:
        """The last status seen (call ``update()`` for the current one)."""
        return self._job.status

    @_doc(AsyncCircuitJob.update)
    def update(self) -> JobStatus:
        return self._portal.run(self._job.update)

    @property
    def job_data(self) -> JobData:
        """The last status document seen (iqm-client 36's name for ``data``)."""
        return self._job.job_data

    @property
    def errors(self) -> str:
        """The job's errors, one per line (empty when there are none)."""
        return self._job.errors

    @_doc(AsyncCircuitJob.wait_for_completion)
    def wait_for_completion(
        self,
        *,
        timeout_secs: float = DEFAULT_TIMEOUT_SECONDS,
        polling_interval: float | None = None,
        progress_callback: ProgressCallback | None = None,
    ) -> JobStatus:
        return self._portal.run(
            self._job.wait_for_completion,
            timeout_secs=timeout_secs,
            polling_interval=polling_interval,
            progress_callback=progress_callback,
        )

    @_doc(AsyncCircuitJob.result)
    def result(self) -> CircuitMeasurementResultsBatch | None:
        return self._portal.run(self._job.result)

    @_doc(AsyncCircuitJob.result_counts)
    def result_counts(self) -> list[CircuitMeasurementCounts] | None:
        return self._portal.run(self._job.result_counts)

    @_doc(AsyncCircuitJob.result_or_raise)
    def result_or_raise(
        self, *, timeout_secs: float = DEFAULT_TIMEOUT_SECONDS
    ) -> CircuitMeasurementResultsBatch:
        return self._portal.run(self._job.result_or_raise, timeout_secs=timeout_secs)

    @_doc(AsyncCircuitJob.payload)
    def payload(self) -> CircuitJobPayload:
        return self._portal.run(self._job.payload)

    @_doc(AsyncCircuitJob.cancel)
    def cancel(self) -> None:
        self._portal.run(self._job.cancel)

    @_doc(AsyncCircuitJob.find_timeline_entry)
    def find_timeline_entry(self, status: str, source: str | None = None) -> TimelineEntry | None:
        return self._job.find_timeline_entry(status, source)


CircuitJobTracker = CircuitJob
"""iqm-client 36's name for the job object ``submit_circuits`` and ``get_job`` return."""


class BlockingJobBatch:
    """Blocking twin of ``JobBatch``: use ``with client.batch(...) as batch:``; each method delegates."""

    def __init__(self, batch: JobBatch, portal: _Portal) -> None:
        self._batch = batch
        self._portal = portal
        self._context: contextlib.AbstractContextManager[JobBatch] | None = None

    def __enter__(self) -> Self:
        self._context = self._portal.wrap_async_context_manager(self._batch)
        self._context.__enter__()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        assert self._context is not None
        return self._context.__exit__(exc_type, exc, tb)

    @property
    def jobs(self) -> list[CircuitJob]:
        """The jobs submitted so far, in submission order."""
        return [CircuitJob(job, self._portal) for job in self._batch.jobs]

    @_doc(JobBatch.progress)
    def progress(self) -> BatchProgress:
        return self._batch.progress()

    @_doc(JobBatch.detach)
    def detach(self) -> None:
        self._batch.detach()

    @_doc(JobBatch.submit)
    def submit(self, circuits: Sequence[Circuit | str], **options: Unpack[SubmitOptions]) -> CircuitJob:
        return CircuitJob(self._portal.run(self._batch.submit, circuits, **options), self._portal)

    @_doc(JobBatch.submit_soon)
    def submit_soon(self, circuits: Sequence[Circuit | str], **options: Unpack[SubmitOptions]) -> int:
        return self._portal.run(_call_soon, self._batch, circuits, options)

    @_doc(JobBatch.as_completed)
    def as_completed(self) -> Iterator[JobOutcome]:
        return self._portal.iterate(self._batch.as_completed())

    @_doc(JobBatch.progress_events)
    def progress_events(self) -> Iterator[BatchProgress]:
        return self._portal.iterate(self._batch.progress_events())


class IQMClient:
    """Blocking client for IQM quantum computers: ``AsyncIQMClient`` run through an anyio portal.

    Takes the same arguments as ``AsyncIQMClient`` and offers the same methods, blocking. Works in
    plain scripts, from several threads at once, and from code already running an event loop
    (a notebook cell). Ctrl-C while waiting cancels the running request or poll. Use ``with`` or
    call ``close()``; a client that is never closed is closed when garbage-collected.
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
        portal = _Portal()
        try:
            self._async = portal.run(
                _build_client,
                iqm_server_url,
                quantum_computer=quantum_computer,
                token=token,
                tokens_file=tokens_file,
                client_signature=client_signature,
                timeout=timeout,
                max_retries=max_retries,
                transport=transport,
                max_poll_interval=max_poll_interval,
                architecture_ttl=architecture_ttl,
                max_concurrent_requests=max_concurrent_requests,
                requests_per_second=requests_per_second,
                idempotent_submissions=idempotent_submissions,
                verify=verify,
                executor=executor,
                storage=storage,
            )
        except BaseException:
            portal.close()
            raise
        self._portal = portal
        self._finalizer = weakref.finalize(self, _shutdown, portal, self._async)

    def __repr__(self) -> str:
        return repr(self._async).replace("AsyncIQMClient", "IQMClient", 1)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool and stop the event-loop thread (idempotent)."""
        self._finalizer()

    @property
    def async_client(self) -> AsyncIQMClient:
        """The underlying ``AsyncIQMClient`` (bound to this facade's event-loop thread)."""
        return self._async

    def _job(self, job: AsyncCircuitJob) -> CircuitJob:
        return CircuitJob(job, self._portal)

    @property
    def quantum_computer_name(self) -> str:
        """Name of the quantum computer (resolved on first use)."""
        return self._portal.run(self._async.get_quantum_computer_name)

    @_doc(AsyncIQMClient.get_quantum_computer_name)
    def get_quantum_computer_name(self) -> str:
        return self._portal.run(self._async.get_quantum_computer_name)

    @_doc(AsyncIQMClient.get_quantum_computers)
    def get_quantum_computers(self) -> list[QuantumComputer]:
        return self._portal.run(self._async.get_quantum_computers)

    @_doc(AsyncIQMClient.resolve_quantum_computer)
    def resolve_quantum_computer(self) -> QuantumComputer:
        return self._portal.run(self._async.resolve_quantum_computer)

    @_doc(AsyncIQMClient.get_health)
    def get_health(self) -> dict[str, Any]:
        return self._portal.run(self._async.get_health)

    @_doc(AsyncIQMClient.get_about)
    def get_about(self) -> dict[str, Any]:
        return self._portal.run(self._async.get_about)

    @_doc(AsyncIQMClient._get_dut_label)
    def _get_dut_label(self) -> str:
        return self._portal.run(self._async._get_dut_label)

    @_doc(AsyncIQMClient.get_static_quantum_architecture)
    def get_static_quantum_architecture(self) -> StaticQuantumArchitecture:
        return self._portal.run(self._async.get_static_quantum_architecture)

    @_doc(AsyncIQMClient.get_feedback_groups)
    def get_feedback_groups(self) -> tuple[frozenset[str], ...]:
        return self._portal.run(self._async.get_feedback_groups)

    @_doc(AsyncIQMClient.get_calibration_set)
    def get_calibration_set(self, calibration_set_id: UUID | None = None) -> ObservationSetWithObservations:
        return self._portal.run(self._async.get_calibration_set, calibration_set_id)

    @_doc(AsyncIQMClient.get_quality_metric_set)
    def get_quality_metric_set(
        self, calibration_set_id: UUID | None = None
    ) -> ObservationSetWithObservations:
        return self._portal.run(self._async.get_quality_metric_set, calibration_set_id)

    @_doc(AsyncIQMClient.get_calibration_quality_metrics)
    def get_calibration_quality_metrics(self, calibration_set_id: UUID | None = None) -> ObservationFinder:
        return self._portal.run(self._async.get_calibration_quality_metrics, calibration_set_id)

    @_doc(AsyncIQMClient._get_calibration_quality_metrics)
    def _get_calibration_quality_metrics(self, calibration_set_id: UUID | None = None) -> ObservationFinder:
        return self._portal.run(self._async._get_calibration_quality_metrics, calibration_set_id)

    @_doc(AsyncIQMClient.get_dynamic_quantum_architecture)
    def get_dynamic_quantum_architecture(
        self, calibration_set_id: UUID | None = None
    ) -> DynamicQuantumArchitecture:
        return self._portal.run(self._async.get_dynamic_quantum_architecture, calibration_set_id)

    @_doc(AsyncIQMClient.create_run_request)
    def create_run_request(
        self,
        circuits: Sequence[Circuit | str],
        *,
        qubit_mapping: Mapping[str, str] | None = None,
        calibration_set_id: UUID | None = None,
        shots: int = 1,
        options: CircuitCompilationOptions | None = None,
    ) -> PostJobsRequest:
        return self._portal.run(
            self._async.create_run_request,
            circuits,
            qubit_mapping=qubit_mapping,
            calibration_set_id=calibration_set_id,
            shots=shots,
            options=options,
        )

    @_doc(AsyncIQMClient.submit_circuits)
    def submit_circuits(
        self,
        circuits: Sequence[Circuit | str],
        *,
        qubit_mapping: Mapping[str, str] | None = None,
        calibration_set_id: UUID | None = None,
        shots: int = 1,
        options: CircuitCompilationOptions | None = None,
        use_timeslot: bool = False,
    ) -> CircuitJob:
        return self._job(
            self._portal.run(
                self._async.submit_circuits,
                circuits,
                qubit_mapping=qubit_mapping,
                calibration_set_id=calibration_set_id,
                shots=shots,
                options=options,
                use_timeslot=use_timeslot,
            )
        )

    @_doc(AsyncIQMClient.submit_run_request)
    def submit_run_request(self, run_request: PostJobsRequest, use_timeslot: bool = False) -> CircuitJob:
        return self._job(self._portal.run(self._async.submit_run_request, run_request, use_timeslot))

    @_doc(AsyncIQMClient.batch)
    def batch(
        self,
        *,
        timeout: float | None = None,
        progress: bool | None = None,
        max_concurrent_submissions: int = 16,
    ) -> BlockingJobBatch:
        return BlockingJobBatch(
            self._async.batch(
                timeout=timeout, progress=progress, max_concurrent_submissions=max_concurrent_submissions
            ),
            self._portal,
        )

    @_doc(AsyncIQMClient.get_job_data)
    def get_job_data(self, job_id: UUID) -> JobData:
        return self._portal.run(self._async.get_job_data, job_id)

    @_doc(AsyncIQMClient.get_job)
    def get_job(self, job_id: UUID) -> CircuitJob:
        return self._job(self._portal.run(self._async.get_job, job_id))

    @_doc(AsyncIQMClient.cancel_job)
    def cancel_job(self, job_id: UUID) -> None:
        self._portal.run(self._async.cancel_job, job_id)

    @_doc(AsyncIQMClient.delete_job)
    def delete_job(self, job_id: UUID) -> None:
        self._portal.run(self._async.delete_job, job_id)

    @_doc(AsyncIQMClient.get_job_measurements)
    def get_job_measurements(self, job_id: UUID) -> CircuitMeasurementResultsBatch:
        return self._portal.run(self._async.get_job_measurements, job_id)

    @_doc(AsyncIQMClient.get_job_measurement_counts)
    def get_job_measurement_counts(self, job_id: UUID) -> list[CircuitMeasurementCounts]:
        return self._portal.run(self._async.get_job_measurement_counts, job_id)

    @_doc(AsyncIQMClient._get_submit_circuits_payload)
    def _get_submit_circuits_payload(self, job_id: UUID) -> PostJobsRequest:
        return self._portal.run(self._async._get_submit_circuits_payload, job_id)

    # ----------------------------------------------------------------- iqm-client 36 vocabulary

    @classmethod
    @_doc(AsyncIQMClient.from_url)
    def from_url(
        cls,
        iqm_server_url: str | None = None,
        *,
        quantum_computer: str | None = None,
        token: str | None = None,
        tokens_file: str | None = None,
        client_signature: str | None = None,
    ) -> Self:
        return cls(
            iqm_server_url,
            quantum_computer=quantum_computer,
            token=token,
            tokens_file=tokens_file,
            client_signature=client_signature,
        )

    @_doc(AsyncIQMClient.create_circuit_job_definition)
    def create_circuit_job_definition(
        self,
        circuits: Sequence[Circuit | str],
        *,
        qubit_mapping: Mapping[str, str] | None = None,
        calibration_set_id: UUID | None = None,
        shots: int = 1,
        options: CircuitCompilationOptions | None = None,
    ) -> CircuitJobDefinition:
        return self._portal.run(
            self._async.create_circuit_job_definition,
            circuits,
            qubit_mapping=qubit_mapping,
            calibration_set_id=calibration_set_id,
            shots=shots,
            options=options,
        )

    @_doc(AsyncIQMClient.submit_circuit_job)
    def submit_circuit_job(
        self, circuit_job_definition: CircuitJobDefinition, *, use_timeslot: bool = False
    ) -> CircuitJob:
        return self._job(
            self._portal.run(
                self._async.submit_circuit_job, circuit_job_definition, use_timeslot=use_timeslot
            )
        )

    @_doc(AsyncIQMClient.get_chip_design_record)
    def get_chip_design_record(self) -> dict[str, Any]:
        return self._portal.run(self._async.get_chip_design_record)

    @_doc(AsyncIQMClient.get_chip_label)
    def get_chip_label(self) -> str:
        return self._portal.run(self._async.get_chip_label)

    @_doc(AsyncIQMClient.get_chip_topology)
    def get_chip_topology(self) -> ChipTopology:
        return self._portal.run(self._async.get_chip_topology)

    @_doc(AsyncIQMClient.get_proxy_path)
    def get_proxy_path(self) -> str:
        return self._portal.run(self._async.get_proxy_path)
