"""The blocking facade: same surface as the async client, works in scripts, threads and event loops."""

from __future__ import annotations

import asyncio
import inspect
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from math import pi

import pytest
from conftest import BASE, JOB_ID, FakeServer

from iqm_client_async import (
    AsyncCircuitJob,
    AsyncIQMClient,
    Circuit,
    CircuitJob,
    CircuitOperation,
    IQMClient,
    IQMError,
    JobStatus,
)

BELL = Circuit(
    "bell",
    (
        CircuitOperation("prx", ("QB1",), {"angle": pi / 2, "phase": pi / 2}),
        CircuitOperation("cz", ("QB1", "QB2")),
        CircuitOperation("measure", ("QB1", "QB2"), {"key": "m"}),
    ),
)


def public_methods(cls: type) -> dict[str, inspect.Signature]:
    names = [n for n in dir(cls) if not n.startswith("__")]
    return {
        n: inspect.signature(getattr(cls, n))
        for n in names
        if callable(getattr(cls, n)) and not isinstance(inspect.getattr_static(cls, n), property)
    }


def params(sig: inspect.Signature) -> list[tuple[str, object, object]]:
    return [(p.name, p.kind, p.default) for p in sig.parameters.values()]


FACADE_ONLY = {"close", "async_client", "run_in_loop", "_job"}
ASYNC_ONLY = {
    "aclose",
    "_fetch_job_data",
    "_once",
    "_qc_alias",
    "_qc_path",
    "_honours_idempotency",
    "_note_calibration_set",
}


def test_client_surfaces_match() -> None:
    sync_methods = public_methods(IQMClient)
    async_methods = public_methods(AsyncIQMClient)
    assert set(sync_methods) - FACADE_ONLY == set(async_methods) - ASYNC_ONLY
    for name in set(sync_methods) - FACADE_ONLY:
        assert params(sync_methods[name]) == params(async_methods[name]), name
    assert params(inspect.signature(IQMClient.__init__)) == params(inspect.signature(AsyncIQMClient.__init__))
    assert isinstance(inspect.getattr_static(IQMClient, "quantum_computer_name"), property)
    assert isinstance(inspect.getattr_static(AsyncIQMClient, "quantum_computer_name"), property)


def test_job_surfaces_match() -> None:
    sync_methods = public_methods(CircuitJob)
    async_methods = public_methods(AsyncCircuitJob)
    assert set(sync_methods) == set(async_methods) - {"_set_data"}
    for name, sig in sync_methods.items():
        assert params(sig) == params(async_methods[name]), name
    for prop in ("job_id", "status", "data"):
        assert hasattr(CircuitJob, prop)


def test_reference_names_exist() -> None:
    reference_methods = {
        "get_health",
        "get_about",
        "submit_circuits",
        "create_run_request",
        "submit_run_request",
        "get_job",
        "cancel_job",
        "delete_job",
        "get_static_quantum_architecture",
        "get_quality_metric_set",
        "get_calibration_set",
        "get_dynamic_quantum_architecture",
        "get_feedback_groups",
        "get_job_measurement_counts",
        "get_job_measurements",
        "get_calibration_quality_metrics",
        "_get_calibration_quality_metrics",
        "_get_dut_label",
        "_get_submit_circuits_payload",
    }
    assert reference_methods <= set(dir(IQMClient)) and reference_methods <= set(dir(AsyncIQMClient))
    for name in ("update", "wait_for_completion", "result", "payload", "cancel", "find_timeline_entry"):
        assert hasattr(CircuitJob, name) and hasattr(AsyncCircuitJob, name)


def test_script_flow(server: FakeServer) -> None:
    server.job_sequence("processing", "completed")
    with IQMClient(BASE, transport=server.transport()) as client:
        assert client.quantum_computer_name == "garnet"
        job = client.submit_circuits([BELL], shots=2)
        assert isinstance(job, CircuitJob) and str(job.job_id) == JOB_ID
        assert job.wait_for_completion() == JobStatus.COMPLETED
        assert job.result() == [{"m": [[0, 0], [1, 1]]}]
        assert client.get_job_measurement_counts(job.job_id)[0].counts == {"00": 1, "11": 1}
    with pytest.raises(IQMError, match="closed"):
        client.get_health()


def test_from_many_threads(server: FakeServer) -> None:
    with IQMClient(BASE, transport=server.transport()) as client:
        with ThreadPoolExecutor(8) as pool:
            jobs = list(pool.map(lambda _: client.submit_circuits([BELL]), range(32)))
        assert len(jobs) == 32 and server.submit.call_count == 32
        assert server.dqa_default.call_count == 1


def test_inside_a_running_event_loop(server: FakeServer) -> None:
    async def notebook_cell() -> str:
        # a notebook cell runs inside an event loop; the blocking client still works there
        with IQMClient(BASE, transport=server.transport()) as client:
            return client.submit_circuits([BELL]).status.value

    assert asyncio.run(notebook_cell()) == "waiting"


def test_calling_from_the_portal_thread_fails_fast(server: FakeServer) -> None:
    with IQMClient(BASE, transport=server.transport()) as client:

        async def reenter() -> None:
            client.get_health()

        with pytest.raises(IQMError, match="own event-loop thread"):
            client._portal.run(reenter)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_use_after_fork_fails_clearly(server: FakeServer) -> None:
    with IQMClient(BASE, transport=server.transport()) as client:
        client.get_dynamic_quantum_architecture()
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # child
            try:
                client.get_health()
                os.write(write, b"no error")
            except IQMError as exc:
                os.write(write, str(exc).encode()[:200])
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        message = os.read(read, 200).decode()
        assert "os.fork()" in message


def test_close_is_idempotent_and_threads_end(server: FakeServer) -> None:
    before = threading.active_count()
    client = IQMClient(BASE, transport=server.transport())
    client.get_dynamic_quantum_architecture()
    client.close()
    client.close()
    deadline = time.monotonic() + 2
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert threading.active_count() == before


CTRL_C_SCRIPT = textwrap.dedent(
    """
    import sys, time, httpx, anyio
    from iqm_client_async import IQMClient

    cancelled = []

    async def handler(request):
        try:
            await anyio.sleep(30)
        except BaseException:
            cancelled.append(True)
            raise
        return httpx.Response(200, json={})

    client = IQMClient("https://iqm.example.com", quantum_computer="garnet", transport=httpx.MockTransport(handler))
    client._async._quantum_computer = None
    print("ready", flush=True)
    start = time.monotonic()
    try:
        client.get_about()
    except KeyboardInterrupt:
        print(f"interrupted after {time.monotonic() - start:.2f}s cancelled={bool(cancelled)}", flush=True)
    client.close()
    """
)


def test_ctrl_c_cancels_the_running_call() -> None:
    proc = subprocess.Popen([sys.executable, "-c", CTRL_C_SCRIPT], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=20)
    assert "interrupted after" in out and "cancelled=True" in out, out
    seconds = float(out.split("after ")[1].split("s")[0])
    assert seconds < 5


def test_facade_job_ids_are_uuids(server: FakeServer) -> None:
    with IQMClient(BASE, transport=server.transport()) as client:
        job = client.get_job(uuid.UUID(JOB_ID))
        assert job.status == JobStatus.COMPLETED and job.data.id == uuid.UUID(JOB_ID)


def test_timeout_error_from_the_coroutine_propagates(server: FakeServer) -> None:
    async def times_out() -> None:
        raise TimeoutError("from the coroutine")

    with IQMClient(BASE, transport=server.transport()) as client:
        started = time.monotonic()
        with pytest.raises(TimeoutError, match="from the coroutine"):
            client._portal.run(times_out)
        assert time.monotonic() - started < 1
