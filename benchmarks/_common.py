"""What every benchmark shares: sizes, results, statistics, the emulator process, its queue and test circuits."""

from __future__ import annotations

import contextlib
import gc
import heapq
import importlib
import json
import os
import random
import re
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import ModuleType, TracebackType
from typing import Any, Self

from iqm_client_async.emulator.presets import load_preset

GARNET = load_preset("garnet")

_URL_LINE = re.compile(r" at (http://127\.0\.0\.1:\d+)")
_STARTUP_TIMEOUT_S = 30.0
_CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class Sizes:
    """How big each benchmark is; ``QUICK`` for the smoke test, ``FULL`` for the numbers in the README."""

    repeats: int
    submit_circuits: int
    submit_instructions: int
    facade_calls: int
    many_jobs: int
    many_jobs_repeats: int
    herd_probe_submissions: int
    latency_jobs: int
    latency_job_duration_ms: float
    polling_jobs_ahead: int
    polling_job_duration_ms: float
    polling_repeats: int
    memory_jobs: int
    memory_max_poll_interval: float | None = None  # None: the client's default
    matrix_repeats: int = 2
    matrix_cells: tuple[str, ...] = ()  # keys such as "4x50" or "unboundedx50-mixed"; empty: every cell


FULL = Sizes(
    repeats=5,
    submit_circuits=1000,
    submit_instructions=250,
    facade_calls=5000,
    many_jobs=1000,
    many_jobs_repeats=3,
    herd_probe_submissions=10,
    latency_jobs=20,
    latency_job_duration_ms=1500.0,
    polling_jobs_ahead=10,
    polling_job_duration_ms=1000.0,
    polling_repeats=3,
    memory_jobs=10_000,
)

QUICK = Sizes(
    repeats=1,
    submit_circuits=20,
    submit_instructions=50,
    facade_calls=300,
    many_jobs=20,
    many_jobs_repeats=1,
    herd_probe_submissions=0,
    latency_jobs=3,
    latency_job_duration_ms=500.0,
    polling_jobs_ahead=2,
    polling_job_duration_ms=200.0,
    polling_repeats=1,
    memory_jobs=300,
    memory_max_poll_interval=0.5,  # every job polled within a second: a short smoke run
    matrix_repeats=1,
    matrix_cells=("unboundedx10",),
)


@dataclass(frozen=True, slots=True)
class Measurement:
    """One line of the results table.

    Attributes:
        benchmark: which benchmark measured it.
        metric: what was measured.
        ours: our value (None when not measured).
        reference: the reference client's value, measured in the same run (None when not measured).
        unit: unit of both values.
        target: the target, in words (empty when the line is informational).
        met: whether the target is met (None for informational lines).
        note: how the value was obtained, when the metric name does not say it.
    """

    benchmark: str
    metric: str
    ours: float | None
    reference: float | None = None
    unit: str = ""
    target: str = ""
    met: bool | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """Reference value over ours (how many times better we are when lower is better)."""
        if self.ours is None or self.reference is None or self.ours == 0:
            return None
        return self.reference / self.ours


def median(values: Sequence[float]) -> float:
    """The median of the values (raises on an empty sequence)."""
    return statistics.median(values)


def timed(func: Callable[[], object]) -> float:
    """Seconds one call of ``func`` takes."""
    started = time.perf_counter()
    func()
    return time.perf_counter() - started


@contextlib.contextmanager
def frozen_heap() -> Iterator[None]:
    """Collect garbage, then keep the objects alive so far out of the collector's way within the block."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def load_reference() -> ModuleType | None:
    """The reference client module ``iqm.iqm_client``, or None when it is not installed."""
    try:
        return importlib.import_module("iqm.iqm_client")
    except ImportError:
        return None


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux ``/proc``)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK


class EmulatorProcess:
    """The emulator CLI in a child process on a free loopback port, so its CPU is not the client's.

    Args:
        options: command-line options, e.g. ``{"latency-ms": 20, "workers": 100000}``.
    """

    def __init__(self, **options: float | str) -> None:
        self.args = [sys.executable, "-m", "iqm_client_async.emulator", "--port", "0", "--seed", "1"]
        for name, value in options.items():
            self.args += [f"--{name.replace('_', '-')}", str(value)]
        self._process: subprocess.Popen[str] | None = None
        self.url = ""

    def __enter__(self) -> Self:
        self._process = subprocess.Popen(
            self.args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        deadline = time.monotonic() + _STARTUP_TIMEOUT_S
        assert self._process.stdout is not None
        while time.monotonic() < deadline:
            line = self._process.stdout.readline()
            if not line:
                break
            match = _URL_LINE.search(line)
            if match:
                self.url = match.group(1)
                return self
        self._stop()
        raise RuntimeError(f"The emulator did not start: {' '.join(self.args)}")

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop()

    def _stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()
        self._process = None

    @property
    def pid(self) -> int:
        """The emulator's process id."""
        assert self._process is not None, "the emulator is not running"
        return self._process.pid

    def counters(self) -> dict[str, Any]:
        """The emulator's ``/about`` counters (fetched with the standard library, outside any client)."""
        with urllib.request.urlopen(f"{self.url}/about", timeout=30) as response:
            counters: dict[str, Any] = json.loads(response.read())["counters"]
        return counters

    def cpu_seconds(self) -> float:
        """CPU time the emulator process has used so far."""
        return process_cpu_seconds(self.pid)


class FifoSlots:
    """When jobs end on ``workers`` execution slots that take waiting jobs oldest first (the emulator's queue).

    Feed the jobs in queue order with non-decreasing queue times: each starts when it is queued or when a
    slot frees up, whichever is later, and runs for its duration.
    """

    def __init__(self, workers: int) -> None:
        self._workers = workers
        self._busy_until: list[float] = []  # a heap: when each slot taken so far frees up

    def end(self, queued_at: float, duration_s: float) -> float:
        """When the job queued at ``queued_at`` (after every job fed before it) ends."""
        free_at = heapq.heappop(self._busy_until) if len(self._busy_until) == self._workers else queued_at
        ended = max(queued_at, free_at) + duration_s
        heapq.heappush(self._busy_until, ended)
        return ended


InstructionSpec = tuple[str, tuple[str, ...], dict[str, Any]]


def garnet_circuit_specs(circuits: int, instructions: int, *, seed: int = 7) -> list[list[InstructionSpec]]:
    """Random prx/cz circuits on calibrated Garnet loci, each ending with one measurement per qubit.

    About 60 % ``prx`` (random angle and phase) and 40 % ``cz``; the last ``min(20, instructions // 10)``
    instructions measure distinct qubits with distinct keys.
    """
    rng = random.Random(seed)
    prx_loci = GARNET.gate_loci["prx"]
    cz_loci = GARNET.gate_loci["cz"]
    measured = GARNET.qubits[: min(len(GARNET.qubits), max(1, instructions // 10))]
    specs: list[list[InstructionSpec]] = []
    for _ in range(circuits):
        circuit: list[InstructionSpec] = []
        for _ in range(instructions - len(measured)):
            if rng.random() < 0.6:
                args = {"angle": rng.uniform(0, 3.14), "phase": rng.uniform(0, 6.28)}
                circuit.append(("prx", rng.choice(prx_loci), args))
            else:
                circuit.append(("cz", rng.choice(cz_loci), {}))
        circuit += [("measure", (qubit,), {"key": f"m_{qubit}"}) for qubit in measured]
        specs.append(circuit)
    return specs


def build_circuits(
    specs: Sequence[Sequence[InstructionSpec]], circuit_cls: Any, operation_cls: Any
) -> list[Any]:
    """Circuit objects of either client (``circuit_cls(name, instructions)``) from instruction specs."""
    return [
        circuit_cls(
            name=f"circuit_{index}",
            instructions=tuple(operation_cls(name, locus, dict(args)) for name, locus, args in spec),
        )
        for index, spec in enumerate(specs)
    ]


def bell_specs() -> list[InstructionSpec]:
    """A two-qubit Bell circuit on QB1-QB2 with one measurement."""
    half = 1.5707963267948966
    return [
        ("prx", ("QB1",), {"angle": half, "phase": half}),
        ("prx", ("QB2",), {"angle": half, "phase": half}),
        ("cz", ("QB1", "QB2"), {}),
        ("prx", ("QB2",), {"angle": half, "phase": 3 * half}),
        ("measure", ("QB1", "QB2"), {"key": "m"}),
    ]
