"""AsyncIQMClient against a respx-mocked server: every endpoint, caching, validation, jobs."""

from __future__ import annotations

import json
import logging
import re
import uuid
from math import pi
from typing import Any

import anyio
import httpx
import pytest
from conftest import (
    BASE,
    CALSET_ID,
    JOB_ID,
    MISSING_JOB_ID,
    OTHER_CALSET_ID,
    QC_ID,
    FakeServer,
    dqa,
    job_json,
)

from iqm_client_async import (
    AsyncIQMClient,
    AuthenticationError,
    Circuit,
    CircuitCompilationOptions,
    CircuitOperation,
    CircuitValidationError,
    ClientConfigurationError,
    HeraldingMode,
    IQMError,
    JobStatus,
    NotFoundError,
)
from iqm_client_async._channel_properties import encode_channel_properties

pytestmark = pytest.mark.asyncio

BELL = Circuit(
    name="bell",
    instructions=(
        CircuitOperation("prx", ("QB1",), {"angle": pi / 2, "phase": pi / 2}),
        CircuitOperation("cz", ("QB1", "QB2")),
        CircuitOperation("measure", ("QB1", "QB2"), {"key": "m"}),
    ),
)


def client_for(server: FakeServer, **kwargs: Any) -> AsyncIQMClient:
    kwargs.setdefault("token", "s3cret-token")
    return AsyncIQMClient(BASE, transport=server.transport(), **kwargs)


async def test_construction_makes_no_request(server: FakeServer) -> None:
    client_for(server)
    assert server.router.calls.call_count == 0


async def test_bad_configuration_raises_before_network(server: FakeServer) -> None:
    with pytest.raises(ClientConfigurationError):
        AsyncIQMClient("https://iqm.example.com/garnet", transport=server.transport())
    assert server.router.calls.call_count == 0


async def test_quantum_computer_resolution(server: FakeServer) -> None:
    async with client_for(server) as client:
        assert client.quantum_computer_name == "garnet"
    async with client_for(server, quantum_computer="garnet") as client:
        assert client.quantum_computer_name == "garnet"
    with pytest.raises(
        ClientConfigurationError,
        match=re.escape('Quantum computer "sirius" does not exist. Available quantum computers are: garnet'),
    ):
        async with client_for(server, quantum_computer="sirius"):
            pass


async def test_quantum_computer_must_be_selected_among_several(server: FakeServer) -> None:
    server.qcs.respond(
        json={
            "quantum_computers": [
                {"id": QC_ID, "alias": "garnet", "display_name": "Garnet"},
                {"id": str(uuid.uuid4()), "alias": "emerald", "display_name": "Emerald"},
            ]
        }
    )
    with pytest.raises(
        ClientConfigurationError,
        match=r"Quantum computer not selected\. Available quantum computers are: garnet, emerald",
    ):
        await client_for(server).get_health()


async def test_default_alias_name_is_display_name(server: FakeServer) -> None:
    server.qcs.respond(
        json={"quantum_computers": [{"id": QC_ID, "alias": "default", "display_name": "Garnet"}]}
    )
    assert await client_for(server).get_quantum_computer_name() == "Garnet"


async def test_headers_on_every_request(server: FakeServer) -> None:
    server.router.get("/api/v1/quantum-computers/garnet/health").respond(json={"status": "ok"})
    client = client_for(server, client_signature="my-tool 2.0")
    assert await client.get_health() == {"status": "ok"}
    for call in server.router.calls:
        assert call.request.headers["Authorization"] == "Bearer s3cret-token"
        assert call.request.headers["User-Agent"].endswith(", my-tool 2.0")
        assert call.request.headers["Accept"] == "application/json"


async def test_about_falls_back_to_the_unprefixed_path_and_is_cached(server: FakeServer) -> None:
    server.about.respond(404, json={"message": "Not found", "error_code": "not_found"})
    server.router.get("/api/v1/quantum-computers/garnet/artifacts/about").respond(
        404, json={"message": "Not found", "error_code": "not_found"}
    )
    route = server.router.get("/about").respond(json={"version": "1"})
    client = client_for(server)
    assert await client.get_about() == {"version": "1"}
    assert await client.get_about() == {"version": "1"}
    assert route.call_count == 1


async def test_static_architecture_checks_duts_and_caches(server: FakeServer) -> None:
    duts = server.router.get("/api/v1/quantum-computers/garnet/artifacts/duts").respond(
        json=[{"label": "M156_W531_A09_L09", "dut_type": "chip"}]
    )
    sqa = server.router.get(
        "/api/v1/quantum-computers/garnet/artifacts/static-quantum-architectures"
    ).respond(
        json=[
            {
                "dut_label": "M156_W531_A09_L09",
                "qubits": ["QB1", "QB2"],
                "computational_resonators": [],
                "connectivity": [["QB1", "QB2"]],
            }
        ]
    )
    client = client_for(server)
    arch = await client.get_static_quantum_architecture()
    assert list(arch.qubits) == ["QB1", "QB2"]
    assert await client.get_static_quantum_architecture() is arch
    assert await client._get_dut_label() == "M156_W531_A09_L09"
    assert duts.call_count == 1 and sqa.call_count == 1


async def test_two_duts_is_an_error(server: FakeServer) -> None:
    server.router.get("/api/v1/quantum-computers/garnet/artifacts/duts").respond(
        json=[{"label": "a", "dut_type": "chip"}, {"label": "b", "dut_type": "chip"}]
    )
    with pytest.raises(IQMError, match=r"Expected exactly 1 DUT, but got 2\."):
        await client_for(server)._get_dut_label()


async def test_feedback_groups_from_protobuf(server: FakeServer) -> None:
    server.router.get("/api/v1/quantum-computers/garnet/artifacts/duts").respond(
        json=[{"label": "d", "dut_type": "chip"}]
    )
    server.router.get("/api/v1/quantum-computers/garnet/artifacts/static-quantum-architectures").respond(
        json=[
            {
                "dut_label": "d",
                "qubits": ["QB1", "QB2", "QB3"],
                "computational_resonators": [],
                "connectivity": [],
            }
        ]
    )
    payload = encode_channel_properties(
        {
            "QB1__drive.awg": ["PL-1__readout"],
            "QB2__drive.awg": ["PL-1__readout"],
            "QB3__drive.awg": ["PL-2__readout"],
            "QB1__flux.awg": [],
        },
        ["PL-1__readout", "PL-2__readout"],
    )
    route = server.router.get("/api/v1/quantum-computers/garnet/artifacts/channel-properties").respond(
        content=payload, headers={"Content-Type": "application/protobuf"}
    )
    groups = await client_for(server).get_feedback_groups()
    assert groups == (frozenset({"QB1", "QB2"}), frozenset({"QB3"}))
    assert route.calls.last.request.headers["Accept"] == "application/protobuf"


async def test_calibration_endpoints(server: FakeServer) -> None:
    def obs_set(kind: str, observations: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "observation_set_id": CALSET_ID if kind == "calibration-set" else str(uuid.uuid4()),
            "observation_set_type": kind,
            "describes_id": None if kind == "calibration-set" else CALSET_ID,
            "invalid": False,
            "dut_label": "d",
            "created_timestamp": "2025-11-20T09:12:44.518274Z",
            "end_timestamp": None,
            "observations": observations,
        }

    def obs(i: int, name: str, value: float, unit: str) -> dict[str, Any]:
        stamp = "2025-11-20T09:12:44.518274Z"
        return {
            "observation_id": i,
            "dut_field": name,
            "value": value,
            "unit": unit,
            "uncertainty": None,
            "invalid": False,
            "created_timestamp": stamp,
            "modified_timestamp": stamp,
        }

    calset = obs_set(
        "calibration-set",
        [
            obs(1, "characterization.model.QB1.t1_time", 4.4e-05, "s"),
            obs(2, "characterization.model.QB1.t2_time", 3.2e-05, "s"),
        ],
    )
    metrics = obs_set(
        "quality-metric-set", [obs(3, "metrics.ssro.measure.constant.QB1.error_0_to_1", 0.012, "")]
    )
    server.router.get("/api/v1/calibration-sets/garnet/default").respond(json=calset)
    server.router.get("/api/v1/calibration-sets/garnet/default/metrics").respond(json=metrics)
    by_id = server.router.get(f"/api/v1/calibration-sets/garnet/{CALSET_ID}").respond(json=calset)
    client = client_for(server)
    assert (await client.get_calibration_set()).observations[
        0
    ].dut_field == "characterization.model.QB1.t1_time"
    assert str((await client.get_calibration_set(uuid.UUID(CALSET_ID))).observation_set_id) == CALSET_ID
    assert by_id.call_count == 1
    assert str((await client.get_quality_metric_set()).describes_id) == CALSET_ID
    finder = await client._get_calibration_quality_metrics()
    t1, t2 = finder.get_coherence_times(["QB1"])
    assert t1 == {"QB1": 4.4e-05} and t2 == {"QB1": 3.2e-05}


async def test_dqa_cached_per_id_and_default_with_ttl(server: FakeServer) -> None:
    client = client_for(server)
    first = await client.get_dynamic_quantum_architecture()
    assert str(first.calibration_set_id) == CALSET_ID
    await client.get_dynamic_quantum_architecture()
    assert server.dqa_default.call_count == 1  # reused within the TTL
    await client.get_dynamic_quantum_architecture(uuid.UUID(CALSET_ID))
    assert server.dqa_by_id.call_count == 0  # the default's answer is cached under its real id
    zero_ttl = client_for(server, architecture_ttl=0)
    await zero_ttl.get_dynamic_quantum_architecture()
    await zero_ttl.get_dynamic_quantum_architecture()
    assert server.dqa_default.call_count == 3  # reference behaviour with ttl 0


async def test_concurrent_submits_fetch_the_architecture_once(server: FakeServer) -> None:
    client = client_for(server)
    async with anyio.create_task_group() as tg:
        for _ in range(20):
            tg.start_soon(client.submit_circuits, [BELL])
    assert (
        server.dqa_default.call_count == 1 and server.qcs.call_count == 1 and server.submit.call_count == 20
    )


async def test_default_architecture_dropped_when_job_used_another_calset(server: FakeServer) -> None:
    client = client_for(server)
    job = await client.submit_circuits([BELL])
    server.job_sequence(job_json("completed", compilation={"calibration_set_id": OTHER_CALSET_ID}))
    server.dqa_default.respond(json=dqa(OTHER_CALSET_ID))
    await job.update()
    await client.submit_circuits([BELL])
    assert server.dqa_default.call_count == 2


async def test_submit_sends_reference_json(server: FakeServer) -> None:
    client = client_for(server)
    job = await client.submit_circuits(
        [BELL], shots=100, options=CircuitCompilationOptions(heralding_mode=HeraldingMode.ZEROS)
    )
    assert str(job.job_id) == JOB_ID and job.status == JobStatus.WAITING
    request = server.submit.calls.last.request
    assert request.url.params["use_timeslot"] == "false"
    assert request.headers["Content-Type"] == "application/json; charset=UTF-8"
    uuid.UUID(request.headers["Idempotency-Key"])
    body = json.loads(request.content)
    assert body["shots"] == 100 and body["heralding_mode"] == "zeros" and body["qubit_mapping"] is None
    assert body["move_validation_mode"] == "strict" and body["move_gate_frame_tracking_mode"] == "full"
    assert body["circuits"][0]["instructions"][1] == {
        "name": "cz",
        "locus": ["QB1", "QB2"],
        "args": {},
        "implementation": None,
    }


async def test_every_submit_gets_a_fresh_idempotency_key(server: FakeServer) -> None:
    client = client_for(server)
    await client.submit_circuits([BELL])
    await client.submit_circuits([BELL], use_timeslot=True)
    keys = {call.request.headers["Idempotency-Key"] for call in server.submit.calls}
    assert len(keys) == 2
    assert server.submit.calls.last.request.url.params["use_timeslot"] == "true"


async def test_qubit_mapping_sent_as_list(server: FakeServer) -> None:
    circuit = Circuit(
        "logical",
        (
            CircuitOperation("prx", ("a",), {"angle": 1.0, "phase": 0.0}),
            CircuitOperation("measure", ("a", "b"), {"key": "m"}),
        ),
    )
    await client_for(server).submit_circuits([circuit], qubit_mapping={"a": "QB1", "b": "QB2"})
    body = json.loads(server.submit.calls.last.request.content)
    assert body["qubit_mapping"] == [
        {"logical_name": "a", "physical_name": "QB1"},
        {"logical_name": "b", "physical_name": "QB2"},
    ]


async def test_shots_below_one_is_value_error_without_network(server: FakeServer) -> None:
    with pytest.raises(ValueError, match=r"Number of shots must be greater than zero\."):
        await client_for(server).submit_circuits([BELL], shots=0)
    assert server.router.calls.call_count == 0


async def test_static_validation_before_any_request(server: FakeServer) -> None:
    bad = Circuit("bad", (CircuitOperation("kaboom", ("QB1",)),))
    with pytest.raises(CircuitValidationError) as info:
        await client_for(server).submit_circuits([BELL, bad])
    assert (
        info.value.circuit_index == 1
        and info.value.circuit_name == "bad"
        and info.value.instruction_index == 0
    )
    assert server.router.calls.call_count == 0


async def test_architecture_validation_before_submission(server: FakeServer) -> None:
    bad = Circuit("uncalibrated", (CircuitOperation("cz", ("QB2", "QB3")),))
    with pytest.raises(CircuitValidationError, match="not allowed as locus for 'cz'"):
        await client_for(server).submit_circuits([bad])
    assert server.submit.call_count == 0


async def test_create_run_request_equals_submitted(server: FakeServer) -> None:
    client = client_for(server)
    request = await client.create_run_request([BELL], shots=7)
    job = await client.submit_run_request(request)
    assert (
        job.job_id == uuid.UUID(JOB_ID) and json.loads(server.submit.calls.last.request.content)["shots"] == 7
    )


async def test_job_lifecycle(server: FakeServer) -> None:
    client = client_for(server)
    job = await client.submit_circuits([BELL], shots=2)
    server.job_sequence("waiting", "processing", "completed")
    assert await job.wait_for_completion() == JobStatus.COMPLETED
    assert server.job.call_count == 3
    assert await job.result() == [{"m": [[0, 0], [1, 1]]}]
    assert await job.result() == [{"m": [[0, 0], [1, 1]]}]
    assert server.measurements.call_count == 1
    counts = await client.get_job_measurement_counts(job.job_id)
    assert counts[0].counts == {"00": 1, "11": 1} and counts[0].measurement_keys == ["m"]
    assert job.find_timeline_entry("created") is not None
    assert job.find_timeline_entry("created", source="elsewhere") is None


async def test_result_of_unfinished_job_is_none(server: FakeServer) -> None:
    job = await client_for(server).submit_circuits([BELL])
    server.job_sequence("processing")
    assert await job.result() is None and server.measurements.call_count == 0


async def test_wait_timeout_returns_non_terminal_status(
    server: FakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    job = await client_for(server).submit_circuits([BELL])
    server.job_sequence("waiting")
    assert await job.wait_for_completion(timeout_secs=0.3) == JobStatus.WAITING
    assert "reached the timeout" in caplog.text


async def test_cancelling_the_waiter_stops_polling(server: FakeServer) -> None:
    job = await client_for(server).submit_circuits([BELL])
    server.job_sequence("processing")
    with anyio.move_on_after(0.3):
        await job.wait_for_completion()
    polls = server.job.call_count
    await anyio.sleep(0.3)
    assert server.job.call_count == polls


async def test_fresh_submission_response_is_planned_from_not_polled_at_once(server: FakeServer) -> None:
    job = await client_for(server).submit_circuits([BELL])
    server.job_sequence("completed")
    with anyio.move_on_after(0.04):
        await job.wait_for_completion()
    assert server.job.call_count == 0


async def test_stale_status_is_refreshed_at_once(server: FakeServer) -> None:
    job = await client_for(server).submit_circuits([BELL])
    server.job_sequence("completed")
    job.received_at -= 5
    with anyio.fail_after(0.5):
        assert await job.wait_for_completion() == JobStatus.COMPLETED
    assert server.job.call_count == 1


async def test_concurrent_waiters_share_status_requests(server: FakeServer) -> None:
    client = client_for(server)
    job = await client.submit_circuits([BELL])
    in_flight = {"now": 0, "peak": 0}

    async def slow_job(request: httpx.Request) -> httpx.Response:
        in_flight["now"] += 1
        in_flight["peak"] = max(in_flight["peak"], in_flight["now"])
        await anyio.sleep(0.05)
        in_flight["now"] -= 1
        return httpx.Response(200, json=job_json("completed"))

    server.job.side_effect = slow_job
    async with anyio.create_task_group() as tg:
        for _ in range(10):
            tg.start_soon(job.update)
    assert in_flight["peak"] == 1 and server.job.call_count == 1


async def test_failed_job_logs_errors(server: FakeServer, caplog: pytest.LogCaptureFixture) -> None:
    job = await client_for(server).submit_circuits([BELL])
    failed = job_json(
        "failed", errors=[{"message": "boom", "error_code": "compilation_error", "source": "iqm-server"}]
    )
    server.job_sequence(failed)
    with caplog.at_level(logging.ERROR):
        assert await job.wait_for_completion() == JobStatus.FAILED
    assert "boom" in caplog.text and await job.result() is None


async def test_get_job_warns_messages_and_errors(server: FakeServer) -> None:
    server.job_sequence(
        job_json(
            "failed",
            messages=[{"source": "iqm-server", "message": "note"}],
            errors=[{"message": "bad", "error_code": "e1", "source": "iqm-server"}],
        )
    )
    with pytest.warns(UserWarning) as record:
        job = await client_for(server).get_job(uuid.UUID(JOB_ID))
    texts = [str(w.message) for w in record]
    assert "iqm-server: note" in texts and "iqm-server: e1: bad" in texts
    assert job.status == JobStatus.FAILED


async def test_unknown_job_is_not_found(server: FakeServer) -> None:
    server.router.get(f"/api/v1/jobs/{MISSING_JOB_ID}").respond(
        404, json={"message": f"Job {MISSING_JOB_ID} not found", "error_code": None, "source": "iqm-server"}
    )
    with pytest.raises(NotFoundError, match="not found") as info:
        await client_for(server).get_job(uuid.UUID(MISSING_JOB_ID))
    assert info.value.status_code == 404


async def test_cancel_and_delete(server: FakeServer) -> None:
    cancel = server.router.post(f"/api/v1/jobs/{JOB_ID}/cancel").respond(200, json={})
    delete = server.router.delete(f"/api/v1/jobs/{JOB_ID}").respond(204)
    client = client_for(server)
    job = await client.submit_circuits([BELL])
    await job.cancel()
    await client.cancel_job(job.job_id)
    await client.delete_job(job.job_id)
    assert cancel.call_count == 2 and delete.call_count == 1


async def test_payload_round_trip(server: FakeServer) -> None:
    client = client_for(server)
    submitted = await client.submit_circuits([BELL], shots=5, qubit_mapping={"QB1": "QB1", "QB2": "QB2"})
    sent = server.submit.calls.last.request.content
    route = server.router.get(f"/api/v1/jobs/{JOB_ID}/payload").respond(content=sent)
    assert await submitted.payload() == await (await client.get_job(submitted.job_id)).payload()
    assert route.call_count == 1  # only for the job got by id: the submitted job knows its definition
    job = await client.get_job(submitted.job_id)
    circuits, params = await job.payload()
    (circuit,) = circuits
    assert isinstance(circuit, Circuit) and circuit.name == "bell"
    assert (
        tuple(circuit.instructions) == tuple(BELL.instructions)
        and params.shots == 5
        and params.qubit_mapping == {"QB1": "QB1", "QB2": "QB2"}
    )
    await job.payload()
    assert route.call_count == 2


async def test_repr_hides_token(server: FakeServer) -> None:
    client = client_for(server)
    assert "s3cret-token" not in repr(client) and "s3cret-token" not in repr(client.settings)


async def test_failed_aenter_closes_the_pool(server: FakeServer) -> None:
    server.qcs.respond(401, json={"message": "unauthorized"})
    client = client_for(server)
    with pytest.raises(AuthenticationError):
        async with client:
            pass
    assert client._http.is_closed
