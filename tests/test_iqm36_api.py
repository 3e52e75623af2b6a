"""The iqm-client 36 vocabulary on our clients and jobs, over loopback HTTP to the emulator where it can be.

Edge cases the emulator does not produce (other job types, servers without ``/api/v1/about``, proxy
paths, observations in the full ``ObservationData`` shape) use the respx-mocked server.
"""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator
from math import pi
from typing import Any

import httpx
import pytest
import pytest_asyncio
from conftest import BASE, JOB_ID, QC_ID, FakeServer, job_json

from iqm_client_async import (
    AsyncIQMClient,
    ChipTopology,
    Circuit,
    CircuitJobDefinition,
    CircuitJobPayload,
    CircuitJobTracker,
    CircuitOperation,
    ClientConfigurationError,
    IQMClient,
    IQMError,
    JobData,
    JobStatus,
    ObservationData,
    ObservationLite,
    ObservationSetWithObservations,
    RunRequest,
)
from iqm_client_async._job_poller import JobPoller
from iqm_client_async.emulator import BlockingEmulator, Emulator
from iqm_client_async.emulator.presets import load_preset

GARNET = load_preset("garnet")
BELL = Circuit(
    "bell",
    (
        CircuitOperation("prx", ("QB1",), {"angle": pi / 2, "phase": pi / 2}),
        CircuitOperation("cz", ("QB1", "QB2")),
        CircuitOperation("measure", ("QB1", "QB2"), {"key": "m"}),
    ),
)


@pytest_asyncio.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator(qpu="garnet", seed=3) as emulator:
        yield emulator


class Recording(httpx.AsyncBaseTransport):
    """Real loopback HTTP, recording ``METHOD path`` of every request."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self._transport = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(f"{request.method} {request.url.path}")
        return await self._transport.handle_async_request(request)

    async def aclose(self) -> None:
        await self._transport.aclose()


def test_names_of_36_are_the_same_objects() -> None:
    assert CircuitJobDefinition is RunRequest
    assert CircuitJobTracker.__name__ == "CircuitJob"


def test_executor_form_says_what_to_use_instead() -> None:
    for cls in (AsyncIQMClient, IQMClient):
        with pytest.raises(ClientConfigurationError, match="from_url"):
            cls(executor=object(), storage=object())  # type: ignore[call-arg]


@pytest.mark.asyncio
async def test_from_url_definition_submit_and_payload_without_request(emu: Emulator) -> None:
    recording = Recording()
    seen = recording.seen
    async with AsyncIQMClient(emu.url, transport=recording) as client:
        definition = await client.create_circuit_job_definition([BELL], shots=50)
        job = await client.submit_circuit_job(definition, use_timeslot=False)
        updates: list[list[tuple[str, int, int]]] = []
        status = await job.wait_for_completion(
            timeout_secs=30, polling_interval=0.05, progress_callback=updates.append
        )
        assert status == JobStatus.COMPLETED
        assert job.job_data is job.data and job.errors == ""
        assert {artifact.type for artifact in job.job_data.artifacts} == {
            "measurements",
            "measurement_counts",
        }

        before = len(seen)
        payload = await job.payload()
        assert len(seen) == before  # the definition is known from the submission
        assert isinstance(payload, CircuitJobPayload) and payload == definition
        circuits, parameters = payload  # 35's reading of the same object
        assert circuits[0].name == "bell" and parameters.shots == 50 == payload.shots

        counts = await job.result_counts()
        assert counts is not None and sum(counts[0].counts.values()) == 50
        before = len(seen)
        assert await job.update() == JobStatus.COMPLETED
        assert await job.result_counts() == counts
        assert len(seen) == before  # a finished job is not polled again, counts are cached

        fetched = await client.get_job(job.job_id)
        assert await fetched.payload() == definition
        assert seen.count(f"GET /api/v1/jobs/{job.job_id}/payload") == 1
    assert all(isinstance(u, list) and all(len(entry) == 3 for entry in u) for u in updates)


@pytest.mark.asyncio
async def test_progress_callback_gets_queue_and_execution_progress() -> None:
    async with (
        Emulator(qpu="garnet", seed=1, workers=1, job_duration_ms=300) as emu,
        AsyncIQMClient.from_url(emu.url) as client,
    ):
        first = await client.submit_circuits([BELL], shots=10)
        second = await client.submit_circuits([BELL], shots=10)
        updates: list[list[tuple[str, int, int]]] = []
        await second.wait_for_completion(
            timeout_secs=60, polling_interval=0.02, progress_callback=updates.append
        )
        await first.wait_for_completion(timeout_secs=60)
    labels = {label for update in updates for label, _, _ in update}
    assert "Progress in queue" in labels
    queue = [
        (value, total) for update in updates for label, value, total in update if label == "Progress in queue"
    ]
    assert all(0 <= value <= total for value, total in queue)
    assert labels - {"Progress in queue"}, "execution progress was never reported"


def test_blocking_36_flow_chip_and_about() -> None:
    with (
        BlockingEmulator(qpu="deneb", seed=2) as emu,
        IQMClient.from_url(emu.url, client_signature="t") as client,
    ):
        assert client.get_chip_label() == load_preset("deneb").dut_label
        topology = client.get_chip_topology()
        assert isinstance(topology, ChipTopology)
        assert topology.computational_resonators == {"CR1"}
        assert topology.get_coupler_for("QB1", "CR1") in topology.couplers
        about = client.get_about()
        assert about["idempotency_key_supported"] is True
        assert set(about["about_station"]) == {"version", "software_versions"}
        circuit = Circuit("x", (CircuitOperation("measure", ("QB1",), {"key": "m"}),))
        tracker = client.submit_circuit_job(client.create_circuit_job_definition([circuit], shots=3))
        assert isinstance(tracker, CircuitJobTracker)
        assert tracker.wait_for_completion(timeout_secs=30, polling_interval=0.1) == JobStatus.COMPLETED
        assert tracker.result_counts()[0].counts == {"0": 3}  # type: ignore[index]
        assert tracker.payload().shots == 3


@pytest.mark.asyncio
async def test_get_job_refuses_other_job_types(server: FakeServer) -> None:
    server.job.respond(json=job_json("completed", type="run"))
    client = AsyncIQMClient(BASE, transport=server.transport())
    with pytest.raises(IQMError, match="'run' job"):
        await client.get_job(JOB_ID)  # type: ignore[arg-type]


@pytest.mark.asyncio
async def test_job_without_type_is_a_circuit_job(server: FakeServer) -> None:
    body = job_json("completed")
    del body["type"]
    server.job.respond(json=body)
    client = AsyncIQMClient(BASE, transport=server.transport())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        job = await client.get_job(JOB_ID)  # type: ignore[arg-type]
    assert job.data.type is None and job.data.artifacts == []


@pytest.mark.asyncio
async def test_about_prefers_the_api_path_and_adds_the_station(server: FakeServer) -> None:
    legacy = server.router.get("/about").respond(json={"version": "old"})
    server.about.respond(json={"version": "2"})
    server.router.get("/api/v1/quantum-computers/garnet/artifacts/about").respond(
        json={"version": "s1", "software_versions": {"iqm-station-control": "7", "other": "1"}}
    )
    client = AsyncIQMClient(BASE, transport=server.transport())
    about = await client.get_about()
    assert about == {
        "version": "2",
        "about_station": {"version": "s1", "software_versions": {"iqm-station-control": "7"}},
    }
    assert legacy.call_count == 0


@pytest.mark.parametrize(
    ("computers", "expected"),
    [
        (
            [{"id": QC_ID, "alias": "garnet", "display_name": "Garnet", "proxy_path": "proxy/garnet"}],
            "proxy/garnet",
        ),
        ([{"id": QC_ID, "alias": "garnet", "display_name": "Garnet"}], "station"),
        (
            [
                {"id": QC_ID, "alias": "garnet", "display_name": "Garnet"},
                {"id": "6d7ac0ad-7b55-4a7f-a1a5-0c56b9c7e2a1", "alias": "sirius", "display_name": "Sirius"},
            ],
            "station/garnet",
        ),
    ],
)
@pytest.mark.asyncio
async def test_proxy_path_as_36_resolves_it(
    server: FakeServer, computers: list[dict[str, Any]], expected: str
) -> None:
    server.qcs.respond(json={"quantum_computers": computers})
    client = AsyncIQMClient(BASE, quantum_computer="garnet", transport=server.transport())
    assert await client.get_proxy_path() == expected


@pytest.mark.asyncio
async def test_no_proxy_path_is_a_configuration_error(server: FakeServer) -> None:
    server.qcs.respond(
        json={
            "quantum_computers": [{"id": QC_ID, "alias": "garnet", "display_name": "G", "proxy_path": None}]
        }
    )
    client = AsyncIQMClient(BASE, transport=server.transport())
    with pytest.raises(ClientConfigurationError, match="No station proxy path"):
        await client.get_proxy_path()


def test_observations_in_both_shapes_decode() -> None:
    lite = {
        "dut_field": "characterization.model.QB1.t1_time",
        "value": 3.5e-5,
        "unit": "s",
        "observation_id": 1,
        "created_timestamp": "2026-01-01T00:00:00Z",
        "modified_timestamp": "2026-01-01T00:00:00Z",
    }
    full = {
        **lite,
        "observation_id": 2,
        "dut_label": "M156_W531_A09_L09",
        "source": {"type": "analysis_source"},
        "tags": ["x"],
        "observation_set_ids": ["9ddb9586-8f27-49a9-90ed-41086b47f6bd"],
    }
    document = {
        "observation_set_type": "calibration-set",
        "dut_label": "M156_W531_A09_L09",
        "observation_set_id": "9ddb9586-8f27-49a9-90ed-41086b47f6bd",
        "created_timestamp": "2026-01-01T00:00:00Z",
        "end_timestamp": None,
        "observations": [lite, full],
    }
    decoded = ObservationSetWithObservations.model_validate(document)
    first, second = decoded.observations
    assert type(first) is ObservationLite and first.value == 3.5e-5
    assert isinstance(second, ObservationData) and second.source == {"type": "analysis_source"}
    assert second.dut_label == "M156_W531_A09_L09" and second.tags == ["x"]
    assert ObservationSetWithObservations.model_validate_json(decoded.model_dump_json()) == decoded


def test_chip_topology_of_every_preset_matches_its_static_architecture() -> None:
    for name in ("garnet", "deneb", "adonis", "apollo", "aphrodite"):
        preset = load_preset(name)
        topology = ChipTopology.from_chip_design_record(preset.chip_design_record())
        static = preset.static_architecture()
        assert topology.qubits_sorted == tuple(static["qubits"]), name
        assert topology.computational_resonators == set(static["computational_resonators"]), name
        assert {frozenset(c) for c in topology.coupler_to_components.values()} == {
            frozenset(edge) for edge in static["connectivity"]
        }, name


def test_polling_interval_is_the_longest_gap_of_that_wait() -> None:
    async def never(job_id: Any, background: bool = False) -> Any:
        raise AssertionError("not polled in this test")

    poller = JobPoller(never, max_interval=5.0)
    deep_in_queue = JobData.model_validate(job_json("waiting", queue_position=500))
    default, capped, raised = (
        poller.planner(),
        poller.planner(max_interval=0.05),
        poller.planner(max_interval=30.0),
    )
    for planner in (default, capped, raised):
        planner.observe(deep_in_queue, 0.0)
    assert default.next_delay(0.0) > 0.05
    assert capped.next_delay(0.0) <= 0.05
    assert default.next_delay(0.0) <= 5.0 < raised.next_delay(0.0) <= 30.0


@pytest.mark.asyncio
async def test_about_needs_no_quantum_computer(server: FakeServer) -> None:
    server.qcs.respond(
        json={
            "quantum_computers": [
                {"id": QC_ID, "alias": "garnet", "display_name": "Garnet"},
                {"id": "6d7ac0ad-7b55-4a7f-a1a5-0c56b9c7e2a1", "alias": "sirius", "display_name": "Sirius"},
            ]
        }
    )
    server.about.respond(json={"version": "2"})
    client = AsyncIQMClient(BASE, transport=server.transport())
    assert await client.get_about() == {"version": "2"}
