"""Quickstart: a Bell state on an IQM quantum computer, or on the bundled emulator.

Runs on the server named by IQM_SERVER_URL (with IQM_TOKEN / IQM_TOKENS_FILE / IQM_QUANTUM_COMPUTER
as needed) when that is set; otherwise it starts an embedded emulator of a 20-qubit Garnet.

    python examples/quickstart.py
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from contextlib import AsyncExitStack
from math import pi

from iqm_client_async import AsyncIQMClient, Circuit, CircuitOperation

SHOTS = 1000


def bell_circuit() -> Circuit:
    """|00> + |11>: H on QB1 (as PRX gates), then CNOT(QB1 -> QB2) as H-CZ-H on QB2."""
    return Circuit(
        name="bell",
        instructions=(
            CircuitOperation("prx", ("QB1",), {"angle": pi / 2, "phase": pi / 2}),
            CircuitOperation("prx", ("QB2",), {"angle": pi / 2, "phase": pi / 2}),
            CircuitOperation("cz", ("QB1", "QB2")),
            CircuitOperation("prx", ("QB2",), {"angle": pi / 2, "phase": 3 * pi / 2}),
            CircuitOperation("measure", ("QB1", "QB2"), {"key": "m"}),
        ),
    )


def histogram(counts: Counter[str], shots: int) -> str:
    width = 40
    return "\n".join(
        f"  {bits}  {n:5d}  {'#' * round(width * n / shots)}" for bits, n in sorted(counts.items())
    )


async def main() -> None:
    async with AsyncExitStack() as stack:
        url = os.environ.get("IQM_SERVER_URL")
        if url is None:
            from iqm_client_async.emulator import Emulator

            emulator = await stack.enter_async_context(Emulator(qpu="garnet", seed=2024))
            url = emulator.url
            print(f"No IQM_SERVER_URL set: using an embedded emulator at {url}")
        client = await stack.enter_async_context(AsyncIQMClient(url))
        print(f"Quantum computer: {client.quantum_computer_name}")
        job = await client.submit_circuits([bell_circuit()], shots=SHOTS)
        print(f"Submitted job {job.job_id}")
        status = await job.wait_for_completion()
        print(f"Job {status.value}")
        results = await job.result()
        if results is None:
            raise SystemExit(f"Job did not complete: {job.data.errors}")
        counts = Counter("".join(map(str, shot)) for shot in results[0]["m"])
        print(f"Bell-state histogram of QB1 QB2 ({SHOTS} shots):")
        print(histogram(counts, SHOTS))


if __name__ == "__main__":
    asyncio.run(main())
