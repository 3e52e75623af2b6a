"""The in-process API: Emulator in the running loop, BlockingEmulator in a thread, settings and clean shutdown."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import typing

import httpx
import pytest

from iqm_client_async.emulator import (
    BlockingEmulator,
    Emulator,
    EmulatorConfigurationError,
    EmulatorOptions,
    EmulatorSettings,
    EmulatorStateError,
)

from .server_helpers import flip, run_request, submit, wait_for


def test_options_are_exactly_the_settings_fields() -> None:
    assert set(typing.get_type_hints(EmulatorOptions)) == {
        field.name for field in dataclasses.fields(EmulatorSettings)
    }


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"workers": 0}, "workers must be at least 1"),
        ({"latency_ms": -1}, "latency_ms must not be negative"),
        ({"noise": "loud"}, "noise must be"),
        ({"faults": "503:2"}, "between 0 and 1"),
        ({"colour": "blue"}, "Unknown emulator option(s): colour"),
    ],
)
def test_invalid_options_are_refused(options: dict[str, object], fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        Emulator(**options)  # type: ignore[arg-type]


@pytest.mark.asyncio
async def test_unknown_qpu_is_refused_at_start() -> None:
    with pytest.raises(EmulatorConfigurationError, match="sirius"):
        async with Emulator(qpu="sirius"):
            pass


@pytest.mark.asyncio
async def test_state_errors() -> None:
    emulator = Emulator()
    with pytest.raises(EmulatorStateError):
        _ = emulator.url
    with pytest.raises(EmulatorStateError):
        emulator.stats()
    async with emulator:
        with pytest.raises(EmulatorStateError, match="already running"):
            await emulator.start()
    await emulator.stop()  # stopping twice is harmless
    async with Emulator(serve_http=False) as socketless:
        with pytest.raises(EmulatorStateError, match="serve_http=False"):
            _ = socketless.port


@pytest.mark.asyncio
async def test_shutdown_leaves_no_tasks_or_threads_while_a_job_runs() -> None:
    threads_before = set(threading.enumerate())
    async with (
        Emulator(job_duration_ms=10_000) as emulator,
        httpx.AsyncClient(base_url=emulator.url) as client,
    ):
        job = (await submit(client)).json()
        await wait_for(client, job["id"], {"processing"})

    assert asyncio.all_tasks() == {asyncio.current_task()}
    assert set(threading.enumerate()) <= threads_before


@pytest.mark.asyncio
async def test_port_is_bound_on_loopback_and_reusable_after_stop() -> None:
    async with Emulator() as first:
        port = first.port
        assert first.url == f"http://127.0.0.1:{port}"
    async with Emulator(port=port) as second, httpx.AsyncClient() as client:
        assert second.port == port
        assert (await client.get(f"{second.url}/about")).status_code == 200


def test_blocking_emulator_serves_from_a_thread() -> None:
    threads_before = set(threading.enumerate())

    with BlockingEmulator(qpu="adonis", seed=3) as emulator:
        with httpx.Client(base_url=emulator.url, timeout=5) as client:
            submitted = client.post("/api/v1/jobs/adonis/circuit", json=run_request(flip(), shots=3))
            job_id = submitted.json()["id"]
            port = emulator.port
            emulator.restart()
            assert emulator.port == port
            assert client.get("/api/v1/quantum-computers").status_code == 200
            assert client.get(f"/api/v1/jobs/{job_id}").status_code == 404  # memory-only store
        assert emulator.stats()["requests_served"] == 2
        assert emulator.settings.qpu == "adonis"

    emulator.stop()
    assert set(threading.enumerate()) <= threads_before
    with pytest.raises(EmulatorStateError):
        emulator.stats()
