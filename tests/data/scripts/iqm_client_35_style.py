"""A script written for IQM's iqm-client 35: run request, job, results, payload, job by id.

Runs unchanged on iqm-client 35; on iqm-client-async after changing only the import line.
Reads IQM_SERVER_URL (and IQM_QUANTUM_COMPUTER / IQM_TOKEN if set) from the environment.
"""

import math
import os
import warnings

from iqm.iqm_client import (
    Circuit,
    CircuitCompilationOptions,
    CircuitOperation,
    HeraldingMode,
    IQMClient,
    JobStatus,
)

client = IQMClient(os.environ["IQM_SERVER_URL"], client_signature="style-35")
print("quantum computer:", client.quantum_computer_name)

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
options = CircuitCompilationOptions(heralding_mode=HeraldingMode.NONE)
run_request = client.create_run_request([bell], shots=200, options=options)
job = client.submit_run_request(run_request)
status = job.wait_for_completion(timeout_secs=60)
assert status == JobStatus.COMPLETED, status

results = job.result()
assert results is not None and len(results[0]["m"]) == 200
counts = client.get_job_measurement_counts(job.job_id)
assert set(counts[0].counts) <= {"00", "11"} and sum(counts[0].counts.values()) == 200
assert job.data.compilation is not None
assert job.find_timeline_entry("ready", source="iqm-station-control") is not None

circuits, parameters = job.payload()
assert len(circuits) == 1 and parameters.shots == 200

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    again = client.get_job(job.job_id)
assert again.data.status == JobStatus.COMPLETED
assert again.result() == results
architecture = client.get_dynamic_quantum_architecture()
assert ("QB1", "QB2") in architecture.gates["cz"].loci
print("35-style script OK:", counts[0].counts)
