"""Benchmark 4 — added latency: from a job being ready on the server to its result in the caller's hands.

Emulator (own process): ``--latency-ms 20 --job-duration-ms 1500 --workers 1000`` (500 ms with ``--quick``;
not a whole number of seconds: a 1 s job would finish in step with the reference's 1 s polling period and flatter it; with
1.5 s its wait is half a period, its average). One client runs N jobs,
submitted 150 ms apart so that their completions do not coincide; each job is awaited on its own
(ours: ``result_or_raise()``; the reference: ``wait_for_completion()`` then ``result()``, one thread per
job). For every job, the added latency is the local wall-clock time when the result is returned minus
the ``ready`` timestamp of the server's timeline (same machine, same clock). The earliest jobs of a fresh
client know nothing about job durations yet; later ones use what the client learnt from the earlier ones.

Target (median): two round trips + 30 ms = 70 ms at 20 ms latency.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import anyio

from ._clients import QUANTUM_COMPUTER, our_circuit, our_client, quiet_stderr
from ._common import EmulatorProcess, Measurement, Sizes, bell_specs, build_circuits, load_reference, median

NAME = "added latency"
LATENCY_MS = 20.0
WORKERS = 1000
STAGGER_S = 0.15
TARGET_MS = 2 * LATENCY_MS + 30


def _ready_time(find_timeline_entry: Any) -> float:
    entry = find_timeline_entry("ready") or find_timeline_entry("completed")
    timestamp: datetime = entry.timestamp
    return timestamp.timestamp()


async def _ours(url: str, jobs: int) -> list[float]:
    circuit = our_circuit(bell_specs())
    added: list[float] = []
    async with our_client(url) as client:
        await client.get_dynamic_quantum_architecture()

        async def one(delay: float) -> None:
            await anyio.sleep(delay)
            job = await client.submit_circuits([circuit])
            await job.result_or_raise()
            in_hand = time.time()
            added.append(in_hand - _ready_time(job.find_timeline_entry))

        async with anyio.create_task_group() as tg:
            for index in range(jobs):
                tg.start_soon(one, index * STAGGER_S)
    return added


def _reference(reference: Any, url: str, jobs: int) -> list[float]:
    circuit = build_circuits([bell_specs()], reference.Circuit, reference.CircuitOperation)[0]
    client = reference.IQMClient(url, quantum_computer=QUANTUM_COMPUTER)
    started = time.monotonic()

    def one(index: int) -> float:
        time.sleep(max(0.0, started + index * STAGGER_S - time.monotonic()))
        job = client.submit_circuits([circuit])
        job.wait_for_completion()
        if job.result() is None:
            raise RuntimeError(f"reference job {job.job_id} ended {job.status}")
        in_hand = time.time()
        return in_hand - _ready_time(job.find_timeline_entry)

    with quiet_stderr(), ThreadPoolExecutor(jobs) as pool:
        return list(pool.map(one, range(jobs)))


def _status_requests_per_job(emulator: EmulatorProcess, jobs: int, work: Any) -> tuple[Any, float]:
    before = emulator.counters()["status_requests"]
    outcome = work()
    return outcome, (emulator.counters()["status_requests"] - before) / jobs


def run(sizes: Sizes, *, with_reference: bool = True) -> list[Measurement]:
    """Median added latency for both clients, and the status requests they sent per job meanwhile."""
    jobs = sizes.latency_jobs
    reference = load_reference() if with_reference else None
    duration_ms = sizes.latency_job_duration_ms
    with EmulatorProcess(latency_ms=LATENCY_MS, workers=WORKERS, job_duration_ms=duration_ms) as emulator:
        ours, ours_polls = _status_requests_per_job(
            emulator, jobs, lambda: anyio.run(_ours, emulator.url, jobs)
        )
        reference_added: list[float] | None = None
        reference_polls: float | None = None
        if reference is not None:
            reference_added, reference_polls = _status_requests_per_job(
                emulator, jobs, lambda: _reference(reference, emulator.url, jobs)
            )
    ours_ms = median(ours) * 1e3
    reference_ms = median(reference_added) * 1e3 if reference_added else None
    late = sorted(ours)[-max(1, len(ours) // 10)] * 1e3
    return [
        Measurement(
            NAME,
            f"ready -> result in hand, median of {jobs} jobs ({duration_ms / 1000:g} s each)",
            ours_ms,
            reference_ms,
            unit="ms",
            target=f"<= {TARGET_MS:g} ms",
            met=ours_ms <= TARGET_MS,
            note=f"ours: 90th percentile {late:.0f} ms, worst {max(ours) * 1e3:.0f} ms",
        ),
        Measurement(
            NAME,
            "  status requests per job meanwhile",
            ours_polls,
            reference_polls,
            unit="requests/job",
        ),
    ]
