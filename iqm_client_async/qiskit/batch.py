"""Many Qiskit jobs at once: the client's ``JobBatch`` with Qiskit circuits in and Qiskit results out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from qiskit.result import Result

from iqm_client_async import JobBatch, JobStatus

from ._runner import check_loop
from .job import IQMJob
from .serialize import ClassicalLayout

if TYPE_CHECKING:
    from .backend import IQMBackend, RunInput

__all__ = ["QiskitJobBatch", "QiskitJobOutcome"]


@dataclass(frozen=True)
class QiskitJobOutcome:
    """A finished job of a batch.

    Attributes:
        index: the order of the submit call that made it (0, 1, ...).
        job: the job.
        status: its terminal status.
        result: its Qiskit ``Result`` if it completed, else None (see ``job.aerror_message()``).
    """

    index: int
    job: IQMJob
    status: JobStatus
    result: Result | None

    @property
    def ok(self) -> bool:
        """Whether the job completed and its results were fetched."""
        return self.result is not None


class QiskitJobBatch:
    """A scope for many jobs of one backend: one poller, one deadline, results as each job completes.

    ::

        async with backend.batch(timeout=600) as batch:
            for circuit in circuits:
                batch.submit_soon(circuit, shots=1000)
            async for outcome in batch.as_completed():
                print(outcome.index, outcome.result.get_counts())

    If the scope ends with an error, the deadline or a cancellation, its unfinished jobs are cancelled on
    the server (``detach()`` keeps them).
    """

    def __init__(self, backend: IQMBackend, batch: JobBatch) -> None:
        self._backend = backend
        self._batch = batch
        self._layouts: dict[int, tuple[list[ClassicalLayout], int]] = {}

    async def __aenter__(self) -> Self:
        check_loop(self._backend._runner)
        await self._batch.__aenter__()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        return await self._batch.__aexit__(exc_type, exc, tb)

    @property
    def client_batch(self) -> JobBatch:
        """The underlying client ``JobBatch`` (progress, ``detach()``)."""
        return self._batch

    def _prepare(
        self, run_input: RunInput, options: dict[str, Any]
    ) -> tuple[list[Any], dict[str, Any], list[ClassicalLayout]]:
        merged = self._backend._run_options(options)
        circuits, layouts = self._backend._serialize(run_input)
        submit_options = {
            "calibration_set_id": merged["calibration_set_id"],
            "shots": merged["shots"],
            "options": merged["circuit_compilation_options"],
            "use_timeslot": merged["use_timeslot"],
        }
        return circuits, submit_options, layouts

    async def submit(self, run_input: RunInput, **options: Any) -> IQMJob:
        """Submit circuits as one job of this batch (options as ``IQMBackend.arun``) and return the job."""
        circuits, submit_options, layouts = self._prepare(run_input, options)
        index = len(self._layouts)
        self._layouts[index] = (layouts, submit_options["shots"])
        job = await self._batch.submit(circuits, **submit_options)
        return IQMJob(
            self._backend, job, layouts, shots=submit_options["shots"], runner=self._backend._runner
        )

    def submit_soon(self, run_input: RunInput, **options: Any) -> int:
        """Submit in the background; returns the index its outcome will carry (circuits are checked now)."""
        circuits, submit_options, layouts = self._prepare(run_input, options)
        index = self._batch.submit_soon(circuits, **submit_options)
        self._layouts[index] = (layouts, submit_options["shots"])
        return index

    async def as_completed(self) -> AsyncIterator[QiskitJobOutcome]:
        """Yield each job's outcome as it finishes, until every submitted job has been reported."""
        async for outcome in self._batch.as_completed():
            layouts, shots = self._layouts[outcome.index]
            job = IQMJob(self._backend, outcome.job, layouts, shots=shots, runner=self._backend._runner)
            result = None
            if outcome.result is not None:
                job._set_measurements(outcome.result)
                result = await job.aresult()
            yield QiskitJobOutcome(outcome.index, job, outcome.status, result)
