"""Jobs as the server reports them: status, progress, messages, errors and timeline."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

from pydantic import AfterValidator, ConfigDict, Field, TypeAdapter, computed_field, model_validator
from pydantic.dataclasses import dataclass as pydantic_dataclass

from .._sanitize import one_line
from ._base import ResponseModel

__all__ = [
    "IQMServerError",
    "JobArtifactInfo",
    "JobCompilation",
    "JobData",
    "JobExecution",
    "JobMessage",
    "JobStatus",
    "ProgressInfo",
    "TimelineEntry",
]

_DEFAULT_SOURCE = "iqm-server"


class JobStatus(StrEnum):
    """Status of a job on the server."""

    WAITING = "waiting"
    """Queued; ``JobData.queue_position`` says how many jobs are ahead."""
    PROCESSING = "processing"
    """Being compiled or executed."""
    COMPLETED = "completed"
    """Finished successfully; results are available."""
    FAILED = "failed"
    """Finished with errors (``JobData.errors``)."""
    CANCELLED = "cancelled"
    """Cancelled by a user or an administrator."""

    @classmethod
    def terminal_statuses(cls) -> frozenset[JobStatus]:
        """The statuses a job never leaves: completed, failed, cancelled."""
        return _TERMINAL

    @property
    def is_terminal(self) -> bool:
        """Whether the job will never change status again."""
        return self in _TERMINAL


_TERMINAL = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED})


class ProgressInfo(ResponseModel):
    """Progress of one task.

    Attributes:
        value: work done so far.
        max_value: work to do in total.
    """

    value: int
    max_value: int


class JobExecution(ResponseModel):
    """Execution progress of a job.

    Attributes:
        progress: free-text label -> progress of that task.
    """

    progress: dict[str, ProgressInfo]


class JobCompilation(ResponseModel):
    """Compilation facts of a job.

    Attributes:
        calibration_set_id: the calibration set the compiler actually used.
    """

    calibration_set_id: UUID | None = None


def _printable_line(text: str) -> str:
    return text if text.isprintable() and len(text) <= _MAX_SERVER_TEXT else one_line(text, _MAX_SERVER_TEXT)


_MAX_SERVER_TEXT = 10_000
ServerText = Annotated[str, AfterValidator(_printable_line)]
"""Server text that reaches logs, warnings and exception messages: one printable line, at most 10,000
characters (escape sequences and control characters removed)."""


class JobMessage(ResponseModel):
    """An informational message about a job.

    Attributes:
        source: the service that wrote it, e.g. ``iqm-server``.
        message: the text (one printable line).
    """

    source: ServerText
    message: ServerText

    def __str__(self) -> str:
        return f"{self.source}: {self.message}"


@pydantic_dataclass(slots=True, config=ConfigDict(extra="ignore"))
class TimelineEntry:
    """A step a job reached on the server.

    A slotted pydantic dataclass rather than a ``BaseModel``: every status response carries several
    of these, and with thousands of jobs in flight a model's per-instance ``__dict__`` and fields-set
    would be a third of the client's memory per job. ``model_dump`` is kept for code written for
    the reference's model.

    Attributes:
        source: the service that recorded it, e.g. ``iqm-server`` or ``iqm-station-control``.
        status: name of the step (free text, e.g. ``execution_started``).
        timestamp: when the step was reached.
    """

    source: str
    status: str
    timestamp: datetime

    def model_dump(self, **kwargs: Any) -> dict[str, Any]:
        """The entry as a dict (``TypeAdapter.dump_python`` keyword arguments accepted)."""
        result: dict[str, Any] = _TIMELINE_ENTRY.dump_python(self, **kwargs)
        return result


_TIMELINE_ENTRY: TypeAdapter[TimelineEntry] = TypeAdapter(TimelineEntry)


class JobArtifactInfo(ResponseModel):
    """An artifact of a job that the server has available now.

    Attributes:
        type: the artifact's kind, e.g. ``measurements``.
    """

    type: str


class IQMServerError(ResponseModel):
    """An error as the server describes it: in error responses and in ``JobData.errors``.

    Older services send ``{"detail": ...}`` instead of ``message`` and may omit ``source``; both are
    accepted (``message`` falls back to ``detail``, ``source`` to ``iqm-server``). Dumps repeat
    ``message`` as the deprecated ``detail`` for older readers.

    Attributes:
        message: human-readable description.
        error_code: machine-readable code, if any.
        source: the service that raised it.
    """

    message: ServerText
    error_code: ServerText | None = None
    source: ServerText = _DEFAULT_SOURCE

    @model_validator(mode="before")
    @classmethod
    def _accept_legacy_detail(cls, data: Any) -> Any:
        if isinstance(data, dict) and "message" not in data and isinstance(data.get("detail"), str):
            return {**data, "message": data["detail"]}
        return data

    @computed_field  # type: ignore[prop-decorator]
    @property
    def detail(self) -> str:
        """Deprecated duplicate of ``message``."""
        return self.message

    def __str__(self) -> str:
        return f"{self.source}: {self.error_code}: {self.message}"


class JobData(ResponseModel):
    """A job as ``GET /api/v1/jobs/{id}`` returns it.

    Attributes:
        id: the job id.
        status: its current status.
        type: kind of job: ``circuit`` or ``run`` (older servers do not send it; None then).
        execution: execution progress, once executing.
        compilation: compilation facts (e.g. the calibration set used), once compiled.
        messages: informational messages.
        errors: errors of a failed job.
        queue_position: jobs ahead of this one, only while waiting.
        timeline: steps reached so far, in order, possibly from several services.
        artifacts: artifacts available now (more may appear until the job is terminal).
    """

    id: UUID
    status: JobStatus
    type: str | None = None
    execution: JobExecution | None = None
    compilation: JobCompilation | None = None
    messages: list[JobMessage] = Field(default_factory=list)
    errors: list[IQMServerError] = Field(default_factory=list)
    queue_position: int | None = None
    timeline: list[TimelineEntry] = Field(default_factory=list)
    artifacts: list[JobArtifactInfo] = Field(default_factory=list)

    def find_timeline_entry(self, *, status: str, source: str | None = None) -> TimelineEntry | None:
        """The first timeline entry with this status (and source, if given).

        Args:
            status: the step name to look for.
            source: the service that must have recorded it; None accepts any.

        Returns:
            The entry, or None if the timeline has none.
        """
        for entry in self.timeline:
            if entry.status == status and (source is None or entry.source == source):
                return entry
        return None
