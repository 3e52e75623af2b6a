"""Ways of running jobs against an emulator process that several benchmarks share."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import httpx

from iqm_client_async import AsyncIQMClient, Circuit, CircuitOperation
from iqm_client_async._transport import DefaultTransport
from iqm_client_async.models import PostJobsRequest, serialize_run_request

from ._common import GARNET, FifoSlots, InstructionSpec, bell_specs, build_circuits

QUANTUM_COMPUTER = GARNET.name
JOBS_PATH = f"/api/v1/jobs/{QUANTUM_COMPUTER}/circuit"
IN_FLIGHT = 32  # our client's default max_concurrent_requests


def our_circuit(spec: list[InstructionSpec]) -> Circuit:
    """One circuit of our client from an instruction spec."""
    circuit: Circuit = build_circuits([spec], Circuit, CircuitOperation)[0]
    return circuit


def run_request_body(spec: list[InstructionSpec], *, shots: int = 1) -> bytes:
    """The JSON body submitting one circuit (for raw HTTP submissions outside any client)."""
    return serialize_run_request(PostJobsRequest.from_validated([our_circuit(spec)], shots=shots))


def our_client(url: str, **options: Any) -> AsyncIQMClient:
    """Our async client for the emulator at ``url``."""
    return AsyncIQMClient(url, quantum_computer=QUANTUM_COMPUTER, **options)


async def submit_raw(url: str, body: bytes, count: int) -> list[str]:
    """Submit ``count`` jobs with plain httpx (jobs that no client ever polls); return their ids."""
    ids: list[str] = []
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        for _ in range(count):
            response = await http.post(JOBS_PATH, content=body, headers={"Content-Type": "application/json"})
            response.raise_for_status()
            ids.append(response.json()["id"])
    return ids


def submit_raw_blocking(url: str, body: bytes, count: int) -> list[str]:
    """``submit_raw`` from synchronous code."""
    return anyio.run(submit_raw, url, body, count)


async def perfect_polling(
    url: str,
    jobs: int,
    *,
    workers: int,
    duration_s: Callable[[int], float],
    retry_s: float,
    shots: Callable[[int], int] = lambda _: 1,
    our_transport: bool = True,
) -> tuple[float, int]:
    """Plain httpx and perfect polling: the three requests of each job with no client logic (a client-bound floor).

    Every job (a Bell circuit, ``shots(index)`` shots) is submitted, asked for its status once, when
    :class:`FifoSlots` with ``workers`` slots says it ends (its queue time: its submission's response;
    ``duration_s(index)`` its running time), again every ``retry_s`` while not completed (the emulator's
    own delays), and its result downloaded. On our transport (aiohttp under httpx) with ``IN_FLIGHT``
    requests at a time, like our client's defaults, or on httpx's stock transport with every request handed
    to it at once (``IN_FLIGHT`` connections), what a naive asyncio user would write.

    Returns:
        Seconds from the first submission to the last result in hand, and the jobs completed.
    """
    bodies = {count: run_request_body(bell_specs(), shots=count) for count in {shots(i) for i in range(jobs)}}
    transport: httpx.AsyncBaseTransport
    if our_transport:
        transport = DefaultTransport(max_connections=IN_FLIGHT)
    else:
        limits = httpx.Limits(max_connections=IN_FLIGHT, max_keepalive_connections=IN_FLIGHT)
        transport = httpx.AsyncHTTPTransport(limits=limits)
    in_flight = anyio.CapacityLimiter(IN_FLIGHT if our_transport else jobs)
    slots = FifoSlots(workers)
    completed = 0

    async def one(http: httpx.AsyncClient, index: int) -> None:
        nonlocal completed
        async with in_flight:
            submitted = (
                await http.post(
                    JOBS_PATH, content=bodies[shots(index)], headers={"Content-Type": "application/json"}
                )
            ).json()
        await anyio.sleep(slots.end(time.perf_counter(), duration_s(index)) - time.perf_counter())
        while True:
            async with in_flight:
                status = (await http.get(f"/api/v1/jobs/{submitted['id']}")).json()["status"]
            if status == "completed":
                break
            await anyio.sleep(retry_s)
        async with in_flight:
            response = await http.get(f"/api/v1/jobs/{submitted['id']}/artifacts/measurements")
        completed += response.status_code == 200

    async with httpx.AsyncClient(base_url=url, transport=transport, timeout=120) as http:
        started = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for index in range(jobs):
                tg.start_soon(one, http, index)
        return time.perf_counter() - started, completed


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Send stderr to /dev/null within the block (the reference draws tqdm bars there while waiting)."""
    with open(os.devnull, "w") as devnull, contextlib.redirect_stderr(devnull):
        yield
    sys.stderr.flush()
