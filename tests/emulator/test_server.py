"""The emulator's read-only endpoints, error bodies, authentication and latency, over ASGI and loopback HTTP."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from iqm_client_async.emulator.presets import load_preset

from .server_helpers import Connect, run_request, submit

GARNET = load_preset("garnet")
ERROR_KEYS = {"message", "error_code", "source", "detail"}


def assert_error(response: httpx.Response, status: int, *fragments: str) -> dict[str, str]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert body["source"] == "iqm-server"
    assert body["detail"] == body["message"]
    for fragment in fragments:
        assert fragment in body["message"]
    return body  # type: ignore[no-any-return]


@pytest.mark.asyncio
async def test_quantum_computers_lists_the_preset(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/v1/quantum-computers")

    assert response.status_code == 200
    assert response.json() == {
        "quantum_computers": [
            {
                "id": GARNET.quantum_computer_id,
                "alias": "garnet",
                "display_name": "Garnet",
                "proxy_path": None,
            }
        ]
    }


@pytest.mark.asyncio
@pytest.mark.parametrize("path", ["/about", "/api/v1/about"])
async def test_about_advertises_idempotency_and_counters(api: httpx.AsyncClient, path: str) -> None:
    await api.get("/api/v1/quantum-computers")

    about = (await api.get(path)).json()

    assert about["idempotency_key_supported"] is True
    assert about["emulator"] is True
    counters = about["counters"]
    assert counters["requests_served"] == 2
    assert counters["jobs_created"] == 0
    assert set(counters["faults_injected"]) == {"503", "429", "reset", "slow", "lost"}


@pytest.mark.asyncio
async def test_health(api: httpx.AsyncClient) -> None:
    health = (await api.get("/api/v1/quantum-computers/garnet/health")).json()

    assert health["status"] == "healthy"
    assert health["jobs_waiting"] == 0


@pytest.mark.asyncio
async def test_artifacts(api: httpx.AsyncClient) -> None:
    base = "/api/v1/quantum-computers/garnet/artifacts"

    about = (await api.get(f"{base}/about")).json()
    duts = (await api.get(f"{base}/duts")).json()
    sqa = (await api.get(f"{base}/static-quantum-architectures")).json()
    records = (await api.get(f"{base}/chip-design-records")).json()
    channels = await api.get(f"{base}/channel-properties", headers={"Accept": "application/protobuf"})

    assert isinstance(about["version"], str)
    assert all(isinstance(v, str) for v in about["software_versions"].values())
    assert duts == [{"label": GARNET.dut_label, "dut_type": "chip"}]
    assert sqa == [GARNET.static_architecture()]
    assert records[0]["cheddar"]["chip_label"] == GARNET.dut_label
    assert channels.status_code == 200
    assert channels.headers["content-type"] == "application/protobuf"
    assert channels.content
    assert_error(await api.get(f"{base}/settings"), 404, "settings")


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "calibration_set", ["default", GARNET.calibration_set_id, GARNET.calibration_set_id.upper()]
)
async def test_calibration_documents_by_id_and_default(api: httpx.AsyncClient, calibration_set: str) -> None:
    base = f"/api/v1/calibration-sets/garnet/{calibration_set}"

    calset = (await api.get(base)).json()
    dqa = (await api.get(f"{base}/dynamic-quantum-architecture")).json()
    metrics = (await api.get(f"{base}/metrics")).json()

    assert calset["observation_set_id"] == GARNET.calibration_set_id
    assert calset["observation_set_type"] == "calibration-set"
    assert dqa["calibration_set_id"] == GARNET.calibration_set_id
    assert set(dqa["gates"]) >= {"prx", "cz", "measure"}
    assert metrics["observation_set_type"] == "quality-metric-set"
    assert metrics["describes_id"] == GARNET.calibration_set_id


@pytest.mark.asyncio
@pytest.mark.parametrize("suffix", ["", "/dynamic-quantum-architecture", "/metrics"])
async def test_unknown_calibration_set_is_404(api: httpx.AsyncClient, suffix: str) -> None:
    unknown = str(uuid.uuid4())

    assert_error(await api.get(f"/api/v1/calibration-sets/garnet/{unknown}{suffix}"), 404, unknown)
    assert_error(await api.get(f"/api/v1/calibration-sets/garnet/not-a-uuid{suffix}"), 404)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/quantum-computers/sirius/health"),
        ("GET", "/api/v1/quantum-computers/sirius/artifacts/duts"),
        ("GET", "/api/v1/calibration-sets/sirius/default"),
        ("POST", "/api/v1/jobs/sirius/circuit"),
    ],
)
async def test_unknown_quantum_computer_is_404(api: httpx.AsyncClient, method: str, path: str) -> None:
    response = await api.request(method, path, json=run_request())

    assert_error(response, 404, "sirius", "garnet")


@pytest.mark.asyncio
async def test_unknown_routes_and_methods_answer_iqm_server_errors(api: httpx.AsyncClient) -> None:
    assert_error(await api.get("/api/v2/nothing"), 404, "/api/v2/nothing")
    assert_error(await api.get(f"/api/v1/jobs/{uuid.uuid4()}"), 404, "not found")
    assert_error(await api.put("/api/v1/quantum-computers"), 405)


@pytest.mark.asyncio
async def test_query_validation_errors_use_the_error_body(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/api/v1/jobs/garnet/circuit", params={"use_timeslot": "maybe"}, json=run_request()
    )

    body = assert_error(response, 422, "use_timeslot")
    assert body["error_code"] == "validation_error"


@pytest.mark.asyncio
async def test_token_is_required_on_every_endpoint(connect: Connect) -> None:
    _, client = await connect(token="s3cret")
    paths = [
        "/about",
        "/api/v1/quantum-computers",
        "/api/v1/calibration-sets/garnet/default",
        "/no/such/route",
    ]

    for path in paths:
        assert_error(await client.get(path), 401, "Missing bearer token")
        assert_error(await client.get(path, headers={"Authorization": "Bearer wrong"}), 401, "Invalid")
    assert_error(await submit(client), 401)
    authorized = await client.get("/api/v1/quantum-computers", headers={"Authorization": "Bearer s3cret"})
    assert authorized.status_code == 200
    about = await client.get("/about", headers={"Authorization": "Bearer s3cret"})
    assert about.json()["counters"]["unauthorized_requests"] == 2 * len(paths) + 1


@pytest.mark.asyncio
async def test_latency_delays_every_response(connect: Connect) -> None:
    _, client = await connect(latency_ms=60)

    started = time.perf_counter()
    response = await client.get("/api/v1/quantum-computers")

    assert response.status_code == 200
    assert time.perf_counter() - started >= 0.06
