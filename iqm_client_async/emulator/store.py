"""Job records, kept in memory and optionally written through to SQLite so they survive a restart.

Every write to the database goes through one dedicated thread (sqlite3 connections are not shared
between threads) and is awaited, so a job is on disk before its submission is answered.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from iqm_client_async._errors import IQMError
from iqm_client_async.models.jobs import JobStatus

_T = TypeVar("_T")
_SCHEMA_VERSION = "1"


class StoreError(IQMError):
    """The job database cannot be used (it belongs to another QPU preset, or has an unknown schema)."""


@dataclass(slots=True, eq=False)
class JobRecord:
    """Everything the emulator knows about one job.

    Attributes:
        id: the job id (UUID string).
        number: submission sequence number: FIFO order and the job's sampling seed.
        quantum_computer: alias of the quantum computer the job was submitted to.
        status: current status.
        payload: the submitted request normalized to the current RunRequest JSON format.
        idempotency_key: the submission's ``Idempotency-Key`` header, if any.
        request_digest: SHA-256 of the submitted body (to refuse a key reused for another body).
        timeline: ``{"source", "status", "timestamp"}`` entries in order.
        messages: informational ``{"source", "message"}`` entries.
        errors: IQMServerError dicts of a failed job.
        calibration_set_id: the calibration set the job was compiled with (set once compiled).
        progress: ``(circuits done, circuits)`` once execution started.
        measurements: the measurements artifact (JSON) of a completed job.
        measurement_counts: the measurement counts artifact (JSON) of a completed job.
        version: bumped on every change, to invalidate cached responses (not persisted).
    """

    id: str
    number: int
    quantum_computer: str
    status: JobStatus
    payload: bytes
    idempotency_key: str | None = None
    request_digest: str | None = None
    timeline: list[dict[str, str]] = field(default_factory=list)
    messages: list[dict[str, str]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    calibration_set_id: str | None = None
    progress: tuple[int, int] | None = None
    measurements: bytes | None = None
    measurement_counts: bytes | None = None
    version: int = 0


_CREATE = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    number INTEGER NOT NULL,
    quantum_computer TEXT NOT NULL,
    status TEXT NOT NULL,
    payload BLOB NOT NULL,
    idempotency_key TEXT UNIQUE,
    request_digest TEXT,
    timeline TEXT NOT NULL,
    messages TEXT NOT NULL,
    errors TEXT NOT NULL,
    calibration_set_id TEXT,
    progress TEXT,
    measurements BLOB,
    measurement_counts BLOB
);
"""
_COLUMNS = (
    "id, number, quantum_computer, status, payload, idempotency_key, request_digest, timeline, messages, "
    "errors, calibration_set_id, progress, measurements, measurement_counts"
)


class JobStore:
    """All jobs of one emulator, by id and by idempotency key.

    Args:
        path: SQLite file to persist to, or ``None`` for memory only.
        qpu: the QPU preset name; a database written for another preset is refused.
    """

    def __init__(self, path: Path | None, *, qpu: str) -> None:
        self.path = path
        self.qpu = qpu
        self.jobs: dict[str, JobRecord] = {}
        self.by_idempotency_key: dict[str, JobRecord] = {}
        self.next_number = 1
        self._pool: ThreadPoolExecutor | None = None
        self._connection: sqlite3.Connection | None = None

    async def open(self) -> None:
        """Load the jobs stored by earlier runs (memory-only stores start empty).

        Raises:
            StoreError: the database belongs to another QPU preset or has an unknown schema.
        """
        if self.path is None:
            return
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="iqm-emulator-db")
        try:
            records, next_number = await self._run(self._open_database)
        except BaseException:
            await self.close()
            raise
        for record in records:
            self._remember(record)
        self.next_number = next_number

    async def close(self) -> None:
        """Close the database (if any) and stop its thread."""
        if self._pool is None:
            return
        if self._connection is not None:
            await self._run(self._connection.close)
            self._connection = None
        pool, self._pool = self._pool, None
        pool.shutdown(wait=True)  # idle by now: every database call has been awaited

    def allocate_number(self) -> int:
        """The next submission sequence number."""
        number = self.next_number
        self.next_number += 1
        return number

    async def insert(self, record: JobRecord) -> None:
        """Store a new job (on disk first, then in memory)."""
        if self._pool is not None:
            await self._run(self._insert_row, record)
        self._remember(record)

    async def update(self, record: JobRecord) -> None:
        """Persist a job's status, timeline, messages, errors, calibration set and artifacts."""
        if self._pool is not None and record.id in self.jobs:
            await self._run(self._update_row, record)

    async def delete(self, record: JobRecord) -> None:
        """Forget a job for good."""
        self.jobs.pop(record.id, None)
        if record.idempotency_key is not None:
            self.by_idempotency_key.pop(record.idempotency_key, None)
        if self._pool is not None:
            await self._run(self._delete_row, record.id)

    def _remember(self, record: JobRecord) -> None:
        self.jobs[record.id] = record
        if record.idempotency_key is not None:
            self.by_idempotency_key[record.idempotency_key] = record

    async def _run(self, function: Callable[..., _T], *args: Any) -> _T:
        assert self._pool is not None
        return await asyncio.get_running_loop().run_in_executor(self._pool, function, *args)

    # --- the functions below run in the database thread

    def _open_database(self) -> tuple[list[JobRecord], int]:
        assert self.path is not None
        connection = sqlite3.connect(self.path)
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            with connection:
                connection.executescript(_CREATE)
                meta = dict(connection.execute("SELECT key, value FROM meta").fetchall())
                if meta.get("schema", _SCHEMA_VERSION) != _SCHEMA_VERSION:
                    raise StoreError(f"Job database {self.path} has unknown schema version {meta['schema']}")
                if meta.get("qpu", self.qpu) != self.qpu:
                    raise StoreError(
                        f"Job database {self.path} holds jobs of QPU {meta['qpu']!r}, not {self.qpu!r}; "
                        "use another --db file"
                    )
                connection.executemany(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                    [("schema", _SCHEMA_VERSION), ("qpu", self.qpu)],
                )
            rows = connection.execute(f"SELECT {_COLUMNS} FROM jobs ORDER BY number").fetchall()  # noqa: S608
        except BaseException:
            connection.close()
            raise
        self._connection = connection
        records = [_record_from_row(row) for row in rows]
        next_number = max([int(meta.get("next_number", 1))] + [record.number + 1 for record in records])
        return records, next_number

    def _insert_row(self, record: JobRecord) -> None:
        assert self._connection is not None
        with self._connection:
            self._connection.execute(
                f"INSERT INTO jobs ({_COLUMNS}) VALUES ({', '.join('?' * 14)})",  # noqa: S608
                _row_from_record(record),
            )
            self._connection.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('next_number', ?)",
                (str(record.number + 1),),
            )

    def _update_row(self, record: JobRecord) -> None:
        assert self._connection is not None
        with self._connection:
            self._connection.execute(
                "UPDATE jobs SET status = ?, timeline = ?, messages = ?, errors = ?, calibration_set_id = ?, "
                "progress = ?, measurements = ?, measurement_counts = ? WHERE id = ?",
                (
                    record.status.value,
                    json.dumps(record.timeline),
                    json.dumps(record.messages),
                    json.dumps(record.errors),
                    record.calibration_set_id,
                    _progress_json(record.progress),
                    record.measurements,
                    record.measurement_counts,
                    record.id,
                ),
            )

    def _delete_row(self, job_id: str) -> None:
        assert self._connection is not None
        with self._connection:
            self._connection.execute("DELETE FROM jobs WHERE id = ?", (job_id,))


def _row_from_record(record: JobRecord) -> tuple[Any, ...]:
    return (
        record.id,
        record.number,
        record.quantum_computer,
        record.status.value,
        record.payload,
        record.idempotency_key,
        record.request_digest,
        json.dumps(record.timeline),
        json.dumps(record.messages),
        json.dumps(record.errors),
        record.calibration_set_id,
        _progress_json(record.progress),
        record.measurements,
        record.measurement_counts,
    )


def _record_from_row(row: tuple[Any, ...]) -> JobRecord:
    return JobRecord(
        id=row[0],
        number=row[1],
        quantum_computer=row[2],
        status=JobStatus(row[3]),
        payload=bytes(row[4]),
        idempotency_key=row[5],
        request_digest=row[6],
        timeline=json.loads(row[7]),
        messages=json.loads(row[8]),
        errors=json.loads(row[9]),
        calibration_set_id=row[10],
        progress=None if row[11] is None else tuple(json.loads(row[11])),
        measurements=None if row[12] is None else bytes(row[12]),
        measurement_counts=None if row[13] is None else bytes(row[13]),
    )


def _progress_json(progress: tuple[int, int] | None) -> str | None:
    return None if progress is None else json.dumps(progress)
