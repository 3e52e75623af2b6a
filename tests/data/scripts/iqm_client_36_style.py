"""A script written for IQM's iqm-client 36: from_url, job definition, tracker, chip topology.

Runs unchanged on iqm-client 36; on iqm-client-async after changing only the import line.
Reads IQM_SERVER_URL (and IQM_QUANTUM_COMPUTER / IQM_TOKEN if set) from the environment.
"""

import math
import os
import warnings

from iqm.iqm_client import Circuit, CircuitJobDefinition, CircuitJobTracker, CircuitOperation, IQMClient

client = IQMClient.from_url(os.environ["IQM_SERVER_URL"], client_signature="style-36")
print("quantum computer:", client.quantum_computer_name, "chip:", client.get_chip_label())
topology = client.get_chip_topology()
assert "QB1" in topology.qubits and topology.couplers

half = math.pi / 2
bell = Circuit(
    name="bell",
    instructions=(
        CircuitOperation("prx", ("QB1",), {"angle": half, "phase": half}),
        CircuitOperation("prx", ("QB2",), {"angle": half, "phase": half}),
        CircuitOperation("cz", ("QB1", "QB2"), {}),
        CircuitOperation("prx", ("QB2",), {"angle": half, "phase": 3 * half}),
        CircuitOperation("measure", ("QB1", "QB2"), {"key": "m"}),
    ),
)
definition = client.create_circuit_job_definition([bell], shots=200)
assert isinstance(definition, CircuitJobDefinition)
tracker = client.submit_circuit_job(definition, use_timeslot=False)
assert isinstance(tracker, CircuitJobTracker)

updates = []
status = tracker.wait_for_completion(timeout_secs=60, polling_interval=0.2, progress_callback=updates.append)
assert status.value == "completed", status
assert tracker.errors == ""
assert all(isinstance(label, str) for update in updates for label, _, _ in update)

results = tracker.result()
assert results is not None and len(results[0]["m"]) == 200
counts = tracker.result_counts()
assert counts is not None and set(counts[0].counts) <= {"00", "11"}
assert tracker.payload().shots == 200
assert tracker.job_data.compilation is not None

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    fetched = client.get_job(tracker.job_id)
assert isinstance(fetched, CircuitJobTracker)
assert fetched.job_data.status.value == "completed"
assert fetched.payload().shots == 200
assert client.get_job_measurements(tracker.job_id) == results
print("36-style script OK:", counts[0].counts)
