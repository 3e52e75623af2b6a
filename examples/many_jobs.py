"""Many jobs at once from asyncio: 200 one-circuit jobs in flight, results printed as each job completes.

Each job rotates one qubit by a random angle and measures it, so the probability of reading 1 is
known in advance (sin^2 of half the angle) and every result can be checked as it arrives. The jobs
run in one ``client.batch(...)`` scope: one deadline for all of them, and if anything goes wrong
(an error, the deadline, Ctrl-C) the jobs that have not finished are cancelled on the server.

Runs on the server named by IQM_SERVER_URL (with IQM_TOKEN / IQM_TOKENS_FILE / IQM_QUANTUM_COMPUTER
as needed) when that is set; otherwise on an embedded emulator of a Garnet with 8 execution slots
and 50 ms per job.

    python examples/many_jobs.py [number of jobs]
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass
from math import pi, sin, sqrt

from iqm_client_async import AsyncIQMClient, Circuit, CircuitOperation

JOBS = 200
SHOTS = 200
TOLERANCE_SIGMAS = 5.0


@dataclass(frozen=True, slots=True)
class Rotation:
    """A PRX rotation of one qubit, measured under ``key``.

    The key is unique per job: it comes back in the job's results, so an outcome names its rotation
    whatever order the jobs finish in.
    """

    key: str
    qubit: str
    angle: float
    phase: float

    @property
    def p_one(self) -> float:
        """Probability of measuring 1 after the rotation (noise-free)."""
        return sin(self.angle / 2) ** 2

    def circuit(self) -> Circuit:
        return Circuit(
            name=self.key,
            instructions=(
                CircuitOperation("prx", (self.qubit,), {"angle": self.angle, "phase": self.phase}),
                CircuitOperation("measure", (self.qubit,), {"key": self.key}),
            ),
        )


def random_rotations(qubits: list[str], count: int, seed: int) -> dict[str, Rotation]:
    rng = random.Random(seed)
    rotations = (
        Rotation(f"rot{index:04d}", rng.choice(qubits), rng.uniform(0, pi), rng.uniform(0, 2 * pi))
        for index in range(count)
    )
    return {rotation.key: rotation for rotation in rotations}


def tolerance(p_one: float, shots: int) -> float:
    """How far the observed frequency of 1 may stray from ``p_one`` by chance alone.

    TOLERANCE_SIGMAS binomial standard deviations, plus three shots for when P(1) is so close to 0
    or 1 that a handful of shots decides (there the normal approximation understates the tail).
    """
    return TOLERANCE_SIGMAS * sqrt(p_one * (1 - p_one) / shots) + 3 / shots


async def main(job_count: int) -> None:
    async with AsyncExitStack() as stack:
        url = os.environ.get("IQM_SERVER_URL")
        requests_per_second: float | None = None  # the default: no rate limit, 32 requests in flight
        if url is None:
            from iqm_client_async.emulator import Emulator

            emulator = Emulator(qpu="garnet", seed=11, workers=8, job_duration_ms=50)
            url = (await stack.enter_async_context(emulator)).url
            print(f"No IQM_SERVER_URL set: using an embedded emulator at {url}")
            requests_per_second = 1000  # pace a local emulator anyway: it shares this machine's CPU
        client = await stack.enter_async_context(AsyncIQMClient(url, requests_per_second=requests_per_second))
        architecture = await client.get_dynamic_quantum_architecture()
        rotatable = {locus[0] for locus in architecture.gates["prx"].loci}
        measurable = {qubit for locus in architecture.gates["measure"].loci for qubit in locus}
        qubits = [qubit for qubit in architecture.qubits if qubit in rotatable & measurable]
        rotations = random_rotations(qubits, job_count, seed=2024)
        print(f"Quantum computer: {client.quantum_computer_name}; {job_count} jobs on {len(qubits)} qubits")

        reported = completed = within = 0
        started = time.perf_counter()
        async with client.batch(timeout=600, progress=False) as batch:
            # Queue every submission at once (the batch keeps a few in flight); outcomes arrive in
            # the order the jobs finish, which is not the order they were submitted in.
            for rotation in rotations.values():
                batch.submit_soon([rotation.circuit()], shots=SHOTS)
            async for outcome in batch.as_completed():
                reported += 1
                if outcome.result is None:
                    print(f"[{reported:4d}/{job_count}] job {outcome.job.job_id} {outcome.status.value}")
                    continue
                ((key, shots),) = outcome.result[0].items()
                rotation = rotations[key]
                observed = sum(bits[0] for bits in shots) / len(shots)
                ok = abs(observed - rotation.p_one) <= tolerance(rotation.p_one, len(shots))
                completed += 1
                within += ok
                print(
                    f"[{reported:4d}/{job_count}] {key} {rotation.qubit:>4} angle={rotation.angle:.3f}  "
                    f"P(1) expected {rotation.p_one:.3f} observed {observed:.3f}  {'ok' if ok else 'OFF'}"
                )
        elapsed = time.perf_counter() - started

    print(f"Completed {completed}/{job_count} jobs in {elapsed:.2f} s ({job_count / elapsed:.1f} jobs/s)")
    print(f"Within {TOLERANCE_SIGMAS:g} sigma + 3 shots of the expected P(1): {within}/{completed}")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else JOBS))
