"""``IQMJob``: a Qiskit job for an IQM circuit job, blocking (``result()``) and awaitable (``await job``)."""

from __future__ import annotations

import asyncio
from collections.abc import Generator, Sequence
from typing import TYPE_CHECKING, Any

from qiskit.providers import JobStatus as QiskitJobStatus
from qiskit.providers import JobV1
from qiskit.result import Result

from iqm_client_async import AsyncCircuitJob, CircuitMeasurementResultsBatch, JobStatus
from iqm_client_async.job import DEFAULT_TIMEOUT_SECONDS

from ._runner import LoopRunner, check_loop, require_runner
from .result import build_result
from .serialize import ClassicalLayout

if TYPE_CHECKING:
    from .backend import IQMBackend

__all__ = ["IQMJob"]

_STATUS = {
    JobStatus.WAITING: QiskitJobStatus.QUEUED,
    JobStatus.PROCESSING: QiskitJobStatus.RUNNING,
    JobStatus.COMPLETED: QiskitJobStatus.DONE,
    JobStatus.FAILED: QiskitJobStatus.ERROR,
    JobStatus.CANCELLED: QiskitJobStatus.CANCELLED,
}


class IQMJob(JobV1):  # type: ignore[misc]  # qiskit is untyped
    """A job on an IQM quantum computer, as a Qiskit job.

    Blocking methods (``result()``, ``status()``, ...) are for jobs of a backend made by ``IQMProvider``;
    their async twins (``await job``, ``await job.aresult()``, ``await job.astatus()``, ...) work
    everywhere. Each blocking method runs its async twin in the client's event loop.

    Args:
        backend: the backend that ran the job.
        submission: the submitted job, or the task that is submitting it.
        layouts: the classical layouts of the job's circuits, in order.
        shots: shots requested per circuit.
        runner: runs coroutines for the blocking methods (None: async use only).
    """

    def __init__(
        self,
        backend: IQMBackend,
        submission: AsyncCircuitJob | asyncio.Task[AsyncCircuitJob],
        layouts: Sequence[ClassicalLayout],
        *,
        shots: int,
        runner: LoopRunner | None,
    ) -> None:
        known = submission if isinstance(submission, AsyncCircuitJob) else None
        super().__init__(backend, str(known.job_id) if known else "")
        self._submission = submission
        self._circuit_job = known
        self._layouts = list(layouts)
        self._shots = shots
        self._runner = runner
        self._result: Result | None = None

    def __repr__(self) -> str:
        job_id = str(self._circuit_job.job_id) if self._circuit_job else "(submitting)"
        return f"IQMJob(job_id={job_id}, backend={self.backend().name!r})"

    # ----------------------------------------------------------------- async

    async def acircuit_job(self) -> AsyncCircuitJob:
        """The underlying client job (waits for the submission to finish)."""
        check_loop(self._runner)
        if self._circuit_job is None:
            assert isinstance(self._submission, asyncio.Task)
            self._circuit_job = await self._submission
            self._job_id = str(self._circuit_job.job_id)
        return self._circuit_job

    async def aresult(self, timeout_secs: float | None = None) -> Result:
        """Wait for the job and return its results as a Qiskit ``Result``.

        Args:
            timeout_secs: seconds to wait at most (None: 3 hours, as the client's default).

        Raises:
            JobTimeoutError: the job did not finish in time.
            IQMError: the job failed or was cancelled (the message lists the server's errors).
        """
        if self._result is None:
            job = await self.acircuit_job()
            measurements = await job.result_or_raise(timeout_secs=timeout_secs or DEFAULT_TIMEOUT_SECONDS)
            self._set_measurements(measurements)
        assert self._result is not None
        return self._result

    def _set_measurements(self, measurements: CircuitMeasurementResultsBatch) -> None:
        backend = self.backend()
        self._result = build_result(
            measurements,
            self._layouts,
            shots=self._shots,
            job_id=self.job_id() if self._circuit_job else "",
            backend_name=backend.name,
            backend_version=backend.backend_version,
        )

    def __await__(self) -> Generator[Any, None, Result]:
        """``await job`` waits for the job and returns its ``Result``."""
        return self.aresult().__await__()

    async def astatus(self) -> QiskitJobStatus:
        """Fetch the job's current status (Qiskit's ``JobStatus``)."""
        job = await self.acircuit_job()
        if not job.status.is_terminal:
            await job.update()
        return _STATUS[job.status]

    async def acancel(self) -> bool:
        """Cancel the job on the server; True when the request was accepted."""
        job = await self.acircuit_job()
        await job.cancel()
        return True

    async def aqueue_position(self, refresh: bool = False) -> int | None:
        """The job's position in the queue (None when it is not waiting).

        Args:
            refresh: fetch the current status first (otherwise the last status seen is used).
        """
        job = await self.acircuit_job()
        if refresh:
            await job.update()
        return job.data.queue_position if job.status == JobStatus.WAITING else None

    async def aerror_message(self) -> str | None:
        """The server's error messages for a failed job, or None."""
        job = await self.acircuit_job()
        if not job.status.is_terminal:
            await job.update()
        if not job.data.errors:
            return None
        return "; ".join(f"{error.error_code}: {error.message}" for error in job.data.errors)

    # ----------------------------------------------------------------- blocking (Qiskit's JobV1)

    def _run(self) -> LoopRunner:
        return require_runner(self._runner, "job.aresult()")

    def job_id(self) -> str:
        """The job's id (waits for the submission if it is still in flight)."""
        if self._circuit_job is None:
            self._run().run(self.acircuit_job)
        return str(self._job_id)

    def submit(self) -> None:
        """Jobs are submitted by ``IQMBackend.run``; this raises ``NotImplementedError``."""
        raise NotImplementedError("IQMJob is submitted by IQMBackend.run().")

    def result(self, timeout: float | None = None) -> Result:
        """Wait for the job and return its ``Result`` (see ``aresult``)."""
        if self._result is not None:
            return self._result
        return self._run().run(self.aresult, timeout)

    def status(self) -> QiskitJobStatus:
        """The job's current status (see ``astatus``)."""
        return self._run().run(self.astatus)

    def cancel(self) -> bool:
        """Cancel the job (see ``acancel``)."""
        return self._run().run(self.acancel)

    def queue_position(self, refresh: bool = False) -> int | None:
        """The job's position in the queue (see ``aqueue_position``)."""
        return self._run().run(self.aqueue_position, refresh)

    def error_message(self) -> str | None:
        """The server's error messages for a failed job (see ``aerror_message``)."""
        return self._run().run(self.aerror_message)
