"""Injected faults: spec parsing, each kind as a client sees it, seeded reproducibility, no job ever lost."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from iqm_client_async.emulator import Emulator, FaultKind, FaultSpec, FaultSpecError
from iqm_client_async.emulator.faults import FaultInjector

from .server_helpers import run_request, submit, wait_for


def test_fault_spec_parsing() -> None:
    spec = FaultSpec.parse("503:0.1, 429:0.05,reset:0.03,slow:0.02,lost:0.01")

    assert spec.rate(FaultKind.UNAVAILABLE) == 0.1
    assert spec.rate(FaultKind.LOST) == 0.01
    assert str(spec) == "503:0.1,429:0.05,reset:0.03,slow:0.02,lost:0.01"
    assert FaultSpec.parse(str(spec)) == spec
    assert not FaultSpec.parse("")
    assert not FaultSpec.parse("503:0")


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("500:0.1", "Unknown fault kind '500'"),
        ("503", "needs a rate"),
        ("503:lots", "needs a rate"),
        ("503:1.5", "between 0 and 1"),
        ("503:0.1,503:0.2", "given twice"),
        ("503:0.6,reset:0.6", "add up to more than 1"),
    ],
)
def test_bad_fault_specs(spec: str, fragment: str) -> None:
    with pytest.raises(FaultSpecError, match=fragment):
        FaultSpec.parse(spec)


def test_injector_is_reproducible_and_loses_only_submissions() -> None:
    spec = FaultSpec.parse("503:0.2,reset:0.2,lost:0.3")
    first, second, other = FaultInjector(spec, 42), FaultInjector(spec, 42), FaultInjector(spec, 43)

    draws = [first.draw(submission=n % 2 == 0) for n in range(400)]

    assert draws == [second.draw(submission=n % 2 == 0) for n in range(400)]
    assert draws != [other.draw(submission=n % 2 == 0) for n in range(400)]
    assert all(draw is not FaultKind.LOST for n, draw in enumerate(draws) if n % 2 == 1)
    counts = first.counts()
    assert counts["lost"] == draws.count(FaultKind.LOST) > 0
    assert 40 < counts["503"] < 120


@pytest_asyncio.fixture
async def start() -> AsyncIterator[object]:
    """Factory: an emulator listening on loopback with the given faults, and a raw client of it."""
    emulators: list[Emulator] = []
    clients: list[httpx.AsyncClient] = []

    async def factory(
        faults: str, *, client_timeout: float = 5.0, **options: object
    ) -> tuple[Emulator, httpx.AsyncClient]:
        emulator = Emulator(faults=faults, **options)  # type: ignore[arg-type]
        await emulator.start()
        emulators.append(emulator)
        clients.append(httpx.AsyncClient(base_url=emulator.url, timeout=client_timeout))
        return emulator, clients[-1]

    yield factory
    for client in clients:
        await client.aclose()
    for emulator in emulators:
        await emulator.stop()


@pytest.mark.asyncio
async def test_503_and_429_answer_error_bodies(start) -> None:  # type: ignore[no-untyped-def]
    _, unavailable = await start("503:1")
    _, limited = await start("429:1", retry_after_s=0)

    response = await unavailable.get("/api/v1/quantum-computers")
    throttled = await limited.get("/api/v1/quantum-computers")

    assert response.status_code == 503
    assert response.json()["source"] == "iqm-server"
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "0"
    assert throttled.json()["error_code"] == "rate_limited"


@pytest.mark.asyncio
async def test_reset_drops_the_connection_without_a_response(start) -> None:  # type: ignore[no-untyped-def]
    emulator, client = await start("reset:1")

    with pytest.raises(httpx.TransportError) as caught:
        await client.get("/api/v1/quantum-computers")

    assert not isinstance(caught.value, httpx.TimeoutException)
    assert emulator.stats()["faults_injected"]["reset"] == 1


@pytest.mark.asyncio
async def test_reset_over_the_in_process_transport() -> None:
    async with Emulator(faults="reset:1", serve_http=False) as emulator:
        client = httpx.AsyncClient(transport=emulator.transport(), base_url="http://emulator")
        async with client:
            with pytest.raises(httpx.RemoteProtocolError):
                await client.get("/about")


@pytest.mark.asyncio
async def test_slow_responses_outlast_the_client_timeout(start) -> None:  # type: ignore[no-untyped-def]
    emulator, client = await start("slow:1", slow_delay_s=30, client_timeout=0.3)

    with pytest.raises(httpx.ReadTimeout):
        await client.get("/api/v1/quantum-computers")

    assert emulator.stats()["faults_injected"]["slow"] == 1


@pytest.mark.asyncio
async def test_slow_submission_creates_the_job(start) -> None:  # type: ignore[no-untyped-def]
    emulator, client = await start("slow:1", slow_delay_s=30, client_timeout=0.3)

    with pytest.raises(httpx.ReadTimeout):
        await submit(client, **{"Idempotency-Key": "k"})

    assert emulator.stats()["jobs_created"] == 1


@pytest.mark.asyncio
async def test_lost_submission_is_stored_and_found_again_with_its_key(start) -> None:  # type: ignore[no-untyped-def]
    emulator, client = await start("lost:1")

    with pytest.raises(httpx.TransportError):
        await submit(client, **{"Idempotency-Key": "lost-one"})

    stored = emulator.core.jobs.store.by_idempotency_key["lost-one"]
    job = await wait_for(client, stored.id)  # status requests are never lost
    assert job["status"] == "completed"
    assert emulator.stats()["faults_injected"]["lost"] == 1
    assert emulator.stats()["jobs_created"] == 1


@pytest.mark.asyncio
async def test_same_seed_injects_the_same_faults(start) -> None:  # type: ignore[no-untyped-def]
    outcomes = []
    for _ in range(2):
        _, client = await start("503:0.3,429:0.2,reset:0.2", seed=99, retry_after_s=0)
        seen = []
        for _ in range(40):
            try:
                seen.append(str((await client.get("/api/v1/quantum-computers")).status_code))
            except httpx.TransportError as exc:
                seen.append(type(exc).__name__)
        outcomes.append(seen)

    assert outcomes[0] == outcomes[1]
    assert {"200", "503", "429"} <= set(outcomes[0])
    assert len(set(outcomes[0]) - {"200", "503", "429"}) >= 1


@pytest.mark.asyncio
async def test_no_job_is_lost_or_duplicated_under_faults(start) -> None:  # type: ignore[no-untyped-def]
    emulator, client = await start("503:0.15,429:0.1,reset:0.1,lost:0.2", seed=3, retry_after_s=0)

    async def submit_until_known(key: str) -> str:
        while True:
            try:
                response = await submit(client, run_request(shots=5), **{"Idempotency-Key": key})
            except httpx.TransportError:
                continue
            if response.status_code == 200:
                return str(response.json()["id"])
            assert response.status_code in (429, 503), response.text

    async def status_until_known(job_id: str) -> dict[str, object]:
        while True:
            try:
                return await wait_for(client, job_id)
            except (httpx.TransportError, AssertionError):
                await asyncio.sleep(0)

    job_ids = [await submit_until_known(f"key-{n}") for n in range(12)]
    finished = [await status_until_known(job_id) for job_id in job_ids]

    stats = emulator.stats()
    assert len(set(job_ids)) == 12
    assert stats["jobs_created"] == 12
    assert all(job["status"] == "completed" for job in finished)
    assert stats["faults_injected"]["lost"] > 0
    assert stats["idempotent_replays"] >= stats["faults_injected"]["lost"]
