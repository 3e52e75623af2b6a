"""Benchmark 5 — polling load: status requests for one job that waits in the queue, then runs.

Emulator (own process, a fresh one per run): ``--latency-ms 20 --workers 1 --job-duration-ms 1000``. First
K jobs are submitted with plain httpx and never polled; then a fresh client submits one job and waits for
its result, so the job waits about K seconds in the queue and runs 1 s. Every status request the
emulator counts during that time is the measured job's (``/about`` counter ``status_requests``); the
reference's includes the one its ``result()`` makes. The added latency (server ``ready`` timestamp to
result in hand) is reported next to it, since polling less is only good if the result still comes soon.

Target: at most half the reference's status requests, while meeting the latency target (70 ms).
"""

from __future__ import annotations

import time
from typing import Any

import anyio

from ._clients import (
    QUANTUM_COMPUTER,
    our_circuit,
    our_client,
    quiet_stderr,
    run_request_body,
    submit_raw_blocking,
)
from ._common import EmulatorProcess, Measurement, Sizes, bell_specs, build_circuits, load_reference, median
from .latency import TARGET_MS, _ready_time

NAME = "polling load"
LATENCY_MS = 20.0


async def _ours(url: str) -> float:
    circuit = our_circuit(bell_specs())
    async with our_client(url) as client:
        job = await client.submit_circuits([circuit])
        await job.result_or_raise()
        return time.time() - _ready_time(job.find_timeline_entry)


def _reference(reference: Any, url: str) -> float:
    circuit = build_circuits([bell_specs()], reference.Circuit, reference.CircuitOperation)[0]
    client = reference.IQMClient(url, quantum_computer=QUANTUM_COMPUTER)
    job = client.submit_circuits([circuit])
    with quiet_stderr():
        job.wait_for_completion()
    if job.result() is None:
        raise RuntimeError(f"reference job {job.job_id} ended {job.status}")
    return time.time() - _ready_time(job.find_timeline_entry)


def _one_run(sizes: Sizes, wait_for_job: Any) -> tuple[int, float]:
    """Status requests for, and added latency of, one job queued behind ``sizes.polling_jobs_ahead`` jobs."""
    body = run_request_body(bell_specs())
    with EmulatorProcess(
        latency_ms=LATENCY_MS, workers=1, job_duration_ms=sizes.polling_job_duration_ms
    ) as emulator:
        submit_raw_blocking(emulator.url, body, sizes.polling_jobs_ahead)
        before = emulator.counters()["status_requests"]
        added = wait_for_job(emulator.url)
        return emulator.counters()["status_requests"] - before, added


def run(sizes: Sizes, *, with_reference: bool = True) -> list[Measurement]:
    """Median status requests and added latency over ``sizes.polling_repeats`` runs per client."""
    reference = load_reference() if with_reference else None
    ours_runs = []
    reference_runs = []
    for _ in range(sizes.polling_repeats):
        ours_runs.append(_one_run(sizes, lambda url: anyio.run(_ours, url)))
        if reference is not None:
            reference_runs.append(_one_run(sizes, lambda url: _reference(reference, url)))
    ours_requests = median([requests for requests, _ in ours_runs])
    ours_ms = median([added for _, added in ours_runs]) * 1e3
    reference_requests = median([requests for requests, _ in reference_runs]) if reference_runs else None
    reference_ms = median([added for _, added in reference_runs]) * 1e3 if reference_runs else None
    scenario = f"{sizes.polling_jobs_ahead} jobs ahead, {sizes.polling_job_duration_ms / 1000:g} s each"
    return [
        Measurement(
            NAME,
            f"status requests for one job ({scenario})",
            ours_requests,
            reference_requests,
            unit="requests",
            target="<= half the reference's",
            met=None if reference_requests is None else ours_requests <= reference_requests / 2,
            note=f"median of {sizes.polling_repeats} runs",
        ),
        Measurement(
            NAME,
            "  its added latency (ready -> result in hand)",
            ours_ms,
            reference_ms,
            unit="ms",
            target=f"<= {TARGET_MS:g} ms",
            met=ours_ms <= TARGET_MS,
        ),
    ]
