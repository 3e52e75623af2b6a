"""Benchmark 3 — many jobs: submit N one-circuit jobs at once and collect every result.

Emulator (own process): ``--latency-ms 20 --job-duration-ms 200 --workers 100000``, so every job runs as
soon as it arrives and takes 200 ms (the longest wait between validation and execution start is reported:
tens of ms, the emulator's own scheduling, never a full slot). Idle execution slots cost the emulator
nothing (it used to wake every one of them on each submission, about 0.4 s of CPU per job with 100,000;
the emulator CPU per submission by slot count is still measured and reported). The ideal wall time is
one job duration plus three round trips (submit, the status request that sees the job completed, the
result download): 260 ms, whatever N is.

Measured, from the first submission to the last result in hand (client start-up excluded: the quantum
computer and the architecture are fetched before the clock starts):

* ours, ``client.batch()`` with ``submit_soon`` for every job and ``as_completed()``, default settings
  (32 requests in flight, 16 submissions at a time, no rate limit);
* the client-bound floor: plain httpx on our default transport (aiohttp under httpx, see
  ``_transport``) and 32 requests in flight, like our client, no validation, models
  or retries, first status request exactly one job duration after its submission. It sends the same
  three requests per job as ours with no client logic at all, so ours / floor is what our client's
  own work costs, and reference / floor the largest speed-up an httpx client on this transport can
  show here;
* the same plain httpx on httpx's stock transport with every request handed to it at once (what a
  naive asyncio user would write);
* the reference iqm-client 35.0.3 from a pool of 32 threads, each thread: ``submit_circuits``,
  ``wait_for_completion``, ``result`` (it polls every second).

The emulator's request counters and CPU time are read around each run. The emulator-bound floor is its
CPU for our requests (on its one event loop) plus one job duration.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, TypeVar

import anyio

from iqm_client_async import AsyncCircuitJob

from ._clients import (
    IN_FLIGHT,
    QUANTUM_COMPUTER,
    our_circuit,
    our_client,
    perfect_polling,
    quiet_stderr,
    run_request_body,
    submit_raw_blocking,
)
from ._common import EmulatorProcess, Measurement, Sizes, bell_specs, build_circuits, load_reference

NAME = "many jobs"
LATENCY_MS = 20.0
JOB_DURATION_MS = 200.0
WORKERS = 100_000
RUN_WORKERS = 128
REFERENCE_THREADS = 32
IDEAL_S = (JOB_DURATION_MS + 3 * LATENCY_MS) / 1000
TARGET_OF_IDEAL = 1.5
TARGET_SPEEDUP = 10.0

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Run:
    """One client's run: wall time, completed jobs, and what the emulator saw meanwhile."""

    wall_s: float
    completed: int
    requests: int
    status_requests: int
    emulator_cpu_s: float
    client_cpu_s: float


def _measure(emulator: EmulatorProcess, work: Any) -> Run:
    before = emulator.counters()
    emulator_cpu = emulator.cpu_seconds()
    client_cpu = time.process_time()
    started = time.perf_counter()
    completed = work()
    wall = time.perf_counter() - started
    client_cpu = time.process_time() - client_cpu
    emulator_cpu = emulator.cpu_seconds() - emulator_cpu
    after = emulator.counters()
    return Run(
        wall,
        completed,
        after["requests_served"] - before["requests_served"],
        after["status_requests"] - before["status_requests"],
        emulator_cpu,
        client_cpu,
    )


def _queue_wait(job: AsyncCircuitJob) -> float:
    """Seconds the job waited in the emulator's queue (from its timeline), 0 if the timeline lacks the steps."""
    validated = job.find_timeline_entry("validation_ended")
    started = job.find_timeline_entry("execution_started")
    if validated is None or started is None:
        return 0.0
    return (started.timestamp - validated.timestamp).total_seconds()


async def _ours(url: str, jobs: int) -> tuple[float, int, float]:
    """Wall time, completed jobs, and the longest time a job waited for an execution slot (default settings)."""
    circuit = our_circuit(bell_specs())
    async with our_client(url) as client:
        await client.get_dynamic_quantum_architecture()
        started = time.perf_counter()
        completed = 0
        longest_wait = 0.0
        async with client.batch(progress=False) as batch:
            for _ in range(jobs):
                batch.submit_soon([circuit])
            async for outcome in batch.as_completed():
                completed += outcome.ok
                longest_wait = max(longest_wait, _queue_wait(outcome.job))
        return time.perf_counter() - started, completed, longest_wait


def _reference(reference: Any, url: str, jobs: int) -> int:
    circuit = build_circuits([bell_specs()], reference.Circuit, reference.CircuitOperation)[0]
    client = reference.IQMClient(url, quantum_computer=QUANTUM_COMPUTER)

    def one(_: int) -> bool:
        job = client.submit_circuits([circuit])
        job.wait_for_completion()
        return job.result() is not None

    with quiet_stderr(), ThreadPoolExecutor(REFERENCE_THREADS) as pool:
        return sum(pool.map(one, range(jobs)))


def _emulator_cpu_per_submission(workers: int, submissions: int) -> float:
    """Seconds of emulator CPU per job submission (sequential, no latency) with this many execution slots."""
    body = run_request_body(bell_specs())
    with EmulatorProcess(workers=workers, job_duration_ms=JOB_DURATION_MS) as emulator:
        submit_raw_blocking(emulator.url, body, 1)
        started = emulator.cpu_seconds()
        submit_raw_blocking(emulator.url, body, submissions)
        return (emulator.cpu_seconds() - started) / submissions


def _plain_httpx(url: str, jobs: int, *, our_transport: bool) -> int:
    """Jobs completed by plain httpx with perfect polling (timed around, like the other clients)."""
    run = partial(
        perfect_polling,
        workers=WORKERS,
        duration_s=lambda _: JOB_DURATION_MS / 1000,
        retry_s=LATENCY_MS / 1000,
        our_transport=our_transport,
    )
    return anyio.run(run, url, jobs)[1]


def _run_ours(emulator: EmulatorProcess, jobs: int) -> tuple[Run, float]:
    """Our run, timed from the first submission (client start-up excluded), and its longest queue wait."""
    inner: list[tuple[float, int, float]] = []

    def work() -> int:
        inner.append(anyio.run(_ours, emulator.url, jobs))
        return inner[0][1]

    measured = _measure(emulator, work)
    wall, _, longest_wait = inner[0]
    return replace(measured, wall_s=wall), longest_wait


def _median(runs: list[_T], *, key: Callable[[_T], float]) -> _T:
    """The middle run by ``key`` (the lower middle for an even count)."""
    return sorted(runs, key=key)[(len(runs) - 1) // 2]


def _range(values: Iterable[float]) -> str:
    ordered = sorted(values)
    return f"{ordered[0]:.2f}–{ordered[-1]:.2f} s"


def _describe(run: Run, jobs: int) -> str:
    return (
        f"{run.completed}/{jobs} ok, {run.requests / jobs:.1f} requests/job, "
        f"emulator CPU {run.emulator_cpu_s:.1f} s, client CPU {run.client_cpu_s:.1f} s"
    )


def run(sizes: Sizes, *, with_reference: bool = True) -> list[Measurement]:
    """Wall time of N jobs for our client, plain httpx and the reference, and the emulator's floor."""
    jobs = sizes.many_jobs
    reference = load_reference() if with_reference else None
    with EmulatorProcess(latency_ms=LATENCY_MS, workers=WORKERS, job_duration_ms=JOB_DURATION_MS) as emulator:
        ours: list[tuple[Run, float]] = []
        floors: list[Run] = []
        # Ours and the floor take turns, so that both see the same moments of a shared machine.
        for _ in range(sizes.many_jobs_repeats):
            ours.append(_run_ours(emulator, jobs))
            floors.append(_measure(emulator, lambda: _plain_httpx(emulator.url, jobs, our_transport=True)))
        naive = _measure(emulator, lambda: _plain_httpx(emulator.url, jobs, our_transport=False))
        reference_run = (
            _measure(emulator, lambda: _reference(reference, emulator.url, jobs))
            if reference is not None
            else None
        )
    probe = sizes.herd_probe_submissions
    run_workers = min(jobs, RUN_WORKERS)
    # CPU time is counted in 10 ms ticks: probe the cheap settings with more submissions.
    cost_by_workers = {
        workers: _emulator_cpu_per_submission(workers, probe if workers == WORKERS else 10 * probe)
        for workers in (WORKERS, run_workers, 1)
        if probe
    }

    default, longest_wait = _median(ours, key=lambda run: run[0].wall_s)
    floor = _median(floors, key=lambda run: run.wall_s)
    wall = default.wall_s
    spread = (
        f"median of {len(ours)}: ours {_range(run.wall_s for run, _ in ours)}, "
        f"floor {_range(run.wall_s for run in floors)}"
    )
    of_ideal = wall / IDEAL_S
    emulator_floor = default.emulator_cpu_s + JOB_DURATION_MS / 1000
    results = [
        Measurement(
            NAME,
            f"{jobs} jobs, wall time (ours: default settings)",
            wall,
            reference_run.wall_s if reference_run else None,
            unit="s",
            target=f">= {TARGET_SPEEDUP:g}x faster than the reference",
            met=None if reference_run is None else reference_run.wall_s / wall >= TARGET_SPEEDUP,
            note=f"{_describe(default, jobs)}, longest queue wait {longest_wait * 1e3:.0f} ms; {spread}",
        ),
        Measurement(
            NAME,
            f"  ours / ideal ({IDEAL_S * 1000:.0f} ms = job duration + 3 round trips)",
            of_ideal,
            unit="x",
            target=f"<= {TARGET_OF_IDEAL:g}x (or a stated bottleneck)",
            met=of_ideal <= TARGET_OF_IDEAL,
        ),
        Measurement(
            NAME,
            f"  client-bound floor: plain httpx, our transport, {IN_FLIGHT} in flight, perfect polling",
            floor.wall_s,
            reference_run.wall_s if reference_run else None,
            unit="s",
            note=f"{_describe(floor, jobs)}; its ratio is the most an httpx client on this transport can show here",
        ),
        Measurement(
            NAME,
            "  ours / client-bound floor",
            wall / floor.wall_s,
            unit="x",
            target=f"<= {TARGET_OF_IDEAL:g}x",
            met=wall / floor.wall_s <= TARGET_OF_IDEAL,
        ),
        Measurement(
            NAME,
            "  emulator-bound floor: its CPU for our requests + one job duration",
            emulator_floor,
            unit="s",
            note="the emulator serves requests on one event loop, so this is a lower bound",
        ),
        Measurement(
            NAME,
            "  plain httpx, stock transport, every request at once, perfect polling",
            naive.wall_s,
            unit="s",
            note=_describe(naive, jobs),
        ),
        Measurement(
            NAME,
            "  client CPU per request: ours / plain httpx (our transport)",
            default.client_cpu_s / default.requests * 1e6,
            unit="µs",
            note=f"plain httpx: {floor.client_cpu_s / floor.requests * 1e6:,.0f} µs",
        ),
        Measurement(
            NAME,
            "  emulator CPU per request served",
            default.emulator_cpu_s / default.requests * 1e6,
            unit="µs",
        ),
    ]
    if cost_by_workers:
        results.append(
            Measurement(
                NAME,
                f"  emulator CPU per submission, --workers {WORKERS}",
                cost_by_workers[WORKERS] * 1e3,
                unit="ms",
                note=(
                    f"{cost_by_workers[run_workers] * 1e3:.2f} ms with --workers {run_workers}, "
                    f"{cost_by_workers[1] * 1e3:.2f} ms with --workers 1"
                ),
            )
        )
    if reference_run is not None:
        results.append(
            Measurement(
                NAME,
                f"  requests per job (reference: {REFERENCE_THREADS} threads)",
                default.requests / jobs,
                reference_run.requests / jobs,
                unit="requests/job",
                note=_describe(reference_run, jobs),
            )
        )
    return results
