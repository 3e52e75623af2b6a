"""The emulator's duration model: a fixed overhead plus a time per circuit and per shot."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest

from iqm_client_async.emulator import Emulator
from iqm_client_async.emulator.__main__ import build_parser, settings_from_args
from iqm_client_async.emulator.settings import EmulatorConfigurationError, EmulatorSettings

from .server_helpers import bell, run_request, submit, wait_for


def test_execution_time_adds_overhead_circuits_and_shots() -> None:
    settings = EmulatorSettings(job_duration_ms=20, circuit_duration_ms=5, shot_duration_us=500)
    assert settings.execution_seconds(circuits=2, shots=100) == pytest.approx(0.02 + 2 * (0.005 + 0.05))
    assert EmulatorSettings(job_duration_ms=200).execution_seconds(circuits=7, shots=1000) == 0.2


def test_command_line_options_and_their_checks() -> None:
    args = build_parser().parse_args(["--shot-duration-us", "500", "--circuit-duration-ms", "3"])
    settings = settings_from_args(args)
    assert (settings.shot_duration_us, settings.circuit_duration_ms) == (500, 3)
    with pytest.raises(EmulatorConfigurationError, match="shot_duration_us"):
        EmulatorSettings(shot_duration_us=-1)


def _seconds(data: dict[str, Any], start: str, end: str) -> float:
    times = {entry["status"]: datetime.fromisoformat(entry["timestamp"]) for entry in data["timeline"]}
    return (times[end] - times[start]).total_seconds()


@pytest.mark.asyncio
async def test_long_and_short_jobs_run_for_their_shots() -> None:
    async with (
        Emulator(serve_http=False, workers=4, shot_duration_us=1000, seed=1) as emulator,
        httpx.AsyncClient(transport=emulator.transport(), base_url="http://emulator") as client,
    ):
        short = (await submit(client, run_request(bell(), shots=10))).json()["id"]
        long = (await submit(client, run_request(bell(), bell(), shots=200))).json()["id"]
        await wait_for(client, short)
        long_data = await wait_for(client, long)
    assert _seconds(long_data, "execution_started", "execution_ended") >= 2 * 200 * 0.001
