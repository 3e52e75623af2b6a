"""The job queue and its executor: FIFO order, ``workers`` execution slots, cancellation, results.

A job is ``waiting`` in the FIFO queue (``queue_position`` = waiting jobs ahead of it) until an execution
slot takes it; it is then ``processing`` while being compiled and simulated (in a thread, so the event loop
keeps answering), and ends ``completed``, ``failed`` or ``cancelled``. Execution lasts at least
``job_duration_ms``, plus ``circuit_duration_ms`` per circuit and ``shot_duration_us`` per shot of each
circuit (``EmulatorSettings.execution_seconds``). Cancelling a waiting job removes it from the queue;
cancelling a running one interrupts it; a terminal job is left unchanged. Jobs left waiting or running at shutdown are queued again (in
submission order) when a persistent store is reopened.

An execution slot is only a count, not a task: a job gets a task when it starts and gives its slot to the
oldest waiting job when it ends, so a submission wakes nothing else and idle slots cost nothing, however
large ``workers`` is.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import chain
from typing import Any

import numpy as np

from iqm_client_async.emulator.noise import NoiseModel
from iqm_client_async.emulator.settings import EmulatorSettings
from iqm_client_async.emulator.simulator import (
    Sampling,
    SimulationError,
    SimulationStopped,
    sampling_note,
    simulate,
)
from iqm_client_async.emulator.store import JobRecord, JobStore
from iqm_client_async.emulator.submission import (
    Architecture,
    CompiledCircuit,
    RequestRejected,
    Submission,
    compilation_problems,
    parse_submission,
)
from iqm_client_async.models.jobs import JobStatus

logger = logging.getLogger("iqm_client_async.emulator")

SERVER = "iqm-server"
STATION = "iqm-station-control"
PROGRESS_LABEL = "Executing circuits"
_COMPLETED_ARTIFACTS = [
    {"type": "measurements"},
    {"type": "measurement_counts"},
]  # what a completed job offers
SIMULATION_THREADS = min(32, (os.cpu_count() or 1) * 4)
"""Most simulation threads, however many execution slots: simulation is CPU-bound, and a job's minimum
duration is waited for on the event loop, not in a thread."""


def timestamp() -> str:
    """The current UTC time as an ISO-8601 string with a ``Z`` suffix."""
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class PreparedSubmission:
    """A validated submission with its normalized payload already serialized.

    Attributes:
        submission: the validated request and its compiled circuits.
        payload: ``submission.payload`` as JSON bytes.
        validation_started: when validation began.
        validation_ended: when it ended.
    """

    submission: Submission
    payload: bytes
    validation_started: str
    validation_ended: str


class _Interrupted(Exception):
    """The job was cancelled (or the emulator stopped) between two circuits."""


class JobManager:
    """Owns the jobs of one emulator: submission, queue, execution, cancellation, deletion.

    Args:
        settings: the emulator's settings (seed, workers, job duration, noise).
        architecture: what submissions are validated and compiled against.
        store: where jobs are kept.
        noise: the noise model to simulate, or ``None`` for ideal simulation.
        counters: shared counters (``jobs_created``, ``jobs_completed``, ...).
    """

    def __init__(
        self,
        settings: EmulatorSettings,
        architecture: Architecture,
        store: JobStore,
        noise: NoiseModel | None,
        counters: Counter[str],
    ) -> None:
        self.settings = settings
        self.architecture = architecture
        self.store = store
        self.noise = noise
        self.counters = counters
        self._waiting: dict[str, JobRecord] = {}
        self._positions: dict[str, int] | None = None
        self._free_slots = settings.workers
        self._dispatch_handle: asyncio.Handle | None = None
        self._stopping = True  # until started
        self._running: dict[str, asyncio.Task[None]] = {}
        self._programs: dict[str, Submission] = {}
        self._job_data_cache: dict[str, tuple[int, int | None, bytes]] = {}
        self._submit_lock = asyncio.Lock()
        self._simulation_pool: ThreadPoolExecutor | None = None
        self._simulations: set[Future[tuple[bytes, bytes]]] = set()  # started or queued, not yet ended
        self._parse_pool: ThreadPoolExecutor | None = None

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Load stored jobs, queue again the unfinished ones, and start the execution slots."""
        await self.store.open()
        self._simulation_pool = ThreadPoolExecutor(
            min(self.settings.workers, SIMULATION_THREADS), thread_name_prefix="iqm-emulator-sim"
        )
        self._parse_pool = ThreadPoolExecutor(1, thread_name_prefix="iqm-emulator-parse")
        self._stopping = False
        for record in sorted(self.store.jobs.values(), key=lambda job: job.number):
            if not record.status.is_terminal:
                record.status = JobStatus.WAITING
                record.progress = None
                self._add_timeline(record, SERVER, "requeued")
                await self.store.update(record)
                self._enqueue(record)

    async def close(self) -> None:
        """Stop the execution slots (running jobs stay unfinished) and close the store."""
        self._stopping = True
        if self._dispatch_handle is not None:
            self._dispatch_handle.cancel()
            self._dispatch_handle = None
        running = list(self._running.values())
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        for pool in (self._simulation_pool, self._parse_pool):
            if pool is not None:
                pool.shutdown(wait=True)  # idle by now: every submitted call has been awaited
        self._simulation_pool = self._parse_pool = None
        await self.store.close()

    # ------------------------------------------------------------------ queries

    def get(self, job_id: str) -> JobRecord | None:
        """The job with this id, if it exists."""
        return self.store.jobs.get(job_id)

    def queue_position(self, record: JobRecord) -> int | None:
        """Number of waiting jobs ahead of a waiting job (``None`` for other statuses)."""
        if record.status is not JobStatus.WAITING:
            return None
        if self._positions is None:
            self._positions = {job_id: index for index, job_id in enumerate(self._waiting)}
        return self._positions.get(record.id)

    def queue_length(self) -> int:
        """Number of waiting jobs."""
        return len(self._waiting)

    def running_jobs(self) -> int:
        """Number of jobs being executed (cancelled ones may still be winding down, but are not counted)."""
        processing = (self.store.jobs.get(job_id) for job_id in self._running)
        return sum(1 for record in processing if record is not None and record.status is JobStatus.PROCESSING)

    def simulations_running(self) -> int:
        """Number of simulations not yet ended (a cancelled job's simulation counts until its thread lets go)."""
        return len(self._simulations)

    def job_data(self, record: JobRecord) -> bytes:
        """The job's ``JobData`` JSON, cached until the job or its queue position changes."""
        position = self.queue_position(record)
        cached = self._job_data_cache.get(record.id)
        if cached is not None and cached[0] == record.version and cached[1] == position:
            return cached[2]
        progress = record.progress
        document = {
            "id": record.id,
            "type": "circuit",
            "status": record.status.value,
            "execution": None
            if progress is None
            else {"progress": {PROGRESS_LABEL: {"value": progress[0], "max_value": progress[1]}}},
            "compilation": None
            if record.calibration_set_id is None
            else {"calibration_set_id": record.calibration_set_id},
            "messages": record.messages,
            "errors": record.errors,
            "queue_position": position,
            "timeline": record.timeline,
            "artifacts": _COMPLETED_ARTIFACTS if record.status is JobStatus.COMPLETED else [],
        }
        data = json.dumps(document).encode()
        self._job_data_cache[record.id] = (record.version, position, data)
        return data

    # ------------------------------------------------------------------ commands

    async def prepare(self, body: bytes) -> PreparedSubmission:
        """Validate a submission body off the event loop.

        Raises:
            RequestRejected: the body is malformed or its circuits are invalid.
        """
        assert self._parse_pool is not None, "the job manager is not started"
        return await asyncio.get_running_loop().run_in_executor(self._parse_pool, self._prepare, body)

    def _prepare(self, body: bytes) -> PreparedSubmission:
        started = timestamp()
        submission = parse_submission(body, self.architecture)
        payload = json.dumps(submission.payload).encode()
        return PreparedSubmission(submission, payload, started, timestamp())

    def replay(self, idempotency_key: str, digest: str) -> JobRecord | None:
        """The job earlier created with this ``Idempotency-Key`` (``None`` if there is none).

        Raises:
            RequestRejected: the key was used with a different request body (422).
        """
        record = self.store.by_idempotency_key.get(idempotency_key)
        if record is not None and record.request_digest != digest:
            raise RequestRejected(
                f"Idempotency-Key {idempotency_key!r} was already used for a different request",
                status_code=422,
                error_code="idempotency_key_reused",
            )
        return record

    async def submit(
        self,
        prepared: PreparedSubmission,
        *,
        quantum_computer: str,
        received_at: str,
        idempotency_key: str | None = None,
        digest: str | None = None,
    ) -> tuple[JobRecord, bool]:
        """Create and queue a job, or return the one created earlier with the same ``Idempotency-Key``.

        Returns:
            The job, and whether it already existed (an idempotent replay).

        Raises:
            RequestRejected: the key was used with a different request body.
        """
        async with self._submit_lock:
            if idempotency_key is not None:
                existing = self.replay(idempotency_key, digest or "")
                if existing is not None:
                    return existing, True
            record = JobRecord(
                id=str(uuid.uuid4()),
                number=self.store.allocate_number(),
                quantum_computer=quantum_computer,
                status=JobStatus.WAITING,
                payload=prepared.payload,
                idempotency_key=idempotency_key,
                request_digest=digest,
                timeline=[
                    {"source": SERVER, "status": "created", "timestamp": received_at},
                    {
                        "source": SERVER,
                        "status": "validation_started",
                        "timestamp": prepared.validation_started,
                    },
                    {"source": SERVER, "status": "validation_ended", "timestamp": prepared.validation_ended},
                ],
                messages=[{"source": SERVER, "message": text} for text in prepared.submission.messages],
            )
            await self.store.insert(record)
        self.counters["jobs_created"] += 1
        self._programs[record.id] = prepared.submission
        self._enqueue(record)
        return record, False

    async def cancel(self, record: JobRecord) -> None:
        """Cancel a job: a waiting one never runs, a running one is interrupted, a terminal one is unchanged."""
        if record.status.is_terminal:
            return
        task = self._running.get(record.id)
        if record.status is JobStatus.WAITING:
            self._dequeue(record)
        else:
            self._add_timeline(record, STATION, "aborted")
        self._set_status(record, JobStatus.CANCELLED)
        if task is not None:
            task.cancel()
        self._programs.pop(record.id, None)
        await self.store.update(record)

    async def delete(self, record: JobRecord) -> None:
        """Cancel a job if it is unfinished, then forget it."""
        if record.status is JobStatus.WAITING:
            self._dequeue(record)
        task = self._running.get(record.id)
        if task is not None:
            task.cancel()
        self._programs.pop(record.id, None)
        self._job_data_cache.pop(record.id, None)
        await self.store.delete(record)
        self.counters["jobs_deleted"] += 1

    # ------------------------------------------------------------------ queue

    def _enqueue(self, record: JobRecord) -> None:
        self._waiting[record.id] = record
        self._positions = None
        if self._dispatch_handle is None and not self._stopping:
            # On the next loop iteration, as a woken worker would: the submitter still sees ``waiting``.
            self._dispatch_handle = asyncio.get_running_loop().call_soon(self._scheduled_dispatch)

    def _dequeue(self, record: JobRecord) -> None:
        self._waiting.pop(record.id, None)
        self._positions = None

    def _scheduled_dispatch(self) -> None:
        self._dispatch_handle = None
        self._dispatch()

    def _dispatch(self) -> None:
        """Start waiting jobs, oldest first, while execution slots are free."""
        while self._free_slots > 0 and self._waiting and not self._stopping:
            record = next(iter(self._waiting.values()))
            self._dequeue(record)
            self._free_slots -= 1
            self._set_status(record, JobStatus.PROCESSING)
            task = asyncio.create_task(self._execute(record), name=f"iqm-emulator-job-{record.id}")
            self._running[record.id] = task
            # A callback, not a ``finally``: a task cancelled before its first step never runs its body.
            task.add_done_callback(functools.partial(self._job_ended, record.id))

    def _job_ended(self, job_id: str, task: asyncio.Task[None]) -> None:
        """Free the slot of an ended (or cancelled) job and start the next waiting one."""
        del self._running[job_id]
        self._free_slots += 1
        if not task.cancelled() and (error := task.exception()) is not None:
            logger.error("Executing job %s failed unexpectedly", job_id, exc_info=error)
        self._dispatch()  # does nothing when the emulator is stopping

    # ------------------------------------------------------------------ execution

    async def _execute(self, record: JobRecord) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        self._add_timeline(record, STATION, "received")
        self._add_timeline(record, STATION, "compilation_started")
        submission = self._programs.pop(record.id, None)
        if submission is None:  # queued again after a restart: compile from the stored payload
            submission = (await self.prepare(record.payload)).submission
        record.calibration_set_id = submission.calibration_set_id or self.architecture.calibration_set_id
        problems = compilation_problems(submission.circuits, self.architecture)
        self._add_timeline(record, STATION, "compilation_ended")
        if problems:
            await self._fail(record, [_error(problem, "compilation_error") for problem in problems])
            return
        record.progress = (0, len(submission.circuits))
        self._add_timeline(record, STATION, "execution_started")
        await self.store.update(record)

        def report(done: int) -> None:
            loop.call_soon_threadsafe(self._set_progress, record, done)

        interrupt = threading.Event()
        sampling_notes: list[str] = []
        assert self._simulation_pool is not None
        future = self._simulation_pool.submit(
            _run_circuits,
            submission.circuits,
            shots=submission.shots,
            rng=self._rng(record.number),
            noise=self.noise,
            active_reset_cycles=submission.active_reset_cycles,
            interrupt=interrupt,
            report=report,
            notes=sampling_notes,
        )
        self._simulations.add(future)
        future.add_done_callback(self._simulations.discard)  # in the simulation thread: set ops are atomic
        try:
            measurements, counts = await asyncio.wrap_future(future)
            minimum = self.settings.execution_seconds(len(submission.circuits), submission.shots)
            remaining = minimum - (loop.time() - started)
            if remaining > 0:
                await asyncio.sleep(remaining)
        except asyncio.CancelledError:
            interrupt.set()
            if not future.cancel():  # not queued for a simulation thread any more: it has started
                with contextlib.suppress(BaseException):  # let the thread notice before the task ends
                    await asyncio.wrap_future(future)
            raise
        except _CircuitFailed as failure:
            await self._fail(record, [_error(str(failure), failure.error_code)])
            return
        except Exception:
            logger.exception("Simulating job %s failed unexpectedly", record.id)
            await self._fail(
                record, [_error("The emulator failed while simulating the job", "internal_error")]
            )
            return
        if record.status is not JobStatus.PROCESSING:
            return
        record.measurements, record.measurement_counts = measurements, counts
        record.messages.extend({"source": STATION, "message": note} for note in sampling_notes)
        self.counters["circuits_with_shared_trajectories"] += len(sampling_notes)
        self._add_timeline(record, STATION, "execution_ended")
        self._add_timeline(record, STATION, "ready")
        self._set_status(record, JobStatus.COMPLETED)
        await self.store.update(record)

    async def _fail(self, record: JobRecord, errors: list[dict[str, Any]]) -> None:
        if record.status is not JobStatus.PROCESSING:
            return
        record.errors = errors
        self._add_timeline(record, STATION, "failed")
        self._set_status(record, JobStatus.FAILED)
        await self.store.update(record)

    def _rng(self, number: int) -> np.random.Generator:
        if self.settings.seed is None:
            return np.random.default_rng()
        return np.random.default_rng(np.random.SeedSequence(self.settings.seed, spawn_key=(number,)))

    # ------------------------------------------------------------------ record changes

    def _set_status(self, record: JobRecord, status: JobStatus) -> None:
        record.status = status
        if status.is_terminal:
            self._add_timeline(record, SERVER, status.value)
            self.counters[f"jobs_{status.value}"] += 1
        record.version += 1

    def _set_progress(self, record: JobRecord, done: int) -> None:
        if record.progress is not None and record.status is JobStatus.PROCESSING:
            record.progress = (done, record.progress[1])
            record.version += 1

    @staticmethod
    def _add_timeline(record: JobRecord, source: str, status: str) -> None:
        record.timeline.append({"source": source, "status": status, "timestamp": timestamp()})
        record.version += 1


def _error(message: str, error_code: str) -> dict[str, Any]:
    return {"message": message, "error_code": error_code, "source": SERVER, "detail": message}


class _CircuitFailed(Exception):
    """One circuit of a job could not be simulated."""

    def __init__(self, message: str, error_code: str) -> None:
        super().__init__(message)
        self.error_code = error_code


def _run_circuits(
    circuits: Sequence[CompiledCircuit],
    *,
    shots: int,
    rng: np.random.Generator,
    noise: NoiseModel | None,
    active_reset_cycles: int | None,
    interrupt: threading.Event,
    report: Callable[[int], None],
    notes: list[str] | None = None,
) -> tuple[bytes, bytes]:
    """Simulate every circuit of a job (in a worker thread); return both result artifacts as JSON.

    ``notes`` receives a message for every circuit whose shots shared noise trajectories.
    """
    measurements: list[str] = []  # JSON of each circuit's results
    counts: list[str] = []  # JSON of each circuit's counts (Python dicts of every circuit would weigh more)
    for index, circuit in enumerate(circuits):
        if interrupt.is_set():
            raise _Interrupted
        samplings: list[Sampling] = []
        try:
            result = simulate(
                circuit.instructions,
                shots=shots,
                rng=rng,
                noise=noise,
                herald=circuit.herald,
                active_reset_cycles=active_reset_cycles,
                on_sampling=samplings.append,
                should_stop=interrupt.is_set,
            )
        except SimulationStopped:
            raise _Interrupted from None
        except SimulationError as exc:
            raise _CircuitFailed(
                f"Circuit {index} ('{circuit.name}'): {exc.message}", exc.error_code or ""
            ) from exc
        if notes is not None:
            notes += [sampling_note(index, circuit.name, s) for s in samplings if s.trajectories < s.shots]
        ordered = {key: result[key] for key in circuit.measurement_keys}
        measurements.append(_interruptible_json(ordered, interrupt))
        if interrupt.is_set():
            raise _Interrupted
        histogram = {
            "measurement_keys": list(circuit.measurement_keys),
            "counts": _counts(ordered, shots, interrupt),
        }
        counts.append(json.dumps(histogram))
        report(index + 1)
    return f"[{', '.join(measurements)}]".encode(), f"[{', '.join(counts)}]".encode()


def _interruptible_json(results: dict[str, list[list[int]]], interrupt: threading.Event) -> str:
    """``json.dumps(results)``, one key at a time so that a cancellation is noticed between keys."""
    parts = []
    for key, rows in results.items():
        if interrupt.is_set():
            raise _Interrupted
        parts.append(f"{json.dumps(key)}: {json.dumps(rows)}")
    return f"{{{', '.join(parts)}}}"


_COUNTS_BLOCK = 1 << 16  # shots tallied between two looks at the interrupt


def _counts(
    results: dict[str, list[list[int]]], shots: int, interrupt: threading.Event | None = None
) -> dict[str, int]:
    """Bitstring histogram: each shot's bits of every key, keys in order, bits in locus order."""
    columns = list(results.values())
    if not columns:
        return {"": shots}
    tally: Counter[str] = Counter()
    total = len(columns[0])
    for first in range(0, total, _COUNTS_BLOCK):
        if interrupt is not None and interrupt.is_set():
            raise _Interrupted
        tally.update(
            "".join(map(str, chain.from_iterable(column[shot] for column in columns)))
            for shot in range(first, min(first + _COUNTS_BLOCK, total))
        )
    return dict(sorted(tally.items()))
