"""Reliability under injected faults: the fault campaign, token rotation, and a wrong token.

The campaign itself lives in ``scripts/fault_campaign.py`` (the ``faults`` nox session runs it with 1000
jobs); here it runs with 120 jobs, about 30 s: most of it is the client pausing 1 s for each injected 429.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from math import pi
from pathlib import Path
from types import ModuleType

import anyio
import httpx
import pytest

from iqm_client_async import (
    AsyncIQMClient,
    AuthenticationError,
    Circuit,
    CircuitOperation,
    IQMError,
    JobStatus,
)
from iqm_client_async.emulator import Emulator

CAMPAIGN_JOBS = 120
CAMPAIGN_DEADLINE_S = 120.0


def _load_campaign() -> ModuleType:
    path = Path(__file__).resolve().parents[1] / "scripts" / "fault_campaign.py"
    spec = importlib.util.spec_from_file_location("fault_campaign", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is created
    spec.loader.exec_module(module)
    return module


campaign = _load_campaign()


@pytest.mark.asyncio
async def test_campaign_every_job_correct_and_created_once(tmp_path: Path) -> None:
    # Retry-After 0 keeps the test short; the nox session runs the campaign with 1 s pauses.
    config = campaign.CampaignConfig(
        jobs=CAMPAIGN_JOBS, seed=3, deadline_s=CAMPAIGN_DEADLINE_S, retry_after_s=0
    )
    report = await campaign.run_campaign(config, tmp_path)
    print(report.summary())
    assert report.violations == []
    assert report.jobs_correct == CAMPAIGN_JOBS
    assert report.total("jobs_created") == CAMPAIGN_JOBS == report.stored_jobs
    assert report.total("jobs_completed") == CAMPAIGN_JOBS
    # Hundreds of requests at these rates: each of these kinds is injected many times in every run.
    faults = report.faults()
    assert min(faults["503"], faults["429"], faults["reset"], faults["slow"]) > 0, faults
    assert report.retries["HTTP 503"] > 0 and report.retries["HTTP 429"] > 0
    assert report.restart_seconds is not None and report.in_flight_at_restart > 0
    # the restarted emulator accepts only the new token: the client met it with the old one, re-read the file
    assert report.total("unauthorized_requests") >= 1


@pytest.mark.asyncio
async def test_campaign_report_lists_violations(tmp_path: Path) -> None:
    """A run whose checks fail (every request refused) reports them instead of passing."""
    config = campaign.CampaignConfig(jobs=2, faults="503:1.0", max_retries=1, idempotent_submissions=True)
    report = await campaign.run_campaign(config, tmp_path)
    assert not report.passed
    assert any("unhandled exception" in violation for violation in report.violations)
    assert report.total("jobs_created") == 0
    assert "FAILED" in report.summary()


def test_job_circuits_have_distinct_known_results() -> None:
    width = campaign.qubits_for(1000)
    assert width == 10
    patterns = {tuple(campaign.expected_bits(index, width)) for index in range(1000)}
    assert len(patterns) == 1000
    circuit = campaign.job_circuit(5, width)
    flipped = [op.locus[0] for op in circuit.instructions if op.name == "prx"]
    assert flipped == ["QB1", "QB3"]
    assert circuit.instructions[-1].args == {"key": "job5"}


@pytest.mark.parametrize("credentials", ["token", "tokens_file"])
@pytest.mark.asyncio
async def test_wrong_token_fails_at_once_without_retries(tmp_path: Path, credentials: str) -> None:
    wrong = campaign.make_token("someone-else")
    tokens_file = tmp_path / "tokens.json"
    campaign.write_tokens_file(tokens_file, wrong)
    auth = {"token": wrong} if credentials == "token" else {"tokens_file": str(tokens_file)}
    async with Emulator(qpu="garnet", token=campaign.make_token("the-right-one")) as emu:
        started = time.perf_counter()
        with pytest.raises(AuthenticationError) as caught:
            async with AsyncIQMClient(emu.url, max_retries=10, **auth):
                pass
        elapsed = time.perf_counter() - started
        stats = emu.stats()
    assert caught.value.status_code == 401
    assert "Invalid bearer token" in str(caught.value)
    assert stats["requests_served"] == 1 and stats["unauthorized_requests"] == 1
    assert elapsed < 2.0  # no backoff


class _FirstSubmissionTimesOut(httpx.AsyncBaseTransport):
    """Lets the first submission reach the server (the job is created), then reports a read timeout."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.fired = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.method == "POST" and request.url.path.endswith("/circuit") and not self.fired:
            self.fired = True
            await response.aread()
            raise httpx.ReadTimeout("timed out reading the response (injected)", request=request)
        return response


@pytest.mark.asyncio
async def test_ambiguous_submission_asks_about_then_resubmits_with_the_same_key() -> None:
    circuit = Circuit(
        "x",
        (
            CircuitOperation("prx", ("QB1",), {"angle": pi, "phase": 0.0}),
            CircuitOperation("measure", ("QB1",), {"key": "m"}),
        ),
    )
    async with Emulator(qpu="garnet", seed=1, serve_http=False) as emu:
        transport = _FirstSubmissionTimesOut(emu.transport())
        async with AsyncIQMClient("http://127.0.0.1:9", transport=transport) as client:
            with anyio.fail_after(10):
                job = await client.submit_circuits([circuit])
                assert await job.wait_for_completion(timeout_secs=10) == JobStatus.COMPLETED
        stats = emu.stats()
    assert transport.fired
    assert stats["jobs_created"] == 1 and stats["idempotent_replays"] == 1


@pytest.mark.asyncio
async def test_rotated_token_reaches_every_request_in_flight(tmp_path: Path) -> None:
    old, new = campaign.make_token("old"), campaign.make_token("new")
    tokens_file = tmp_path / "tokens.json"
    campaign.write_tokens_file(tokens_file, old)
    errors: list[IQMError] = []
    # 50 ms per response: with the default pacing (100 requests/s) several requests are in flight at once
    async with Emulator(qpu="garnet", token=old, latency_ms=50) as emu:
        async with AsyncIQMClient(emu.url, tokens_file=str(tokens_file)) as client:
            campaign.write_tokens_file(tokens_file, new)
            emu.settings = emu.settings.replace(token=new)
            await emu.restart()

            async def health() -> None:
                try:
                    await client.get_health()
                except IQMError as exc:
                    errors.append(exc)

            async with anyio.create_task_group() as tg:
                for _ in range(10):
                    tg.start_soon(health)
    assert errors == []
