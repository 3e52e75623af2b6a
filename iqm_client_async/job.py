"""``AsyncCircuitJob``: a submitted circuit job, its status, waiting, and results."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeAlias
from uuid import UUID

import anyio

from ._arguments import check_number
from ._errors import ClientConfigurationError, IQMError, JobTimeoutError
from ._poll_planning import JobShape
from .models import (
    CircuitJobPayload,
    CircuitMeasurementCounts,
    CircuitMeasurementResultsBatch,
    JobData,
    JobStatus,
    PostJobsRequest,
    TimelineEntry,
)
from .models.run_request import PackedDefinition, pack_definition

if TYPE_CHECKING:
    from ._job_services import JobServices

__all__ = ["DEFAULT_TIMEOUT_SECONDS", "AsyncCircuitJob", "ProgressCallback"]

logger = logging.getLogger("iqm_client_async")

DEFAULT_TIMEOUT_SECONDS = 10800.0

ProgressCallback: TypeAlias = Callable[[list[tuple[str, int, int]]], object]
"""Receives ``[(label, value, total), ...]`` after every status update (iqm-client 36's progress form)."""

_QUEUE_LABEL = "Progress in queue"


def _report_progress(job: AsyncCircuitJob, callback: ProgressCallback) -> None:
    """Hand the progress in the job's last status to ``callback``: queue progress while waiting, else execution."""
    data = job.data
    if data.queue_position is not None:
        job._max_queue_position = max(job._max_queue_position, data.queue_position)
        callback([(_QUEUE_LABEL, job._max_queue_position - data.queue_position, job._max_queue_position)])
    elif data.execution is not None:
        callback([(label, p.value, p.max_value) for label, p in data.execution.progress.items()])


class AsyncCircuitJob:
    """A circuit job on the server: its last seen status, waiting, and results.

    Created by ``AsyncIQMClient.submit_circuits`` or ``AsyncIQMClient.get_job``.

    Attributes:
        data: the last status document seen (``JobData``).
        received_at: when ``data`` arrived (the event loop's monotonic clock).
    """

    __slots__ = (
        "_max_queue_position",
        "_payload",
        "_result",
        "_result_counts",
        "_services",
        "_shape",
        "_uses_default_calibration",
        "data",
        "received_at",
    )

    def __init__(
        self,
        data: JobData,
        services: JobServices,
        *,
        uses_default_calibration: bool = False,
        definition: PostJobsRequest | None = None,
        shape: JobShape | None = None,
    ) -> None:
        self.data = data
        self.received_at = anyio.current_time()
        self._shape = shape  # what its running time depends on, when this client submitted it
        self._services = services
        self._uses_default_calibration = uses_default_calibration
        self._result: CircuitMeasurementResultsBatch | None = None
        self._result_counts: list[CircuitMeasurementCounts] | None = None
        # Packed until asked for: thousands of jobs in flight each keep their definition.
        self._payload: CircuitJobPayload | PackedDefinition | None = (
            None if definition is None else pack_definition(definition)
        )
        self._max_queue_position = 0

    def __repr__(self) -> str:
        return f"AsyncCircuitJob(job_id={self.job_id!s}, status={self.status.value!r})"

    @property
    def job_id(self) -> UUID:
        """The job's id."""
        return self.data.id

    @property
    def status(self) -> JobStatus:
        """The last status seen (call ``update()`` for the current one)."""
        return self.data.status

    def _set_data(self, data: JobData) -> None:
        self.data = data
        self.received_at = anyio.current_time()
        if self._uses_default_calibration and data.compilation is not None:
            self._services.note_calibration_set(data.compilation.calibration_set_id)

    @property
    def job_data(self) -> JobData:
        """The last status document seen (iqm-client 36's name for ``data``)."""
        return self.data

    @property
    def errors(self) -> str:
        """The job's errors, one per line (empty when there are none)."""
        return "\n".join(f"  {error}" for error in self.data.errors)

    async def update(self) -> JobStatus:
        """Fetch the job's current status (shares a request already in flight for this job).

        A job already completed, failed or cancelled never changes: no request is sent for it.
        """
        if not self.status.is_terminal:
            self._set_data(await self._services.poller.refresh(self.job_id))
        return self.status

    async def wait_for_completion(
        self,
        *,
        timeout_secs: float = DEFAULT_TIMEOUT_SECONDS,
        polling_interval: float | None = None,
        progress_callback: ProgressCallback | None = None,
    ) -> JobStatus:
        """Poll until the job is completed, failed or cancelled, or ``timeout_secs`` have passed.

        Polling adapts to the queue position and execution progress instead of a fixed interval.
        Cancelling the awaiting task stops polling at once (the job itself is not cancelled).

        Args:
            timeout_secs: give up after this many seconds and return the non-terminal status; 0 waits forever.
            polling_interval: the longest gap between two status requests of this wait (default: the
                client's ``max_poll_interval``); polls come sooner when the job is expected to finish.
            progress_callback: called with ``[(label, value, total), ...]`` after every status update:
                ``("Progress in queue", jobs passed, most jobs ahead seen)`` while waiting, the
                server's execution progress while processing. Runs in the client's event loop.

        Returns:
            The last status seen.

        Raises:
            ClientConfigurationError: ``timeout_secs`` or ``polling_interval`` is not a finite number >= 0
                (> 0 for ``polling_interval``), or ``progress_callback`` is not callable.
        """
        timeout_secs = check_number(timeout_secs, "timeout_secs", allow_minimum=True) or 0.0
        polling_interval = check_number(polling_interval, "polling_interval", optional=True)
        if progress_callback is not None and not callable(progress_callback):
            raise ClientConfigurationError(
                f"progress_callback must be callable, got {type(progress_callback).__name__}."
            )
        on_update = self._set_data
        if progress_callback is not None:
            callback = progress_callback

            def on_update(data: JobData) -> None:
                self._set_data(data)
                _report_progress(self, callback)

            _report_progress(self, callback)
        data = await self._services.poller.wait(
            self.job_id,
            self.data,
            received_at=self.received_at,
            max_wait=timeout_secs or None,
            on_update=on_update,
            max_interval=polling_interval,
            shape=self._shape,
        )
        self._set_data(data)
        if not self.status.is_terminal:
            logger.warning(
                "Job %s reached the timeout of %ss. Stopping polling and returning the current non-terminal status.",
                self.job_id,
                timeout_secs,
            )
        if self.data.messages:
            logger.debug(
                "Job messages:\n%s", "\n".join(f"  {m.source}: {m.message}" for m in self.data.messages)
            )
        if self.status == JobStatus.FAILED:
            logger.error(
                "Job failed! Error(s):\n%s",
                "\n".join(f"  {e.source}: {e.error_code}: {e.message}" for e in self.data.errors),
            )
        elif self.status == JobStatus.CANCELLED:
            logger.error("Job was cancelled!")
        return self.status

    async def result(self) -> CircuitMeasurementResultsBatch | None:
        """The measurement results if the job has completed, else None (cached once fetched).

        Job messages are emitted as ``UserWarning``\\ s when the results are first fetched.
        """
        if self._result is None:
            if self.status != JobStatus.COMPLETED:
                await self.update()
            if self.status != JobStatus.COMPLETED:
                return None
            self._result = await self._services.get_measurements(self.job_id)
            for message in self.data.messages:
                warnings.warn(f"{message.source}: {message.message}", stacklevel=2)
        return self._result

    async def result_counts(self) -> list[CircuitMeasurementCounts] | None:
        """Per-circuit measurement histograms if the job has completed, else None (cached once fetched)."""
        if self._result_counts is None:
            if self.status != JobStatus.COMPLETED:
                await self.update()
            if self.status != JobStatus.COMPLETED:
                return None
            self._result_counts = await self._services.get_measurement_counts(self.job_id)
        return self._result_counts

    async def result_or_raise(
        self, *, timeout_secs: float = DEFAULT_TIMEOUT_SECONDS
    ) -> CircuitMeasurementResultsBatch:
        """Wait for the job and return its results.

        Raises:
            JobTimeoutError: the job did not finish within ``timeout_secs``.
            IQMError: the job failed or was cancelled (the message lists the server's errors).
        """
        status = await self.wait_for_completion(timeout_secs=timeout_secs)
        if not status.is_terminal:
            raise JobTimeoutError(
                f"Job {self.job_id} did not finish within {timeout_secs} s (status {status.value})."
            )
        result = await self.result()
        if result is None:
            errors = (
                "; ".join(f"{e.error_code}: {e.message}" for e in self.data.errors) or "no errors reported"
            )
            raise IQMError(f"Job {self.job_id} ended with status {status.value}: {errors}")
        return result

    async def payload(self) -> CircuitJobPayload:
        """The definition this job was submitted with (no request if it was submitted by this client; cached).

        Read it as iqm-client 36 does (``payload.shots``, ``payload.circuits``) or unpack it as 35
        does: ``circuits, parameters = await job.payload()``.
        """
        if self._payload is None:
            self._payload = CircuitJobPayload.of(await self._services.get_payload(self.job_id))
        elif not isinstance(self._payload, CircuitJobPayload):
            self._payload = CircuitJobPayload.of(self._payload)
        return self._payload

    async def cancel(self) -> None:
        """Cancel the job on the server."""
        await self._services.cancel(self.job_id)

    def find_timeline_entry(self, status: str, source: str | None = None) -> TimelineEntry | None:
        """The first timeline entry with this status (and source, if given), or None."""
        return self.data.find_timeline_entry(status=status, source=source)


def apply_status(job: AsyncCircuitJob, data: JobData) -> None:
    """Give ``job`` a status document obtained elsewhere (a batch's poll), as ``update()`` would."""
    job._set_data(data)


def shape_of(job: AsyncCircuitJob) -> JobShape | None:
    """What the job's running time depends on, when this client submitted it (None otherwise)."""
    return job._shape
