"""What jobs and batches need from their client: the one door between them.

``AsyncCircuitJob`` and ``JobBatch`` hold a ``JobServices``, never the client itself, so no private
attribute of the client crosses a module boundary and a change inside the client cannot break them
silently: what they may use is listed (and typed) here.

::

    AsyncIQMClient ──builds──► JobServices ──given to──► AsyncCircuitJob, JobBatch
         │                        │ poller (JobPoller: waits and status requests, shared per client)
         │                        │ get_measurements, get_measurement_counts, get_payload, cancel,
         │                        │ submit_circuits, note_calibration_set
         └── HTTPClient ◄─────────┘ (every request goes through the client's request layer)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from uuid import UUID

from ._job_poller import JobPoller
from .models import CircuitMeasurementCounts, CircuitMeasurementResultsBatch, PostJobsRequest

if TYPE_CHECKING:
    from .job import AsyncCircuitJob

__all__ = ["JobServices"]


@dataclass(frozen=True, slots=True)
class JobServices:
    """The client's operations a job or a batch may use (bound methods of one ``AsyncIQMClient``).

    Attributes:
        poller: the client's job poller (one per client; every status request of every job).
        note_calibration_set: tells the client which calibration set a default-calibration job used.
        get_measurements: a job's measurement results.
        get_measurement_counts: a job's measurement counts.
        get_payload: the run request that created a job, as the server stored it.
        cancel: cancels a job.
        submit_circuits: ``AsyncIQMClient.submit_circuits``.
    """

    poller: JobPoller
    note_calibration_set: Callable[[UUID | None], None]
    get_measurements: Callable[[UUID], Awaitable[CircuitMeasurementResultsBatch]]
    get_measurement_counts: Callable[[UUID], Awaitable[list[CircuitMeasurementCounts]]]
    get_payload: Callable[[UUID], Awaitable[PostJobsRequest]]
    cancel: Callable[[UUID], Awaitable[None]]
    submit_circuits: Callable[..., Awaitable[AsyncCircuitJob]]
