"""Qiskit quickstart: Bell and GHZ states, feedback, an async batch, and MOVE gates on a star QPU.

Runs on the server named by IQM_SERVER_URL (with IQM_TOKEN / IQM_TOKENS_FILE / IQM_QUANTUM_COMPUTER
as needed) when that is set; otherwise it starts an embedded emulator of a 20-qubit Garnet. The last
part always runs on an embedded emulator of Deneb (six qubits around a computational resonator).

    pip install 'iqm-client-async[qiskit,emulator]'
    python examples/qiskit_quickstart.py
"""

from __future__ import annotations

import asyncio
import math
import os

from qiskit import QuantumCircuit, transpile

from iqm_client_async import AsyncIQMClient
from iqm_client_async.qiskit import IQMBackend, IQMProvider, transpile_to_IQM

SHOTS = 1000


def ghz(n: int) -> QuantumCircuit:
    """(|0...0> + |1...1>) / sqrt(2) on n qubits, measured."""
    qc = QuantumCircuit(n, n, name=f"ghz{n}")
    qc.h(0)
    for i in range(1, n):
        qc.cx(i - 1, i)
    qc.measure(range(n), range(n))
    return qc


def feedback() -> QuantumCircuit:
    """Measure a qubit in superposition; flip a second one if it read 1. Only 00 and 11 come out."""
    qc = QuantumCircuit(2, 2, name="feedback")
    qc.h(0)
    qc.measure(0, 0)
    with qc.if_test((qc.clbits[0], 1)):
        qc.x(1)
    qc.measure(1, 1)
    return qc


def rotation(theta: float) -> QuantumCircuit:
    """RY(theta), measured: P(1) = sin^2(theta / 2)."""
    qc = QuantumCircuit(1, 1, name=f"ry({theta:.2f})")
    qc.ry(theta, 0)
    qc.measure(0, 0)
    return qc


def print_counts(title: str, counts: dict[str, int]) -> None:
    print(title)
    for bits, n in sorted(counts.items()):
        print(f"  {bits}  {n:5d}  {'#' * round(40 * n / SHOTS)}")


def blocking_part(provider: IQMProvider) -> str:
    """The names IQM's Qiskit adapter users know: provider, backend, transpile, run, result."""
    backend = provider.get_backend()
    print(
        f"Backend: {backend.name}, {backend.num_qubits} qubits, native gates {sorted(backend.operation_names)}"
    )
    circuits = [ghz(2), ghz(5), feedback()]
    job = backend.run(transpile(circuits, backend, seed_transpiler=1), shots=SHOTS)
    print(f"Submitted job {job.job_id()}")
    result = job.result()
    print(f"Job {job.status().name}")
    print_counts("Bell state (ghz2):", result.get_counts(circuits[0]))
    print_counts("GHZ-5:", result.get_counts("ghz5"))
    print_counts("Feedback (if_test):", result.get_counts(circuits[2]))
    return str(provider.url)


async def async_part(url: str) -> None:
    """Many jobs at once on AsyncIQMClient: one poller for all of them, results as each job completes."""
    angles = [k * math.pi / 8 for k in range(9)]
    async with AsyncIQMClient(url) as client:
        backend = await IQMBackend.create(client)
        circuits = transpile([rotation(theta) for theta in angles], backend, seed_transpiler=1)
        async with backend.batch(timeout=300, progress=False) as batch:
            for circuit in circuits:
                batch.submit_soon(circuit, shots=SHOTS)
            print(f"Async batch of {len(circuits)} jobs, as they complete:")
            async for outcome in batch.as_completed():
                assert outcome.result is not None, outcome.status
                theta = angles[outcome.index]
                observed = outcome.result.get_counts().get("1", 0) / SHOTS
                print(
                    f"  ry({theta:.2f})  P(1) expected {math.sin(theta / 2) ** 2:.3f} observed {observed:.3f}"
                )


def star_part() -> None:
    """Deneb's qubits meet only in its resonator: transpiling inserts the MOVE gates."""
    with IQMProvider.emulator("deneb", seed=2024) as provider:
        backend = provider.get_backend()
        transpiled = transpile_to_IQM(ghz(5), backend, seed_transpiler=1)
        ops = transpiled.count_ops()
        print(f"GHZ-5 on deneb: {ops['cz']} CZ, {ops['move']} MOVE, {ops['r']} r gates")
        print_counts("GHZ-5 on deneb:", backend.run(transpiled, shots=SHOTS).result().get_counts())


def main() -> None:
    url = os.environ.get("IQM_SERVER_URL")
    if url is None:
        provider = IQMProvider.emulator("garnet", seed=2024)
        print(f"No IQM_SERVER_URL set: using an embedded emulator at {provider.url}")
    else:
        provider = IQMProvider(url)
    with provider:
        url = blocking_part(provider)
        asyncio.run(async_part(url))
    star_part()


if __name__ == "__main__":
    main()
