"""Qiskit: our adapter (``iqm_client_async.qiskit``) next to IQM's (``iqm.qiskit_iqm``, iqm-client 35.0.3).

* two-qubit gates after transpiling the 20 comparison circuits (GHZ-n, QFT-5, random circuits) for
  garnet and deneb, ours <= IQM's on each (the ``compat`` session asserts it too);
* ``qiskit.transpile(circuits, backend)``, ``backend.create_run_request`` (serialize + validate, client
  only), then ``backend.run(...).job_id()`` (serialize + submit), N circuits as one job;
* a batch of jobs of one Qiskit circuit each, submit to all results: ours through the async path
  (``backend.batch()``, one poller), IQM's with ``backend.run`` per job then ``job.result()`` per job.

Runs only where Qiskit is installed; IQM's side only where its adapter is.
"""

from __future__ import annotations

import importlib
import math
import random
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

import anyio

from ._clients import quiet_stderr
from ._common import EmulatorProcess, Measurement, Sizes, median

NAME = "qiskit"
LATENCY_MS = 20.0
JOB_DURATION_MS = 200.0
WORKERS = 100_000
MAX_JOBS = 300  # Qiskit jobs in the many-jobs run (the many-jobs size when smaller, as in a smoke run)
MAX_REPEATS = 3  # rounds of the submit path (each transpiles every circuit with both adapters)
QUICK_COMPARISON = 4  # circuits of the gate-count comparison in a smoke run
SHOTS = 100


def comparison_circuits() -> list[Any]:
    """The 20 circuits both adapters are compared on: GHZ-2..6, QFT-5 on three inputs, 12 random circuits
    (5 qubits, 12 two-qubit gates each); all fit deneb's 6 qubits."""
    from qiskit import QuantumCircuit
    from qiskit.circuit.library import QFTGate

    circuits = []
    for n in range(2, 7):
        ghz = QuantumCircuit(n, name=f"ghz{n}")
        ghz.h(0)
        for i in range(1, n):
            ghz.cx(i - 1, i)
        ghz.measure_all()
        circuits.append(ghz)
    for k in range(3):
        qft = QuantumCircuit(5, name=f"qft5-{k}")
        for i in range(5):
            qft.ry(0.4 + 0.7 * i + 1.3 * k, i)
        qft.append(QFTGate(5), range(5))
        qft.measure_all()
        circuits.append(qft)
    rng = random.Random(13)
    for k in range(12):
        qc = QuantumCircuit(5, name=f"random-{k}")
        for _ in range(6):
            for i in range(5):
                qc.ry(rng.uniform(0, math.pi), i)
                qc.rz(rng.uniform(-math.pi, math.pi), i)
            a, b = rng.sample(range(5), 2)
            qc.cx(a, b)
            c, d = rng.sample(range(5), 2)
            qc.cz(c, d)
        qc.measure_all()
        circuits.append(qc)
    return circuits


def reference_adapter() -> ModuleType | None:
    """IQM's adapter module ``iqm.qiskit_iqm``, or None when it is not installed."""
    try:
        return importlib.import_module("iqm.qiskit_iqm")
    except ImportError:
        return None


def two_qubit_counts(
    circuits: list[Any], backend: Any, transpile: Callable[..., Any]
) -> list[tuple[int, int] | None]:
    """``(cz, move)`` counts of each circuit after ``transpile(circuit, backend, seed_transpiler=...)``,
    None where transpiling raised (IQM's adapter fails on some circuits for deneb with Qiskit 2.1)."""
    counts: list[tuple[int, int] | None] = []
    for seed, circuit in enumerate(circuits):
        try:
            ops = transpile(circuit, backend, seed_transpiler=seed).count_ops()
        except Exception:
            counts.append(None)
            continue
        counts.append((ops.get("cz", 0), ops.get("move", 0)))
    return counts


def _cell(count: tuple[int, int] | None) -> str:
    return "fails" if count is None else str(count[0])


def _gate_counts(qpu: str, adapter: ModuleType | None, count: int) -> Measurement:
    from iqm_client_async.qiskit import IQMProvider, transpile_to_IQM

    circuits = comparison_circuits()[:count]
    with IQMProvider.emulator(qpu) as provider:
        ours = two_qubit_counts(circuits, provider.get_backend(), transpile_to_IQM)
        theirs = None
        if adapter is not None:
            theirs = two_qubit_counts(
                circuits, adapter.IQMProvider(provider.url).get_backend(), adapter.transpile_to_IQM
            )
    theirs_or_none: list[tuple[int, int] | None] = list(theirs) if theirs else [None] * len(circuits)
    pairs = ", ".join(
        f"{c.name} {_cell(o)}/{_cell(t) if theirs else '-'}"
        for c, o, t in zip(circuits, ours, theirs_or_none, strict=True)
    )
    both = [(o, t) for o, t in zip(ours, theirs_or_none, strict=True) if o is not None and t is not None]
    moves = (
        f"; MOVEs where both transpiled: ours {sum(o[1] for o, _ in both)}, IQM's {sum(t[1] for _, t in both)}"
        if theirs
        else ""
    )
    return Measurement(
        NAME,
        f"CZs after transpiling {count} comparison circuits for {qpu} (sum where both transpiled)",
        sum(o[0] for o, _ in both) if theirs else sum(o[0] for o in ours if o is not None),
        None if theirs is None else sum(t[0] for _, t in both),
        target="<= IQM's adapter on each circuit" if theirs else "",
        met=None
        if theirs is None
        else all(o is not None for o in ours) and all(o[0] <= t[0] for o, t in both),
        note=f"per circuit ours/IQM's: {pairs}{moves}",
    )


def workload(count: int) -> list[Any]:
    """``count`` circuits: the comparison circuits over and over, renamed."""
    base = comparison_circuits()
    circuits = []
    for i in range(count):
        circuit = base[i % len(base)].copy(name=f"w{i}")
        circuits.append(circuit)
    return circuits


def _timed_rounds(backend: Any, circuits: list[Any], rounds: dict[str, list[float]]) -> None:
    """One round of one adapter: transpile, serialize + validate (no request), serialize + submit."""
    from qiskit import transpile

    started = time.perf_counter()
    transpiled = transpile(circuits, backend, seed_transpiler=1)
    rounds["transpile"].append(time.perf_counter() - started)
    started = time.perf_counter()
    backend.create_run_request(transpiled, shots=SHOTS)
    rounds["serialize"].append(time.perf_counter() - started)
    started = time.perf_counter()
    backend.run(transpiled, shots=SHOTS).job_id()
    rounds["submit"].append(time.perf_counter() - started)


def _submit_path(
    url: str, circuits: list[Any], adapter: ModuleType | None, repeats: int
) -> list[Measurement]:
    from iqm_client_async.qiskit import IQMProvider

    ours: dict[str, list[float]] = {"transpile": [], "serialize": [], "submit": []}
    theirs: dict[str, list[float]] = {"transpile": [], "serialize": [], "submit": []}
    with IQMProvider(url) as provider:
        backends = [(provider.get_backend(), ours)]
        if adapter is not None:
            backends.append((adapter.IQMProvider(url).get_backend(), theirs))
        for backend, rounds in backends:  # warm-up: plugin discovery, first-use imports
            _timed_rounds(backend, circuits[:2], {key: [] for key in rounds})
        for _ in range(repeats):  # the adapters take turns, so that both see the same moments of the machine
            for backend, rounds in backends:
                _timed_rounds(backend, circuits, rounds)
    n = len(circuits)

    def med(rounds: dict[str, list[float]], *keys: str) -> float | None:
        if not rounds[keys[0]]:
            return None
        return sum(median(rounds[key]) for key in keys)

    def spread(rounds: dict[str, list[float]], key: str) -> str:
        return f"{min(rounds[key]):.3g}-{max(rounds[key]):.3g} s" if rounds[key] else "-"

    total_ours = med(ours, "transpile", "submit")
    total_ref = med(theirs, "transpile", "submit")
    client_ours, client_ref = med(ours, "serialize"), med(theirs, "serialize")
    return [
        Measurement(
            NAME,
            f"transpile {n} circuits: qiskit.transpile(circuits, backend)",
            med(ours, "transpile"),
            med(theirs, "transpile"),
            "s",
            note=f"median of {repeats}; Qiskit's own passes for both, only the scheduling stage differs",
        ),
        Measurement(
            NAME,
            f"serialize + validate {n} circuits (create_run_request, client only)",
            client_ours,
            client_ref,
            "s",
            target="faster than IQM's adapter" if client_ref else "",
            met=None if client_ref is None or client_ours is None else client_ours < client_ref,
            note=f"ours {spread(ours, 'serialize')}, IQM's {spread(theirs, 'serialize')}",
        ),
        Measurement(
            NAME,
            f"serialize + submit {n} circuits as one job, to the job id",
            med(ours, "submit"),
            med(theirs, "submit"),
            "s",
            note=f"ours {spread(ours, 'submit')}, IQM's {spread(theirs, 'submit')}; the emulator parsing and "
            "validating the request (a separate process) is most of it",
        ),
        Measurement(
            NAME,
            f"transpile + serialize + submit {n} circuits",
            total_ours,
            total_ref,
            "s",
            target="faster than IQM's adapter" if total_ref else "",
            met=None if total_ref is None or total_ours is None else total_ours < total_ref,
        ),
    ]


async def _ours_many_jobs(url: str, circuits: list[Any]) -> float:
    from iqm_client_async import AsyncIQMClient
    from iqm_client_async.qiskit import IQMBackend

    async with AsyncIQMClient(url) as client:
        backend = await IQMBackend.create(client)
        started = time.perf_counter()
        async with backend.batch(progress=False) as batch:
            for circuit in circuits:
                batch.submit_soon(circuit, shots=SHOTS)
            done = [outcome async for outcome in batch.as_completed() if outcome.ok]
        elapsed = time.perf_counter() - started
    assert len(done) == len(circuits)
    return elapsed


def _reference_many_jobs(adapter: ModuleType, url: str, circuits: list[Any]) -> float:
    backend = adapter.IQMProvider(url).get_backend()
    started = time.perf_counter()
    with quiet_stderr():
        jobs = [backend.run(circuit, shots=SHOTS) for circuit in circuits]
        results = [job.result() for job in jobs]
    elapsed = time.perf_counter() - started
    assert len(results) == len(circuits)
    return elapsed


def _many_jobs(url: str, count: int, adapter: ModuleType | None) -> Measurement:
    from qiskit import transpile

    from iqm_client_async.qiskit import IQMProvider

    with IQMProvider(url) as provider:
        circuits = transpile(workload(count), provider.get_backend(), seed_transpiler=1)
    ours = anyio.run(_ours_many_jobs, url, circuits)
    reference = _reference_many_jobs(adapter, url, circuits) if adapter is not None else None
    return Measurement(
        NAME,
        f"{count} Qiskit jobs of one circuit, submit to all results (ours: async batch)",
        ours,
        reference,
        "s",
        target="faster than IQM's adapter" if reference else "",
        met=None if reference is None else ours < reference,
        note=f"emulator: {LATENCY_MS:.0f} ms latency, jobs of {JOB_DURATION_MS:.0f} ms, run in parallel",
    )


def run(sizes: Sizes, *, with_reference: bool = True) -> list[Measurement]:
    """Gate counts, the submit path and many jobs, ours next to IQM's adapter."""
    try:
        importlib.import_module("qiskit")
    except ImportError:
        return [Measurement(NAME, "not measured: qiskit is not installed (pip install '.[qiskit]')", None)]
    adapter = reference_adapter() if with_reference else None
    quick = sizes.repeats == 1
    comparison = QUICK_COMPARISON if quick else len(comparison_circuits())
    results = [_gate_counts(qpu, adapter, comparison) for qpu in ("garnet", "deneb")]
    with EmulatorProcess(latency_ms=LATENCY_MS, workers=WORKERS, job_duration_ms=JOB_DURATION_MS) as emulator:
        circuits = workload(sizes.submit_circuits)
        results += _submit_path(emulator.url, circuits, adapter, repeats=min(sizes.repeats, MAX_REPEATS))
        results.append(_many_jobs(emulator.url, min(sizes.many_jobs, MAX_JOBS), adapter))
    return results
