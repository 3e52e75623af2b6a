"""Benchmark 8 — the polling matrix: bursts of N jobs on servers with W execution slots.

Emulator (own process per cell): ``--latency-ms 20 --job-duration-ms 200 --workers W``, W in {1, 4, 32,
unbounded (100,000)}; a burst of N one-circuit jobs, N in {1, 10, 50, 300}, submitted at once; cells whose
ideal exceeds 30 s are skipped. Two mixed-duration cases interleave short and long jobs through the
emulator's duration model (``--job-duration-ms 20 --shot-duration-us 500``: 100 shots run 70 ms, 4000 shots
2.02 s): 50 jobs on an unbounded server, 20 jobs on 4 slots.

Clients per cell, taking turns (so that all see the same moments of a shared machine), each from the
first submission to the last result in hand (client start-up excluded):

* ours, gather: one task per job, ``submit_circuits`` then ``result_or_raise()``;
* ours, batch: ``client.batch()``, ``submit_soon`` for every job, ``close()``, ``as_completed()``;
* the client-bound floor, in cells with W >= 32 (with fewer slots the queue, not the requests, sets the
  time): plain httpx on our transport, 32 requests in flight, perfect polling (submit, one status request
  when a model of the W FIFO slots says the job has ended, result; no client logic), as in the many-jobs
  benchmark. It measures what the requests alone cost on this machine, client and emulator CPU included;
* the reference iqm-client 35.0.3 from 32 threads, each ``submit_circuits``, ``wait_for_completion``,
  ``result`` (it polls every second).

Ideal: the FIFO schedule of the jobs on W slots (ceil(N / W) x 200 ms for equal jobs) plus three round
trips (submit, the status request that sees the job completed, the result download). Status requests per
job: the emulator's ``status_requests`` counter around the run, over N.

Targets per cell and API: wall <= 1.3 x ideal + 0.15 s and <= the reference's wall; status requests per
job <= the reference's. A wall target below the floor's median wall is said to be out of any client's
reach on this machine (the verdict is kept).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import anyio

from ._clients import IN_FLIGHT, QUANTUM_COMPUTER, our_circuit, our_client, perfect_polling, quiet_stderr
from ._common import (
    EmulatorProcess,
    FifoSlots,
    Measurement,
    Sizes,
    bell_specs,
    build_circuits,
    load_reference,
    median,
)

NAME = "matrix"
LATENCY_MS = 20.0
JOB_DURATION_MS = 200.0
UNBOUNDED = 100_000
WORKERS = (1, 4, 32, UNBOUNDED)
JOBS = (1, 10, 50, 300)
MAX_IDEAL_S = 30.0
REFERENCE_THREADS = 32
MIXED_OVERHEAD_MS = 20.0
MIXED_SHOT_US = 500.0
MIXED_SHOTS = (100, 4000)
FLOOR_MIN_WORKERS = 32


@dataclass(frozen=True, slots=True)
class Case:
    """One cell: W slots, N jobs, the shots of each job (cycled), and the emulator's duration model."""

    workers: int
    jobs: int
    shots: tuple[int, ...] = (1,)
    job_duration_ms: float = JOB_DURATION_MS
    shot_duration_us: float = 0.0

    @property
    def label(self) -> str:
        width = "unbounded" if self.workers == UNBOUNDED else str(self.workers)
        mixed = " mixed" if len(self.shots) > 1 else ""
        return f"W={width} N={self.jobs}{mixed}"

    @property
    def key(self) -> str:
        width = "unbounded" if self.workers == UNBOUNDED else str(self.workers)
        return f"{width}x{self.jobs}" + ("-mixed" if len(self.shots) > 1 else "")

    def job_shots(self, index: int) -> int:
        return self.shots[index % len(self.shots)]

    def duration_s(self, index: int) -> float:
        return (self.job_duration_ms + self.job_shots(index) * self.shot_duration_us / 1000) / 1000

    @property
    def ideal_s(self) -> float:
        """The FIFO schedule's makespan on W slots, plus three round trips."""
        slots = FifoSlots(self.workers)
        return (
            max(slots.end(0.0, self.duration_s(index)) for index in range(self.jobs)) + 3 * LATENCY_MS / 1000
        )

    @property
    def with_floor(self) -> bool:
        """Whether the client-bound floor is measured (not where the queue dwarfs the requests)."""
        return self.workers >= FLOOR_MIN_WORKERS

    def emulator_options(self) -> dict[str, float]:
        return {
            "latency_ms": LATENCY_MS,
            "workers": self.workers,
            "job_duration_ms": self.job_duration_ms,
            "shot_duration_us": self.shot_duration_us,
        }


def all_cases() -> list[Case]:
    """The matrix (cells with an ideal over 30 s left out) and the mixed-duration cases."""
    cells = [Case(workers, jobs) for workers in WORKERS for jobs in JOBS]
    mixed = {"job_duration_ms": MIXED_OVERHEAD_MS, "shot_duration_us": MIXED_SHOT_US, "shots": MIXED_SHOTS}
    cells += [Case(UNBOUNDED, 50, **mixed), Case(4, 20, **mixed)]  # type: ignore[arg-type]
    return [case for case in cells if case.ideal_s <= MAX_IDEAL_S]


@dataclass(frozen=True, slots=True)
class Run:
    """One client's burst: wall time, completed jobs, status requests per job."""

    wall_s: float
    completed: int
    status_per_job: float


@dataclass
class Cell:
    """Every run of one case, by client."""

    case: Case
    runs: dict[str, list[Run]] = field(default_factory=dict)

    def median_wall(self, client: str) -> float | None:
        runs = self.runs.get(client)
        return median([run.wall_s for run in runs]) if runs else None

    def median_status(self, client: str) -> float | None:
        runs = self.runs.get(client)
        return median([run.status_per_job for run in runs]) if runs else None

    def wall_range(self, client: str) -> str:
        walls = sorted(run.wall_s for run in self.runs.get(client, []))
        return f"{walls[0]:.2f}–{walls[-1]:.2f} s" if walls else "-"


async def _ours_gather(url: str, case: Case) -> tuple[float, int]:
    circuit = our_circuit(bell_specs())
    async with our_client(url) as client:
        await client.get_dynamic_quantum_architecture()
        completed = 0

        async def one(index: int) -> None:
            nonlocal completed
            job = await client.submit_circuits([circuit], shots=case.job_shots(index))
            await job.result_or_raise()
            completed += 1

        started = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for index in range(case.jobs):
                tg.start_soon(one, index)
        return time.perf_counter() - started, completed


async def _ours_batch(url: str, case: Case) -> tuple[float, int]:
    circuit = our_circuit(bell_specs())
    async with our_client(url) as client:
        await client.get_dynamic_quantum_architecture()
        completed = 0
        started = time.perf_counter()
        async with client.batch(progress=False) as batch:
            for index in range(case.jobs):
                batch.submit_soon([circuit], shots=case.job_shots(index))
            close = getattr(batch, "close", None)  # absent before the batch could be closed
            if close is not None:
                close()
            async for outcome in batch.as_completed():
                completed += outcome.ok
        return time.perf_counter() - started, completed


def _reference(reference: Any, url: str, case: Case) -> tuple[float, int]:
    circuit = build_circuits([bell_specs()], reference.Circuit, reference.CircuitOperation)[0]
    client = reference.IQMClient(url, quantum_computer=QUANTUM_COMPUTER)

    def one(index: int) -> bool:
        job = client.submit_circuits([circuit], shots=case.job_shots(index))
        job.wait_for_completion()
        return job.result() is not None

    started = time.perf_counter()
    with quiet_stderr(), ThreadPoolExecutor(REFERENCE_THREADS) as pool:
        completed = sum(pool.map(one, range(case.jobs)))
    return time.perf_counter() - started, completed


async def _floor(url: str, case: Case) -> tuple[float, int]:
    return await perfect_polling(
        url,
        case.jobs,
        workers=case.workers,
        duration_s=case.duration_s,
        retry_s=LATENCY_MS / 1000,
        shots=case.job_shots,
    )


def _measure(emulator: EmulatorProcess, case: Case, work: Callable[[], tuple[float, int]]) -> Run:
    before = emulator.counters()["status_requests"]
    wall, completed = work()
    status = emulator.counters()["status_requests"] - before
    return Run(wall, completed, status / case.jobs)


def measure_cell(case: Case, repeats: int, reference: Any) -> Cell:
    """Every client's runs of one case, taking turns against one emulator process."""
    cell = Cell(case)
    clients: dict[str, Callable[[str], tuple[float, int]]] = {
        "gather": lambda url: anyio.run(_ours_gather, url, case),
        "batch": lambda url: anyio.run(_ours_batch, url, case),
    }
    if case.with_floor:
        clients["floor"] = lambda url: anyio.run(_floor, url, case)
    if reference is not None:
        clients["reference"] = lambda url: _reference(reference, url, case)
    with EmulatorProcess(**case.emulator_options()) as emulator:
        for _ in range(repeats):
            for name, work in clients.items():
                cell.runs.setdefault(name, []).append(
                    _measure(emulator, case, lambda work=work: work(emulator.url))  # type: ignore[misc]
                )
    return cell


def _wall_target(case: Case) -> float:
    return 1.3 * case.ideal_s + 0.15


def _floor_above_target(cell: Cell) -> float | None:
    """The floor's median wall when the cell's wall target lies below it (no client can meet it here), else None."""
    floor = cell.median_wall("floor")
    return floor if floor is not None and _wall_target(cell.case) < floor else None


def cell_measurements(cell: Cell) -> list[Measurement]:
    """Wall time and status requests per job of both APIs next to the reference, with verdicts, and the floor."""
    case = cell.case
    reference_wall = cell.median_wall("reference")
    reference_status = cell.median_status("reference")
    floor_above_target = _floor_above_target(cell)
    unreachable = (
        ""
        if floor_above_target is None
        else f"target below the client-bound floor ({floor_above_target:.2f} s): "
        "not reachable by any client on this machine; "
    )
    floor_range = f", floor {cell.wall_range('floor')}" if "floor" in cell.runs else ""
    results = []
    for api in ("gather", "batch"):
        wall = cell.median_wall(api)
        status = cell.median_status(api)
        assert wall is not None and status is not None
        wall_met = wall <= _wall_target(case) and (reference_wall is None or wall <= reference_wall)
        completed = min(run.completed for run in cell.runs[api])
        results += [
            Measurement(
                NAME,
                f"{case.label} (ideal {case.ideal_s:.2f} s), {api}: wall",
                wall,
                reference_wall,
                unit="s",
                target=f"<= {_wall_target(case):.2f} s and <= ref",
                met=wall_met,
                note=(
                    f"{unreachable}{len(cell.runs[api])} runs: {cell.wall_range(api)}, reference "
                    f"{cell.wall_range('reference')}{floor_range}; {completed}/{case.jobs} ok"
                ),
            ),
            Measurement(
                NAME,
                f"  {api}: status requests per job",
                status,
                reference_status,
                unit="requests/job",
                target="<= ref",
                met=None if reference_status is None else status <= reference_status + 1e-9,
            ),
        ]
    floor = cell.median_wall("floor")
    if floor is not None:
        results.append(
            Measurement(
                NAME,
                f"  client-bound floor (plain httpx, {IN_FLIGHT} in flight, perfect polling)",
                floor,
                reference_wall,
                unit="s",
                note=(
                    f"our transport; {len(cell.runs['floor'])} runs: {cell.wall_range('floor')}; "
                    f"{cell.median_status('floor'):.1f} status requests/job; "
                    f"{min(run.completed for run in cell.runs['floor'])}/{case.jobs} ok"
                ),
            )
        )
    return results


def markdown_table(cells: Sequence[Cell]) -> str:
    """The matrix as a markdown table: wall (median, range) and status requests per job of each client."""
    lines = [
        "| cell | ideal | gather wall | batch wall | reference wall | client-bound floor "
        "| status/job gather / batch / ref | met |",
        "|---|---:|---|---|---|---|---|---|",
    ]
    for cell in cells:
        case = cell.case

        def wall(client: str, cell: Cell = cell) -> str:
            value = cell.median_wall(client)
            return "-" if value is None else f"{value:.2f} ({cell.wall_range(client)})"

        def status(client: str, cell: Cell = cell) -> str:
            value = cell.median_status(client)
            return "-" if value is None else f"{value:.1f}"

        verdicts = [m.met for m in cell_measurements(cell) if m.met is not None]
        met = "yes" if all(verdicts) else f"{sum(verdicts)}/{len(verdicts)}"
        if _floor_above_target(cell) is not None:
            met += " (wall target below the floor)"
        lines.append(
            f"| {case.label} | {case.ideal_s:.2f} s | {wall('gather')} | {wall('batch')} | {wall('reference')} "
            f"| {wall('floor')} | {status('gather')} / {status('batch')} / {status('reference')} | {met} |"
        )
    return "\n".join(lines)


def run(sizes: Sizes, *, with_reference: bool = True) -> list[Measurement]:
    """The matrix cells selected by ``sizes.matrix_cells`` (all when empty), ``sizes.matrix_repeats`` each."""
    reference = load_reference() if with_reference else None
    cases = [case for case in all_cases() if not sizes.matrix_cells or case.key in sizes.matrix_cells]
    cells: list[Cell] = []
    results: list[Measurement] = []
    for case in cases:
        cell = measure_cell(case, sizes.matrix_repeats, reference)
        cells.append(cell)
        results += cell_measurements(cell)
    print(markdown_table(cells), flush=True)
    return results
