"""Job lifecycle over the wire: queue, execution, cancel, delete, payload, results, idempotent submission."""

from __future__ import annotations

import asyncio
import math

import httpx
import pytest

from iqm_client_async.emulator.presets import load_preset

from .server_helpers import Connect, bell, flip, op, run_request, submit, wait_for

GARNET = load_preset("garnet")


@pytest.mark.asyncio
async def test_job_runs_to_completion_with_results(api: httpx.AsyncClient) -> None:
    submitted = await submit(api, run_request(bell(), flip("QB3", key="x"), shots=50))
    assert submitted.status_code == 200
    job = submitted.json()
    assert job["type"] == "circuit"
    assert job["status"] == "waiting"
    assert job["queue_position"] == 0
    assert submitted.headers["Idempotency-Supported"] == "true"

    done = await wait_for(api, job["id"])

    assert (await api.get(f"/api/v1/jobs/{job['id'].upper()}")).json() == done
    assert done["status"] == "completed"
    assert done["queue_position"] is None
    assert done["compilation"] == {"calibration_set_id": GARNET.calibration_set_id}
    assert done["execution"]["progress"]["Executing circuits"] == {"value": 2, "max_value": 2}
    statuses = [(entry["source"], entry["status"]) for entry in done["timeline"]]
    assert statuses[0] == ("iqm-server", "created")
    assert ("iqm-server", "validation_ended") in statuses
    assert ("iqm-station-control", "execution_started") in statuses
    assert statuses[-2:] == [("iqm-station-control", "ready"), ("iqm-server", "completed")]
    measurements = (await api.get(f"/api/v1/jobs/{job['id']}/artifacts/measurements")).json()
    assert len(measurements) == 2
    assert {tuple(shot) for shot in measurements[0]["m"]} <= {(0, 0), (1, 1)}
    assert len(measurements[0]["m"]) == 50
    assert measurements[1] == {"x": [[1]] * 50}
    counts = (await api.get(f"/api/v1/jobs/{job['id']}/artifacts/measurement_counts")).json()
    assert counts[1] == {"measurement_keys": ["x"], "counts": {"1": 50}}
    assert counts[0]["measurement_keys"] == ["m"]
    assert set(counts[0]["counts"]) <= {"00", "11"}
    assert sum(counts[0]["counts"].values()) == 50


@pytest.mark.asyncio
async def test_counts_concatenate_keys_in_circuit_order_and_bits_in_locus_order(
    api: httpx.AsyncClient,
) -> None:
    circuit = {
        "name": "order",
        "instructions": [
            op("prx", "QB3", angle=math.pi, phase=0.0),
            op("measure", "QB2", "QB3", key="second_in_alphabet_first_in_circuit"),
            op("measure", "QB1", key="a_last"),
        ],
    }
    job = (await submit(api, run_request(circuit, shots=5))).json()
    await wait_for(api, job["id"])

    counts = (await api.get(f"/api/v1/jobs/{job['id']}/artifacts/measurement_counts")).json()
    measurements = (await api.get(f"/api/v1/jobs/{job['id']}/artifacts/measurements")).json()

    assert counts == [
        {"measurement_keys": ["second_in_alphabet_first_in_circuit", "a_last"], "counts": {"010": 5}}
    ]
    assert list(measurements[0]) == ["second_in_alphabet_first_in_circuit", "a_last"]


@pytest.mark.asyncio
async def test_fifo_queue_positions_with_one_worker(connect: Connect) -> None:
    _, client = await connect(job_duration_ms=300, workers=1)

    ids = [(await submit(client)).json()["id"] for _ in range(3)]
    await wait_for(client, ids[0], {"processing"})
    second, third = [(await client.get(f"/api/v1/jobs/{i}")).json() for i in ids[1:]]

    assert (second["status"], second["queue_position"]) == ("waiting", 0)
    assert (third["status"], third["queue_position"]) == ("waiting", 1)
    running = (await client.get(f"/api/v1/jobs/{ids[0]}")).json()
    assert running["queue_position"] is None
    assert running["execution"]["progress"]["Executing circuits"]["max_value"] == 1
    await wait_for(client, ids[0], {"completed"})
    await wait_for(client, ids[1], {"processing"})
    assert (await client.get(f"/api/v1/jobs/{ids[2]}")).json()["queue_position"] == 0


@pytest.mark.asyncio
async def test_two_workers_run_two_jobs_at_once(connect: Connect) -> None:
    _, client = await connect(job_duration_ms=300, workers=2)

    first, second = [(await submit(client)).json()["id"] for _ in range(2)]

    await wait_for(client, first, {"processing"})
    await wait_for(client, second, {"processing"})


@pytest.mark.asyncio
async def test_minimum_job_duration(connect: Connect) -> None:
    _, client = await connect(job_duration_ms=250)
    loop = asyncio.get_running_loop()

    started = loop.time()
    job = (await submit(client)).json()
    await wait_for(client, job["id"])

    assert loop.time() - started >= 0.25


@pytest.mark.asyncio
async def test_cancel_waiting_running_and_terminal_jobs(connect: Connect) -> None:
    _, client = await connect(job_duration_ms=5000, workers=1)
    running, waiting = [(await submit(client)).json()["id"] for _ in range(2)]
    await wait_for(client, running, {"processing"})

    cancelled_waiting = await client.post(f"/api/v1/jobs/{waiting}/cancel")
    cancelled_running = await client.post(f"/api/v1/jobs/{running}/cancel")

    assert cancelled_waiting.status_code == 200
    assert cancelled_waiting.json()["status"] == "cancelled"
    assert cancelled_waiting.json()["queue_position"] is None
    running_data = cancelled_running.json()
    assert running_data["status"] == "cancelled"
    assert ("iqm-station-control", "aborted") in [
        (e["source"], e["status"]) for e in running_data["timeline"]
    ]
    again = await client.post(f"/api/v1/jobs/{running}/cancel")
    assert again.json()["timeline"] == running_data["timeline"]
    conflict = await client.get(f"/api/v1/jobs/{running}/artifacts/measurements")
    assert conflict.status_code == 409
    assert "cancelled" in conflict.json()["message"]
    about = (await client.get("/about")).json()["counters"]
    assert about["jobs_cancelled"] == 2
    assert about["jobs_running"] == 0


@pytest.mark.asyncio
async def test_cancel_of_a_completed_job_changes_nothing(api: httpx.AsyncClient) -> None:
    job = (await submit(api)).json()
    done = await wait_for(api, job["id"])

    response = await api.post(f"/api/v1/jobs/{job['id']}/cancel")

    assert response.status_code == 200
    assert response.json() == done


@pytest.mark.asyncio
async def test_next_job_starts_when_the_running_one_is_cancelled(connect: Connect) -> None:
    _, client = await connect(job_duration_ms=5000, workers=1)
    first, second = [(await submit(client)).json()["id"] for _ in range(2)]
    await wait_for(client, first, {"processing"})

    await client.post(f"/api/v1/jobs/{first}/cancel")

    assert (await wait_for(client, second, {"processing"}))["queue_position"] is None


@pytest.mark.asyncio
async def test_delete_removes_waiting_running_and_finished_jobs(connect: Connect) -> None:
    _, client = await connect(job_duration_ms=5000, workers=1)
    running, waiting = [(await submit(client)).json()["id"] for _ in range(2)]
    await wait_for(client, running, {"processing"})

    for job_id in (waiting, running):
        response = await client.delete(f"/api/v1/jobs/{job_id}")
        assert response.status_code == 204
        assert (await client.get(f"/api/v1/jobs/{job_id}")).status_code == 404
        assert (await client.get(f"/api/v1/jobs/{job_id}/payload")).status_code == 404
        assert (await client.delete(f"/api/v1/jobs/{job_id}")).status_code == 404
    counters = (await client.get("/about")).json()["counters"]
    assert counters["jobs_running"] == counters["jobs_waiting"] == 0
    assert counters["jobs_deleted"] == 2


@pytest.mark.asyncio
async def test_artifacts_before_completion_are_a_conflict(connect: Connect) -> None:
    _, client = await connect(job_duration_ms=5000)
    job = (await submit(client)).json()

    for name in ("measurements", "measurement_counts"):
        response = await client.get(f"/api/v1/jobs/{job['id']}/artifacts/{name}")
        assert response.status_code == 409
        assert response.json()["error_code"] == "job_not_completed"
        assert "completed" in response.json()["message"]
    assert (await client.get(f"/api/v1/jobs/{job['id']}/artifacts/sweep_results")).status_code == 404


@pytest.mark.asyncio
async def test_payload_is_the_request_in_the_current_format(api: httpx.AsyncClient) -> None:
    body = run_request(bell(), shots=7, qubit_mapping={"a": "QB1", "b": "QB2"})
    body["circuits"][0]["instructions"] = [
        op("prx", "a", angle=1, phase=0),
        op("cz", "a", "b"),
        op("measure", "a", "b", key="m"),
    ]
    job = (await submit(api, body)).json()

    payload = (await api.get(f"/api/v1/jobs/{job['id']}/payload")).json()

    assert payload["shots"] == 7
    assert payload["qubit_mapping"] == [
        {"logical_name": "a", "physical_name": "QB1"},
        {"logical_name": "b", "physical_name": "QB2"},
    ]
    assert payload["circuits"][0]["instructions"][0] == op("prx", "a", angle=1.0, phase=0.0)
    assert payload["circuits"][0]["metadata"] == {"experiment": "bell"}
    assert payload["move_validation_mode"] == payload["move_gate_validation"] == "strict"
    assert payload["move_gate_frame_tracking_mode"] == payload["move_gate_frame_tracking"] == "full"
    assert len(payload) == 13


@pytest.mark.asyncio
async def test_idempotent_submission_returns_the_same_job(api: httpx.AsyncClient) -> None:
    first = await submit(api, run_request(), **{"Idempotency-Key": "key-1"})
    replay = await submit(api, run_request(), **{"Idempotency-Key": "key-1"})
    other = await submit(api, run_request(), **{"Idempotency-Key": "key-2"})

    assert replay.status_code == 200
    assert replay.json()["id"] == first.json()["id"]
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert other.json()["id"] != first.json()["id"]
    counters = (await api.get("/about")).json()["counters"]
    assert (counters["jobs_created"], counters["idempotent_replays"], counters["submissions"]) == (2, 1, 3)


@pytest.mark.asyncio
async def test_replay_after_completion_returns_the_current_job_data(api: httpx.AsyncClient) -> None:
    job = (await submit(api, run_request(), **{"Idempotency-Key": "k"})).json()
    done = await wait_for(api, job["id"])

    replay = await submit(api, run_request(), **{"Idempotency-Key": "k"})

    assert replay.json() == done


@pytest.mark.asyncio
async def test_idempotency_key_reused_for_another_body_is_refused(api: httpx.AsyncClient) -> None:
    await submit(api, run_request(shots=10), **{"Idempotency-Key": "k"})

    response = await submit(api, run_request(shots=11), **{"Idempotency-Key": "k"})

    assert response.status_code == 422
    assert response.json()["error_code"] == "idempotency_key_reused"


@pytest.mark.asyncio
async def test_concurrent_submissions_with_one_key_create_one_job(api: httpx.AsyncClient) -> None:
    responses = await asyncio.gather(
        *(submit(api, run_request(), **{"Idempotency-Key": "same"}) for _ in range(5))
    )

    assert len({response.json()["id"] for response in responses}) == 1
    assert (await api.get("/about")).json()["counters"]["jobs_created"] == 1


@pytest.mark.asyncio
async def test_same_seed_gives_same_results(connect: Connect) -> None:
    results = []
    for _ in range(2):
        _, client = await connect(seed=123)
        job = (await submit(client, run_request(bell(), shots=64))).json()
        await wait_for(client, job["id"])
        results.append((await client.get(f"/api/v1/jobs/{job['id']}/artifacts/measurements")).json())

    assert results[0] == results[1]
    assert {tuple(shot) for shot in results[0][0]["m"]} == {(0, 0), (1, 1)}


@pytest.mark.asyncio
async def test_heralding_keeps_requested_shots_without_noise(api: httpx.AsyncClient) -> None:
    job = (
        await submit(api, run_request(flip(), shots=30, heralding_mode="zeros", active_reset_cycles=1))
    ).json()

    done = await wait_for(api, job["id"])

    assert done["status"] == "completed"
    measurements = (await api.get(f"/api/v1/jobs/{job['id']}/artifacts/measurements")).json()
    assert measurements == [{"m": [[1]] * 30}]


@pytest.mark.asyncio
async def test_calibrated_noise_flips_some_bits(connect: Connect) -> None:
    _, client = await connect(seed=5, noise="calibrated")
    job = (await submit(client, run_request(flip(), shots=2000))).json()

    await wait_for(client, job["id"])
    counts = (await client.get(f"/api/v1/jobs/{job['id']}/artifacts/measurement_counts")).json()

    assert 0 < counts[0]["counts"].get("0", 0) < 400
