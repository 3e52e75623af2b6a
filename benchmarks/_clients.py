"""Ways of running jobs against an emulator process that several benchmarks share."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any

import anyio
import httpx

from iqm_client_async import AsyncIQMClient, Circuit, CircuitOperation
from iqm_client_async.models import PostJobsRequest, serialize_run_request

from ._common import GARNET, InstructionSpec, build_circuits

QUANTUM_COMPUTER = GARNET.name
JOBS_PATH = f"/api/v1/jobs/{QUANTUM_COMPUTER}/circuit"


def our_circuit(spec: list[InstructionSpec]) -> Circuit:
    """One circuit of our client from an instruction spec."""
    circuit: Circuit = build_circuits([spec], Circuit, CircuitOperation)[0]
    return circuit


def run_request_body(spec: list[InstructionSpec]) -> bytes:
    """The JSON body submitting one circuit (for raw HTTP submissions outside any client)."""
    return serialize_run_request(PostJobsRequest.from_validated([our_circuit(spec)]))


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


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Send stderr to /dev/null within the block (the reference draws tqdm bars there while waiting)."""
    with open(os.devnull, "w") as devnull, contextlib.redirect_stderr(devnull):
        yield
    sys.stderr.flush()
