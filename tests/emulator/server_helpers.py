"""Request builders and polling helpers for the emulator's server tests."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from iqm_client_async.emulator import Emulator

HALF_PI = math.pi / 2
TERMINAL = {"completed", "failed", "cancelled"}


def op(name: str, *locus: str, implementation: str | None = None, **args: Any) -> dict[str, Any]:
    """One instruction in the current wire format."""
    return {"name": name, "locus": list(locus), "args": args, "implementation": implementation}


def bell(name: str = "bell", key: str = "m") -> dict[str, Any]:
    """|00> + |11> on QB1, QB2, measured together under ``key``."""
    return {
        "name": name,
        "instructions": [
            op("prx", "QB1", angle=HALF_PI, phase=HALF_PI),
            op("prx", "QB2", angle=HALF_PI, phase=HALF_PI),
            op("cz", "QB1", "QB2"),
            op("prx", "QB2", angle=HALF_PI, phase=3 * HALF_PI),
            op("measure", "QB1", "QB2", key=key),
        ],
        "metadata": {"experiment": name},
    }


def flip(qubit: str = "QB1", key: str = "m") -> dict[str, Any]:
    """X on one qubit, then measure it: always reads 1 without noise."""
    return {
        "name": f"flip-{qubit}",
        "instructions": [op("prx", qubit, angle=math.pi, phase=0.0), op("measure", qubit, key=key)],
    }


def run_request(*circuits: dict[str, Any], shots: int = 20, **options: Any) -> dict[str, Any]:
    """A RunRequest body."""
    return {"circuits": list(circuits) or [bell()], "shots": shots, **options}


async def submit(
    client: httpx.AsyncClient, body: dict[str, Any] | None = None, *, qc: str = "garnet", **headers: str
) -> httpx.Response:
    """POST a job (to garnet unless told otherwise)."""
    return await client.post(
        f"/api/v1/jobs/{qc}/circuit",
        params={"use_timeslot": "false"},
        json=body or run_request(),
        headers=headers,
    )


async def wait_for(client: httpx.AsyncClient, job_id: str, statuses: set[str] = TERMINAL) -> dict[str, Any]:
    """Poll a job until its status is one of ``statuses`` (for at most 10 s); return its JobData."""
    async with asyncio.timeout(10):
        while True:
            response = await client.get(f"/api/v1/jobs/{job_id}")
            assert response.status_code == 200, response.text
            data: dict[str, Any] = response.json()
            if data["status"] in statuses:
                return data
            await asyncio.sleep(0.01)


Connect = Callable[..., Awaitable[tuple["Emulator", httpx.AsyncClient]]]
"""The ``connect`` fixture: start an emulator with options, get it and a raw httpx client."""
