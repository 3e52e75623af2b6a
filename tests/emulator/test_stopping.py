"""Stopping work that is under way: a cancelled job's simulation ends, and SIGTERM/SIGINT end the process.

Each job here would simulate for about 25 s on an idle machine (longer on a busy one); the bounds are
generous (measured: milliseconds from a cancellation to the end of the simulation thread, about a second
from a signal to the end of the process).
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time

import httpx
import pytest

from iqm_client_async.emulator import Emulator

from .heavy_jobs import heavy_body
from .server_helpers import wait_for

SUBMIT = "/api/v1/jobs/garnet/circuit"
JSON = {"Content-Type": "application/json"}
GENEROUS_S = 10.0
"""Far below the minutes the jobs would run, far above what stopping takes on an idle machine."""


async def submit_heavy(client: httpx.AsyncClient) -> httpx.Response:
    return await client.post(SUBMIT, content=heavy_body(), headers=JSON)


@pytest.mark.asyncio
async def test_cancelling_a_running_job_ends_its_simulation() -> None:
    async with Emulator(seed=1) as emulator, httpx.AsyncClient(base_url=emulator.url, timeout=60) as client:
        job = (await submit_heavy(client)).json()
        await wait_for(client, job["id"], {"processing"})
        await asyncio.sleep(0.5)  # well inside the first circuit's simulation
        assert emulator.stats()["simulations_running"] == 1

        cancelled = await client.post(f"/api/v1/jobs/{job['id']}/cancel")
        async with asyncio.timeout(GENEROUS_S):
            while emulator.stats()["simulations_running"]:  # noqa: ASYNC110 (a counter, no event to wait for)
                await asyncio.sleep(0.01)

        assert cancelled.json()["status"] == "cancelled"
        assert (await client.get(f"/api/v1/jobs/{job['id']}")).json()["status"] == "cancelled"


@pytest.mark.asyncio
async def test_stopping_the_emulator_ends_running_simulations() -> None:
    emulator = Emulator(seed=1, workers=2)
    await emulator.start()
    try:
        async with httpx.AsyncClient(base_url=emulator.url, timeout=60) as client:
            jobs = [(await submit_heavy(client)).json() for _ in range(2)]
            for job in jobs:
                await wait_for(client, job["id"], {"processing"})
    finally:
        async with asyncio.timeout(GENEROUS_S):
            await emulator.stop()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_the_process_with_jobs_running(sig: signal.Signals) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "iqm_client_async.emulator", "--port=0", "--seed=1", "--workers=2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().split(" at ")[1].split()[0]
        with httpx.Client(base_url=url, timeout=60) as client:
            ids = [client.post(SUBMIT, content=heavy_body(), headers=JSON).json()["id"] for _ in range(2)]
            deadline = time.monotonic() + 30
            while client.get(f"/api/v1/jobs/{ids[-1]}").json()["status"] != "processing":
                assert time.monotonic() < deadline
                time.sleep(0.01)
            assert client.get("/about").json()["counters"]["simulations_running"] == 2

            process.send_signal(sig)
            out, err = process.communicate(timeout=GENEROUS_S)
    finally:
        process.kill()
        process.wait()

    assert process.returncode == 0, err
    assert "Emulator stopped." in out
    assert "Traceback" not in err
