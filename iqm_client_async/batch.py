"""Many jobs at once: a batch scope with results as each job completes, one deadline, and cleanup.

``JobBatch`` is an async context manager. Jobs submitted through it are awaited by one task each
(sharing the client's poller and request budget); ``as_completed()`` yields each job's outcome as
soon as it is terminal. If the scope ends with an error, a timeout or a cancellation, the jobs that
have not finished are cancelled on the server — unless ``detach()`` was called.

Producer and consumer at once: after ``keep_open()``, ``as_completed()`` and ``progress_events()`` run
until ``close()`` ends the submissions (and every job has been reported), however far they catch up with
the submissions made so far meanwhile.
"""

from __future__ import annotations

import contextlib
import heapq
import importlib.util
import math
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypedDict, Unpack
from uuid import UUID

import anyio
import anyio.abc

from ._errors import IQMError, JobTimeoutError
from .job import AsyncCircuitJob, apply_status, shape_of
from .models import Circuit, CircuitCompilationOptions, CircuitMeasurementResultsBatch, JobData, JobStatus

if TYPE_CHECKING:
    from ._job_services import JobServices

__all__ = ["BatchProgress", "JobBatch", "JobOutcome", "SubmitOptions"]

_CANCEL_GRACE_SECONDS = 30.0
_POSITION_FRESH_SECONDS = 2.0
_SUBMISSIONS_ENDED = object()  # wakes a consumer waiting for outcomes when the batch is closed


class SubmitOptions(TypedDict, total=False):
    """Keyword arguments of a submission (those of ``AsyncIQMClient.submit_circuits``)."""

    qubit_mapping: Mapping[str, str] | None
    calibration_set_id: UUID | None
    shots: int
    options: CircuitCompilationOptions | None
    use_timeslot: bool


@dataclass(frozen=True, slots=True)
class BatchProgress:
    """Aggregate state of a batch's jobs.

    ``running`` counts the jobs seen running, and the jobs seen waiting that a later job of the batch
    has been seen to pass (it started or finished: on a first-in-first-out queue, they have started).
    ``best_queue_position`` is the lowest queue position seen in the last two seconds, None if none.
    """

    submitted: int
    queued: int
    running: int
    done: int
    failed: int
    best_queue_position: int | None

    @property
    def finished(self) -> int:
        """Jobs in a terminal state."""
        return self.done + self.failed

    def describe(self) -> str:
        """One human-readable line."""
        position = (
            f" (next at position {self.best_queue_position})" if self.best_queue_position is not None else ""
        )
        return (
            f"queued {self.queued}{position}, running {self.running}, done {self.done}, failed {self.failed}"
        )


@dataclass(frozen=True, slots=True)
class JobOutcome:
    """A finished job of a batch: the index of its submit call, the job, and its results if it completed."""

    index: int
    job: AsyncCircuitJob
    result: CircuitMeasurementResultsBatch | None

    @property
    def status(self) -> JobStatus:
        """The job's terminal status."""
        return self.job.status

    @property
    def ok(self) -> bool:
        """Whether the job completed and its results were fetched."""
        return self.result is not None


def _interactive() -> bool:
    """Whether a progress bar is shown by default: only in a Jupyter kernel that can draw a widget.

    In a terminal a text bar would interleave with the user's own prints, and in a notebook without
    ipywidgets tqdm warns "IProgress not found" and draws the last bar twice: there the default is
    no bar (``progress=True`` asks for one anyway; ``batch.progress()`` always works).
    """
    if "ipykernel" not in sys.modules:
        return False
    return importlib.util.find_spec("ipywidgets") is not None


class _ProgressBar:
    """tqdm's auto bar when available and interactive; silent otherwise. Redraws at most 10 times a second."""

    _MIN_INTERVAL = 0.1

    def __init__(self, enabled: bool | None) -> None:
        self._bar: Any = None
        self._drawn_at = -math.inf
        if enabled is False or (enabled is None and not _interactive()):
            return
        try:
            from tqdm.auto import tqdm
        except ImportError:  # tqdm is optional (extra "progress")
            return
        self._bar = tqdm(total=0, unit="job", desc="jobs", leave=True)

    def due(self) -> bool:
        """Whether a redraw is due (cheap: callers build the snapshot only then)."""
        return self._bar is not None and anyio.current_time() - self._drawn_at >= self._MIN_INTERVAL

    def update(self, progress: BatchProgress) -> None:
        if self._bar is None:
            return
        self._drawn_at = anyio.current_time()
        self._bar.total = progress.submitted
        self._bar.n = progress.finished
        self._bar.set_postfix_str(progress.describe(), refresh=False)
        self._bar.refresh()

    def close(self, final: BatchProgress) -> None:
        if self._bar is not None:
            self.update(final)
            self._bar.close()


class JobBatch:
    """A scope for many jobs of one client.

    Args:
        services: what the batch may use of its client (submissions, the poller, cancellation).
        timeout: one deadline, in seconds, for the whole batch (submissions and waiting), separate
            from per-request timeouts; None for no deadline.
        progress: show a tqdm bar (None: only in a Jupyter kernel with ipywidgets, when tqdm is
            installed; True: a bar wherever tqdm is installed; False: none).
        max_concurrent_submissions: submissions in flight at once.

    Use ``async with client.batch(...) as batch:``; ``await batch.submit(...)`` or
    ``batch.submit_soon(...)``; ``async for outcome in batch.as_completed(): ...``.
    """

    def __init__(
        self,
        services: JobServices,
        *,
        timeout: float | None = None,
        progress: bool | None = None,
        max_concurrent_submissions: int = 24,
    ) -> None:
        self._services = services
        self._timeout = timeout
        self._deadline = math.inf
        self._progress_setting = progress
        self._submit_limiter = anyio.CapacityLimiter(max_concurrent_submissions)
        self._jobs: dict[int, AsyncCircuitJob] = {}
        self._next_index = 0
        self._states: dict[UUID, JobData] = {}
        self._status_counts: Counter[JobStatus] = Counter()
        self._indices: dict[UUID, int] = {}
        self._positions: dict[UUID, tuple[int, float]] = {}  # waiting jobs: last position, seen when
        self._position_heap: list[tuple[int, float, UUID]] = []  # lazily pruned
        self._waiting_heap: list[tuple[int, UUID]] = []  # (index, job) of jobs seen waiting; lazily pruned
        self._started_index = -1  # highest index of a job seen running or completed
        self._inferred_running: set[UUID] = set()
        self._kept_open = False
        self._closed = False
        self._pending_submissions = 0
        self._submitted = 0
        self._reported = 0
        self._outcomes_send, self._outcomes_receive = anyio.create_memory_object_stream[
            JobOutcome | BaseException | object
        ](math.inf)
        self._changed = anyio.Event()
        self._idle = anyio.Event()
        self._waiting = 0
        self._detached = False
        self._task_group: anyio.abc.TaskGroup | None = None
        self._bar: _ProgressBar | None = None

    async def __aenter__(self) -> Self:
        if self._timeout is not None:
            self._deadline = anyio.current_time() + self._timeout
        self._bar = _ProgressBar(self._progress_setting)
        self._task_group = anyio.create_task_group()
        await self._task_group.__aenter__()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        assert self._task_group is not None
        timed_out = False
        self._closed = True
        try:
            if exc_type is None and not self._detached:
                # A clean exit waits for every job (as a task group waits for its children), up to the deadline.
                with anyio.move_on_after(self._remaining()) as scope:
                    while self._waiting or self._pending_submissions:
                        await self._idle.wait()
                timed_out = scope.cancelled_caught
            self._task_group.cancel_scope.cancel()
            await self._task_group.__aexit__(None, None, None)
        finally:
            if not self._detached:
                await self._cancel_unfinished()
            if self._bar is not None:
                self._bar.close(self.progress())
        if timed_out:
            raise self._timeout_error()
        return None

    def detach(self) -> None:
        """Keep the batch's unfinished jobs running on the server when the scope ends."""
        self._detached = True

    def keep_open(self) -> None:
        """Make ``as_completed()`` and ``progress_events()`` run until ``close()``.

        Without it they end once they have caught up with the submissions made so far, which suits
        submitting everything first and iterating after. Call it before handing the batch to a
        producer task, then have the producer call ``close()`` when it is done (in a ``finally``).
        """
        self._kept_open = True

    def close(self) -> None:
        """End the submissions: further submits raise, and the iterators end once every job is reported."""
        if self._closed:
            return
        self._closed = True
        self._outcomes_send.send_nowait(_SUBMISSIONS_ENDED)
        self._signal_change()

    @property
    def closed(self) -> bool:
        """Whether the submissions have ended (``close()`` or the end of the scope)."""
        return self._closed

    def _more_to_come(self) -> bool:
        return bool(self._pending_submissions) or (self._kept_open and not self._closed)

    @property
    def jobs(self) -> list[AsyncCircuitJob]:
        """The jobs submitted so far, in the order of the submit calls."""
        return [self._jobs[index] for index in sorted(self._jobs)]

    def progress(self) -> BatchProgress:
        """A snapshot of the aggregate state."""
        counts = self._status_counts
        finished = sum(counts[status] for status in counts if status.is_terminal)
        done = counts[JobStatus.COMPLETED]
        inferred = len(self._inferred_running)
        return BatchProgress(
            self._submitted,
            queued=counts[JobStatus.WAITING] - inferred,
            running=counts[JobStatus.PROCESSING] + inferred,
            done=done,
            failed=finished - done,
            best_queue_position=self._best_queue_position(),
        )

    def _best_queue_position(self) -> int | None:
        heap = self._position_heap
        now = time.monotonic()
        while heap:
            position, seen, job_id = heap[0]
            if self._positions.get(job_id) == (position, seen) and now - seen <= _POSITION_FRESH_SECONDS:
                return position
            heapq.heappop(heap)  # outdated: the job moved on, or the position is no longer fresh
        return None

    def _note(self, data: JobData) -> None:
        previous = self._states.get(data.id)
        if previous is not None:
            self._status_counts[previous.status] -= 1
        self._status_counts[data.status] += 1
        self._states[data.id] = data
        self._inferred_running.discard(data.id)
        index = self._indices.get(data.id, -1)
        if data.status == JobStatus.WAITING:
            heapq.heappush(self._waiting_heap, (index, data.id))
            if data.queue_position is not None:
                seen = time.monotonic()
                self._positions[data.id] = (data.queue_position, seen)
                heapq.heappush(self._position_heap, (data.queue_position, seen, data.id))
        else:
            self._positions.pop(data.id, None)
            if data.status in (JobStatus.PROCESSING, JobStatus.COMPLETED):
                self._started_index = max(self._started_index, index)
        self._infer_started()
        self._compact()
        if self._bar is not None and self._bar.due():
            self._bar.update(self.progress())
        self._signal_change()

    def _infer_started(self) -> None:
        """Jobs seen waiting that a later job has passed have started (first in, first out)."""
        heap = self._waiting_heap
        while heap and heap[0][0] < self._started_index:
            _, job_id = heapq.heappop(heap)
            if self._states[job_id].status == JobStatus.WAITING:
                self._inferred_running.add(job_id)
                self._positions.pop(job_id, None)

    def _compact(self) -> None:
        """Drop outdated heap entries once they outnumber the live ones (heaps are pruned lazily)."""
        if len(self._position_heap) > 2 * len(self._positions) + 64:
            self._position_heap = [(p, seen, job_id) for job_id, (p, seen) in self._positions.items()]
            heapq.heapify(self._position_heap)
        waiting = self._status_counts[JobStatus.WAITING]
        if len(self._waiting_heap) > 2 * waiting + 64:
            self._waiting_heap = [
                (self._indices.get(job_id, -1), job_id)
                for job_id, data in self._states.items()
                if data.status == JobStatus.WAITING and job_id not in self._inferred_running
            ]
            heapq.heapify(self._waiting_heap)

    def _signal_change(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()

    def _remaining(self) -> float | None:
        return None if self._deadline == math.inf else max(self._deadline - anyio.current_time(), 0.0)

    def _timeout_error(self) -> JobTimeoutError:
        return JobTimeoutError(
            f"The batch did not finish within {self._timeout} s: {self.progress().describe()}. "
            "Unfinished jobs are cancelled on the server unless the batch was detached."
        )

    async def submit(
        self, circuits: Sequence[Circuit | str], **options: Unpack[SubmitOptions]
    ) -> AsyncCircuitJob:
        """Submit one circuit batch as a job of this scope and start awaiting it.

        Takes the keyword arguments of ``AsyncIQMClient.submit_circuits``. The job's outcome
        carries the index of this call among the batch's submissions (0, 1, ...).

        Raises:
            JobTimeoutError: the batch deadline passed.
            IQMError: as ``AsyncIQMClient.submit_circuits``.
        """
        return await self._submit(self._claim_index(), circuits, options)

    def submit_soon(self, circuits: Sequence[Circuit | str], **options: Unpack[SubmitOptions]) -> int:
        """Submit in the background and return the submission index its outcome will carry.

        ``as_completed()`` counts the submission at once, so it may be iterated right away; a
        failed submission surfaces from ``as_completed()``.
        """
        index = self._claim_index()

        async def run() -> None:
            try:
                await self._submit(index, circuits, options)
            except Exception as exc:
                await self._outcomes_send.send(exc)

        self._running_task_group().start_soon(run)
        return index

    def _running_task_group(self) -> anyio.abc.TaskGroup:
        if self._task_group is None:
            raise IQMError("Use the batch as `async with client.batch() as batch:` before submitting.")
        return self._task_group

    def _claim_index(self) -> int:
        self._running_task_group()
        if self._closed:
            raise IQMError("The batch is closed for submissions.")
        self._pending_submissions += 1
        index = self._next_index
        self._next_index += 1
        return index

    async def _submit(
        self, index: int, circuits: Sequence[Circuit | str], options: SubmitOptions
    ) -> AsyncCircuitJob:
        try:
            with anyio.fail_after(self._remaining()):
                async with self._submit_limiter:
                    job = await self._services.submit_circuits(circuits, **options)
        except TimeoutError:
            raise self._timeout_error() from None
        finally:
            self._pending_submissions -= 1
            self._wake_exit()
        self._submitted += 1
        self._jobs[index] = job
        self._indices[job.job_id] = index
        self._note(job.data)
        self._waiting += 1
        self._running_task_group().start_soon(self._await_job, index, job)
        return job

    async def _await_job(self, index: int, job: AsyncCircuitJob) -> None:
        try:
            await self._services.poller.wait(
                job.job_id,
                job.data,
                received_at=job.received_at,
                max_wait=None,
                on_update=self._track(job),
                shape=shape_of(job),
            )
            result = await job.result() if job.status == JobStatus.COMPLETED else None
            await self._outcomes_send.send(JobOutcome(index, job, result))
        except Exception as exc:
            await self._outcomes_send.send(exc)
        finally:
            self._waiting -= 1
            self._wake_exit()

    def _wake_exit(self) -> None:
        self._idle.set()
        self._idle = anyio.Event()

    def _track(self, job: AsyncCircuitJob) -> Any:
        def on_update(data: JobData) -> None:
            apply_status(job, data)
            self._note(data)

        return on_update

    async def as_completed(self) -> AsyncIterator[JobOutcome]:
        """Yield each job's outcome as it finishes, until every submitted job has been reported.

        After ``keep_open()``, until ``close()`` has also been called; otherwise the submissions made so
        far (including the ``submit_soon`` ones still in flight) are all it waits for.

        Raises:
            JobTimeoutError: the batch deadline passed.
            IQMError: a submission or a status request failed (after retries).
        """
        while self._reported < self._submitted or self._more_to_come():
            try:
                with anyio.fail_after(self._remaining()):
                    item = await self._outcomes_receive.receive()
            except TimeoutError:
                raise self._timeout_error() from None
            if item is _SUBMISSIONS_ENDED:
                continue
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, JobOutcome)
            self._reported += 1
            yield item

    async def progress_events(self) -> AsyncIterator[BatchProgress]:
        """Yield a progress snapshot whenever it changes, until every submitted job is terminal.

        After ``keep_open()``, until ``close()`` has also been called.
        """
        while True:
            snapshot = self.progress()
            yield snapshot
            ended = snapshot.submitted or self._closed
            if ended and snapshot.finished >= snapshot.submitted and not self._more_to_come():
                return
            await self._changed.wait()

    async def _cancel_unfinished(self) -> None:
        unfinished = [
            job.job_id
            for job in self._jobs.values()
            if job.job_id not in self._states or not self._states[job.job_id].status.is_terminal
        ]
        if not unfinished:
            return
        with anyio.CancelScope(shield=True), anyio.move_on_after(_CANCEL_GRACE_SECONDS):
            async with anyio.create_task_group() as tg:
                for job_id in unfinished:
                    tg.start_soon(self._cancel_quietly, job_id)

    async def _cancel_quietly(self, job_id: UUID) -> None:
        with contextlib.suppress(IQMError):
            await self._services.cancel(job_id)
