"""The blocking ``IQMClient``: a GHZ state from a plain script, no async code in sight.

Runs on the server named by IQM_SERVER_URL (with IQM_TOKEN / IQM_TOKENS_FILE / IQM_QUANTUM_COMPUTER
as needed) when that is set; otherwise it starts an embedded emulator of a 20-qubit Garnet in a
background thread.

    python examples/sync_facade.py
"""

from __future__ import annotations

import os
from contextlib import ExitStack
from math import pi

from iqm_client_async import Circuit, CircuitOperation, DynamicQuantumArchitecture, IQMClient

SHOTS = 1000


def connected_triple(architecture: DynamicQuantumArchitecture) -> tuple[str, str, str]:
    """Three qubits ``a - b - c`` where both pairs have a calibrated CZ gate."""
    neighbours: dict[str, list[str]] = {}
    for first, second in architecture.gates["cz"].loci:
        neighbours.setdefault(first, []).append(second)
        neighbours.setdefault(second, []).append(first)
    for middle in architecture.qubits:
        linked = neighbours.get(middle, [])
        if len(linked) >= 2:
            return linked[0], middle, linked[1]
    raise SystemExit("No three connected qubits with calibrated CZ gates on this quantum computer")


def hadamard(qubit: str) -> CircuitOperation:
    """H up to a global phase, as a PRX rotation (the PRX-CZ-PRX form of CNOT needs it on the target)."""
    return CircuitOperation("prx", (qubit,), {"angle": pi / 2, "phase": pi / 2})


def cnot(control: str, target: str) -> list[CircuitOperation]:
    """CNOT as H-CZ-H on the target (the second PRX undoes the first: phase shifted by pi)."""
    return [
        hadamard(target),
        CircuitOperation("cz", (control, target)),
        CircuitOperation("prx", (target,), {"angle": pi / 2, "phase": 3 * pi / 2}),
    ]


def ghz_circuit(a: str, b: str, c: str) -> Circuit:
    """(|000> + |111>) / sqrt(2) on a - b - c, measured under the key ``ghz``."""
    return Circuit(
        name="ghz3",
        instructions=[
            hadamard(a),
            *cnot(a, b),
            *cnot(b, c),
            CircuitOperation("measure", (a, b, c), {"key": "ghz"}),
        ],
        metadata={"example": "sync_facade"},
    )


def main() -> None:
    with ExitStack() as stack:
        url = os.environ.get("IQM_SERVER_URL")
        if url is None:
            from iqm_client_async.emulator import BlockingEmulator

            url = stack.enter_context(BlockingEmulator(qpu="garnet", seed=7)).url
            print(f"No IQM_SERVER_URL set: using an embedded emulator at {url}")
        client = stack.enter_context(IQMClient(url))
        print(f"Quantum computer: {client.quantum_computer_name}")

        architecture = client.get_dynamic_quantum_architecture()
        cz = architecture.gates["cz"]
        print(f"Calibration set: {architecture.calibration_set_id}")
        print(f"Qubits ({len(architecture.qubits)}): {' '.join(architecture.qubits)}")
        print(f"Calibrated gates: {', '.join(sorted(architecture.gates))}")
        print(f"CZ loci ({len(cz.loci)}), first few: {', '.join('-'.join(locus) for locus in cz.loci[:4])}")
        for number, group in enumerate(client.get_feedback_groups(), start=1):
            print(f"Feedback group {number}: {' '.join(sorted(group, key=lambda q: (len(q), q)))}")

        a, b, c = connected_triple(architecture)
        circuit = ghz_circuit(a, b, c)
        job = client.submit_circuits([circuit], shots=SHOTS)
        print(f"Submitted job {job.job_id} (GHZ on {a} {b} {c})")
        status = job.wait_for_completion(timeout_secs=120)
        print(f"Job {status.value}")

        results = job.result()
        if results is None:
            raise SystemExit(f"Job did not complete: {job.data.errors}")
        print(f"Shots returned: {len(results[0]['ghz'])}; first five: {results[0]['ghz'][:5]}")

        histogram = client.get_job_measurement_counts(job.job_id)[0]
        print(f"Counts of {' '.join(histogram.measurement_keys)} over {a} {b} {c}:")
        for bits, count in sorted(histogram.counts.items()):
            print(f"  {bits}  {count:5d}")

        submitted, parameters = job.payload()
        for stored in submitted:
            if isinstance(stored, Circuit):  # the payload may also hold QIR strings
                print(
                    f"Payload: circuit {stored.name!r}, {len(stored.instructions)} instructions, "
                    f"metadata={stored.metadata}"
                )
        print(f"Payload parameters: shots={parameters.shots}, heralding={parameters.heralding_mode.value}")


if __name__ == "__main__":
    main()
